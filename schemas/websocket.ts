import * as z from 'zod/mini';
import { DeviceId, Timestamp } from './common.ts';
import { EVENT_NAMES } from './events.ts';

export const MAX_SUBSCRIBE_DEVICES = 100;

/** What a dashboard sends over the WebSocket. */
export const SubscriptionRequest = /* @__PURE__ */ z.strictObject({
  action: /* @__PURE__ */ z.enum(['subscribe', 'unsubscribe']),
  deviceIds: /* @__PURE__ */ z
    .array(DeviceId)
    .check(/* @__PURE__ */ z.minLength(1), /* @__PURE__ */ z.maxLength(MAX_SUBSCRIBE_DEVICES)),
});
export type SubscriptionRequest = z.infer<typeof SubscriptionRequest>;

export const SubscribedMessage = /* @__PURE__ */ z.strictObject({
  type: /* @__PURE__ */ z.enum(['subscribed', 'unsubscribed']),
  deviceIds: /* @__PURE__ */ z.array(DeviceId),
});

export const ErrorMessage = /* @__PURE__ */ z.strictObject({
  type: /* @__PURE__ */ z.literal('error'),
  code: /* @__PURE__ */ z.enum(['Forbidden', 'BadRequest']),
  message: /* @__PURE__ */ z.string(),
  details: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.array(
      /* @__PURE__ */ z.object({ path: /* @__PURE__ */ z.string(), message: /* @__PURE__ */ z.string() }),
    ),
  ),
  deviceIds: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.array(DeviceId)),
});

/** A domain event as dashboards receive it. */
export const PushMessage = /* @__PURE__ */ z.strictObject({
  type: /* @__PURE__ */ z.enum(EVENT_NAMES),
  deviceId: DeviceId,
  eventId: /* @__PURE__ */ z.uuid(),
  time: Timestamp,
  data: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), /* @__PURE__ */ z.unknown()),
});
export type PushMessage = z.infer<typeof PushMessage>;

export const ServerMessage = /* @__PURE__ */ z.union([SubscribedMessage, ErrorMessage, PushMessage]);
export type ServerMessage = z.infer<typeof ServerMessage>;
