import * as z from 'zod/mini';
import { DeviceId, Severity } from './common.ts';

const Filters = {
  deviceIds: z.optional(z.array(DeviceId).check(z.minLength(1), z.maxLength(100))),
  severities: z.optional(z.array(Severity).check(z.minLength(1))),
};

/** Body of `POST /alert-subscriptions`: who gets alerts, and which ones. */
export const CreateAlertSubscriptionRequest = z.discriminatedUnion('protocol', [
  z.strictObject({
    protocol: z.literal('email'),
    endpoint: z.email({ message: 'must be an email address' }),
    ...Filters,
  }),
  z.strictObject({
    protocol: z.literal('https'),
    endpoint: z.url({ protocol: /^https$/, message: 'must be an https:// URL' }).check(z.maxLength(2048)),
    ...Filters,
  }),
]);
export type CreateAlertSubscriptionRequest = z.infer<typeof CreateAlertSubscriptionRequest>;

/** The id of a subscription in paths: the last part of its ARN (`arn:aws:sns:...:sensorbus-alerts:<id>`). */
export const SubscriptionId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/, 'must be the last part of a subscription ARN'));

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
