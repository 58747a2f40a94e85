import * as z from 'zod/mini';
import { DeviceId, Severity, Timestamp } from './common.ts';

/** The longest snooze: a week. */
export const MAX_SNOOZE_MINUTES = 10_080;

/** An alert's id as paths carry it (the enrichment makes UUIDs). */
export const AlertId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 characters of A-Z a-z 0-9 _ . : -'));

/** Body of `POST /alerts/{alertId}/snooze`: for so many minutes (1..10080, a week), or until a time. */
export const SnoozeRequest = z.union([
  z.strictObject({ minutes: z.int().check(z.gte(1), z.lte(MAX_SNOOZE_MINUTES)) }),
  z.strictObject({ until: Timestamp }),
]);
export type SnoozeRequest = z.infer<typeof SnoozeRequest>;

const Flag = z.pipe(
  z.enum(['true', 'false']),
  z.transform((text) => text === 'true'),
);

/** The query of `GET /alerts`: every filter optional, all of them applied together. */
export const AlertsQuery = z.strictObject({
  deviceId: z.optional(DeviceId),
  state: z.optional(z.enum(['active', 'resolved'])),
  acknowledged: z.optional(Flag),
  severity: z.optional(Severity),
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(500))),
});

/** One step of an alert's life, as its event told it; the record keeps them in arrival order. */
export const TimelineEntry = z.object({
  type: z.string(),
  time: z.string(),
  eventId: z.string(),
  by: z.optional(z.string()),
  until: z.optional(z.string()),
  escalation: z.optional(z.number()),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/**
 * An alert as the alerts table stores it; `GET /alerts` and the alert actions answer it without
 * `snoozeRequest` and with `acknowledged`.
 */
export const AlertRecord = z.object({
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
  timeline: z._default(z.array(TimelineEntry), []),
});
export type AlertRecord = z.infer<typeof AlertRecord>;
