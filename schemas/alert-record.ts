/**
 * An alert as the alerts table stores it and the alerts API answers it. A module of its own: the
 * functions that only read alert events or bodies (the notifier among them) do not bundle it.
 */
import * as z from 'zod/mini';

/** One step of an alert's life, as its event told it; the record keeps them in arrival order. */
export const TimelineEntry = /* @__PURE__ */ z.object({
  type: /* @__PURE__ */ z.string(),
  time: /* @__PURE__ */ z.string(),
  eventId: /* @__PURE__ */ z.string(),
  by: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  until: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  escalation: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/**
 * An alert as the alerts table stores it; `GET /alerts` and the alert actions answer it without
 * `snoozeRequest` and with `acknowledged`.
 */
export const AlertRecord = /* @__PURE__ */ z.object({
  alertId: /* @__PURE__ */ z.string(),
  deviceId: /* @__PURE__ */ z.string(),
  kind: /* @__PURE__ */ z.enum(['threshold', 'silence']),
  severity: /* @__PURE__ */ z.enum(['warning', 'critical']),
  state: /* @__PURE__ */ z.enum(['active', 'resolved']),
  summary: /* @__PURE__ */ z.string(),
  raisedAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  resolvedAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  /** Set when someone resolved the alert by hand (or deleted its device). */
  resolvedBy: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  updatedAt: /* @__PURE__ */ z.string(),
  metric: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  value: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  above: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  below: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  readingTimestamp: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  expectedIntervalSeconds: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  lastSeen: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.nullable(/* @__PURE__ */ z.string())),
  acknowledgedAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  acknowledgedBy: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  snoozedAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  snoozedUntil: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  snoozedBy: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  /** The snooze request as asked (`{"minutes":60}`), to recognise its retry. */
  snoozeRequest: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  /** The last escalation period notified (1, 2, ...). */
  escalation: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  timeline: /* @__PURE__ */ z._default(/* @__PURE__ */ z.array(TimelineEntry), []),
});
export type AlertRecord = z.infer<typeof AlertRecord>;
