/**
 * An alert as the alerts table stores it and the alerts API answers it. A module of its own: the
 * functions that only read alert events or bodies (the notifier among them) do not bundle it.
 * Built at first use ({@link builtAtFirstUse}): the device registry reads alert records only when
 * it deletes a device.
 */
import * as z from 'zod/mini';
import { builtAtFirstUse } from './built-at-first-use.ts';

/** One step of an alert's life, as its event told it; the record keeps them in arrival order. */
export const TimelineEntry = /* @__PURE__ */ builtAtFirstUse(() =>
  z.object({
    type: z.string(),
    time: z.string(),
    eventId: z.string(),
    by: z.optional(z.string()),
    until: z.optional(z.string()),
    escalation: z.optional(z.number()),
  }),
);
export type TimelineEntry = z.infer<ReturnType<typeof TimelineEntry>>;

/**
 * An alert as the alerts table stores it; `GET /alerts` and the alert actions answer it without
 * `snoozeRequest` and with `acknowledged`.
 */
export const AlertRecord = /* @__PURE__ */ builtAtFirstUse(() =>
  z.object({
    alertId: z.string(),
    deviceId: z.string(),
    kind: z.enum(['threshold', 'silence']),
    severity: z.enum(['warning', 'critical']),
    state: z.enum(['active', 'resolved']),
    summary: z.string(),
    raisedAt: z.optional(z.string()),
    resolvedAt: z.optional(z.string()),
    /** Set when someone resolved the alert by hand (or deleted its device). */
    resolvedBy: z.optional(z.string()),
    updatedAt: z.string(),
    metric: z.optional(z.string()),
    value: z.optional(z.number()),
    above: z.optional(z.number()),
    below: z.optional(z.number()),
    readingTimestamp: z.optional(z.string()),
    expectedIntervalSeconds: z.optional(z.number()),
    lastSeen: z.optional(z.nullable(z.string())),
    acknowledgedAt: z.optional(z.string()),
    acknowledgedBy: z.optional(z.string()),
    snoozedAt: z.optional(z.string()),
    snoozedUntil: z.optional(z.string()),
    snoozedBy: z.optional(z.string()),
    /** The snooze request as asked (`{"minutes":60}`), to recognise its retry. */
    snoozeRequest: z.optional(z.string()),
    /** The last escalation period notified (1, 2, ...). */
    escalation: z.optional(z.number()),
    timeline: z._default(z.array(TimelineEntry()), []),
  }),
);
export type AlertRecord = z.infer<ReturnType<typeof AlertRecord>>;
