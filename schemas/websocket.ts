import * as z from 'zod/mini';
import { DeviceId, Timestamp } from './common.ts';
import { EVENTS, type EventName } from './events.ts';

export const MAX_SUBSCRIBE_DEVICES = 100;

/** What a dashboard sends over the WebSocket. */
export const SubscriptionRequest = z.strictObject({
  action: z.enum(['subscribe', 'unsubscribe']),
  deviceIds: z.array(DeviceId).check(z.minLength(1), z.maxLength(MAX_SUBSCRIBE_DEVICES)),
});
export type SubscriptionRequest = z.infer<typeof SubscriptionRequest>;

export const SubscribedMessage = z.strictObject({
  type: z.enum(['subscribed', 'unsubscribed']),
  deviceIds: z.array(DeviceId),
});

export const ErrorMessage = z.strictObject({
  type: z.literal('error'),
  code: z.enum(['Forbidden', 'BadRequest']),
  message: z.string(),
  details: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  deviceIds: z.optional(z.array(DeviceId)),
});

/** A domain event as dashboards receive it. */
export const PushMessage = z.strictObject({
  type: z.enum(Object.keys(EVENTS) as [EventName, ...EventName[]]),
  deviceId: DeviceId,
  eventId: z.uuid(),
  time: Timestamp,
  data: z.record(z.string(), z.unknown()),
});
export type PushMessage = z.infer<typeof PushMessage>;

export const ServerMessage = z.union([SubscribedMessage, ErrorMessage, PushMessage]);
export type ServerMessage = z.infer<typeof ServerMessage>;
