import * as z from 'zod';
import { DeviceId, Severity } from './common.ts';

const Filters = {
  deviceIds: z.array(DeviceId).min(1).max(100).optional(),
  severities: z.array(Severity).min(1).optional(),
};

/** Body of `POST /alert-subscriptions`: who gets alerts, and which ones. */
export const CreateAlertSubscriptionRequest = z.discriminatedUnion('protocol', [
  z
    .object({
      protocol: z.literal('email'),
      endpoint: z.email({ message: 'must be an email address' }),
      ...Filters,
    })
    .strict(),
  z
    .object({
      protocol: z.literal('https'),
      endpoint: z.url({ protocol: /^https$/, message: 'must be an https:// URL' }).max(2048),
      ...Filters,
    })
    .strict(),
]);
export type CreateAlertSubscriptionRequest = z.infer<typeof CreateAlertSubscriptionRequest>;
