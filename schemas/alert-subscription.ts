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
