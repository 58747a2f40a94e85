import * as z from 'zod/mini';
import { DeviceId, Severity } from './common.ts';

const Filters = {
  deviceIds: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.array(DeviceId).check(/* @__PURE__ */ z.minLength(1), /* @__PURE__ */ z.maxLength(100)),
  ),
  severities: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.array(Severity).check(/* @__PURE__ */ z.minLength(1)),
  ),
};

/** Body of `POST /alert-subscriptions`: who gets alerts, and which ones. */
export const CreateAlertSubscriptionRequest = /* @__PURE__ */ z.discriminatedUnion('protocol', [
  /* @__PURE__ */ z.strictObject({
    protocol: /* @__PURE__ */ z.literal('email'),
    endpoint: /* @__PURE__ */ z.email({ message: 'must be an email address' }),
    ...Filters,
  }),
  /* @__PURE__ */ z.strictObject({
    protocol: /* @__PURE__ */ z.literal('https'),
    endpoint: /* @__PURE__ */ z
      .url({ protocol: /^https$/, message: 'must be an https:// URL' })
      .check(/* @__PURE__ */ z.maxLength(2048)),
    ...Filters,
  }),
]);
export type CreateAlertSubscriptionRequest = z.infer<typeof CreateAlertSubscriptionRequest>;

/** The id of a subscription in paths: the last part of its ARN (`arn:aws:sns:...:sensorbus-alerts:<id>`). */
export const SubscriptionId = /* @__PURE__ */ z
  .string()
  .check(
    /* @__PURE__ */ z.regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/, 'must be the last part of a subscription ARN'),
  );

/** One subscription as `GET /alert-subscriptions` lists it; `subscriptionId` is absent until it is confirmed. */
export interface AlertSubscription {
  readonly subscriptionId?: string;
  readonly subscriptionArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  readonly pendingConfirmation: boolean;
  readonly deviceIds?: string[];
  readonly severities?: string[];
}
