import * as z from 'zod';
import { DeviceId, Timestamp } from './common.ts';

export const MAX_SUBSCRIBE_DEVICES = 100;

/** What a dashboard sends over the WebSocket. */
export const SubscriptionRequest = z
  .object({
    action: z.enum(['subscribe', 'unsubscribe']),
    deviceIds: z.array(DeviceId).min(1).max(MAX_SUBSCRIBE_DEVICES),
  })
  .strict();
export type SubscriptionRequest = z.infer<typeof SubscriptionRequest>;

export const SubscribedMessage = z
  .object({ type: z.enum(['subscribed', 'unsubscribed']), deviceIds: z.array(DeviceId) })
  .strict();

export const ErrorMessage = z
  .object({
    type: z.literal('error'),
    code: z.enum(['Forbidden', 'BadRequest']),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    deviceIds: z.array(DeviceId).optional(),
  })
  .strict();

/** A domain event as dashboards receive it. */
export const PushMessage = z
  .object({
    type: z.enum(['ReadingRecorded', 'ReadingEnriched', 'AlertRaised', 'AlertResolved']),
    deviceId: DeviceId,
    eventId: z.uuid(),
    time: Timestamp,
    data: z.record(z.string(), z.unknown()),
  })
  .strict();
export type PushMessage = z.infer<typeof PushMessage>;

export const ServerMessage = z.union([SubscribedMessage, ErrorMessage, PushMessage]);
export type ServerMessage = z.infer<typeof ServerMessage>;
