import * as z from 'zod/mini';
import { DeviceId, MetricName, Metrics, Severity, Timestamp } from './common.ts';

/**
 * Envelope every domain event carries in `detail.metadata`. `eventId` is deterministic so that a
 * re-published event (outbox relay, replay) is recognisable; `idempotencyKey` names the business
 * fact (one reading, one alert transition) so consumers can dedupe across events about it.
 */
export const EventMetadata = z.strictObject({
  eventId: z.uuid(),
  idempotencyKey: z.string().check(z.minLength(1)),
  correlationId: z.string().check(z.minLength(1)),
  schemaVersion: z.int().check(z.positive()),
  producedAt: Timestamp,
});
export type EventMetadata = z.infer<typeof EventMetadata>;

export const SOURCES = { ingest: 'sensorbus.ingest', enrichment: 'sensorbus.enrichment' } as const;

export interface EventContract<TDetailType extends string, TData extends z.ZodMiniType> {
  readonly source: string;
  readonly detailType: TDetailType;
  readonly version: number;
  readonly data: TData;
  readonly detail: z.ZodMiniObject<{ metadata: typeof EventMetadata; data: TData }, z.core.$strict>;
}

/** Declares a domain event once; producers, consumers, rules and fixtures all derive from it. */
export const defineEvent = <const TDetailType extends string, TData extends z.ZodMiniType>(spec: {
  source: string;
  detailType: TDetailType;
  version: number;
  data: TData;
}): EventContract<TDetailType, TData> => ({
  ...spec,
  detail: z.strictObject({ metadata: EventMetadata, data: spec.data }),
});

export const ReadingRecorded = defineEvent({
  source: SOURCES.ingest,
  detailType: 'ReadingRecorded',
  version: 1,
  data: z.strictObject({
    readingId: z.string(),
    deviceId: DeviceId,
    timestamp: Timestamp,
    metrics: Metrics,
    sequence: z.optional(z.int()),
    receivedAt: Timestamp,
  }),
});

/** Derived values of one metric against the readings that precede it in time. */
export const MetricEnrichment = z.strictObject({
  value: z.number(),
  delta: z.nullable(z.number()),
  ratePerMinute: z.nullable(z.number()),
  mean: z.number(),
  stddev: z.number(),
  zScore: z.nullable(z.number()),
  anomaly: z.boolean(),
  samples: z.int(),
});

export const ReadingEnriched = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'ReadingEnriched',
  version: 1,
  data: z.strictObject({
    readingId: z.string(),
    deviceId: DeviceId,
    timestamp: Timestamp,
    gapSeconds: z.nullable(z.number()),
    metrics: z.record(MetricName, MetricEnrichment),
  }),
});

const AlertBase = {
  alertId: z.string(),
  /** One line a person can read, e.g. "temperature 31.2 °C is above 30". */
  summary: z.string().check(z.maxLength(500)),
  deviceId: DeviceId,
  severity: Severity,
  time: Timestamp,
};

/**
 * Who acted on an alert by hand: the caller's role and the id of the token it used
 * (`operator/7f3c…`), so the alert history says who, without a directory of people.
 */
export const Actor = z.string().check(z.minLength(1), z.maxLength(200));

/** Set on an `AlertResolved` only when someone resolved it by hand (or deleted its device). */
const ResolvedBy = { by: z.optional(Actor) };

/** An alert's data: a threshold breach on one metric, or a device gone silent. */
export const AlertData = z.discriminatedUnion('kind', [
  z.strictObject({
    ...AlertBase,
    ...ResolvedBy,
    kind: z.literal('threshold'),
    metric: MetricName,
    value: z.number(),
    above: z.optional(z.number()),
    below: z.optional(z.number()),
    readingTimestamp: Timestamp,
  }),
  z.strictObject({
    ...AlertBase,
    ...ResolvedBy,
    kind: z.literal('silence'),
    expectedIntervalSeconds: z.int(),
    lastSeen: z.nullable(Timestamp),
  }),
]);
export type AlertData = z.infer<typeof AlertData>;

export const AlertRaised = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'AlertRaised',
  version: 1,
  data: AlertData,
});

export const AlertResolved = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'AlertResolved',
  version: 1,
  data: AlertData,
});

/**
 * The alert an operator acted on, as its lifecycle events carry it: enough to read the event
 * alone (which device, what kind, how severe, what it said) without the alert history.
 */
const AlertSubject = {
  ...AlertBase,
  kind: z.enum(['threshold', 'silence']),
  metric: z.optional(MetricName),
  value: z.optional(z.number()),
  above: z.optional(z.number()),
  below: z.optional(z.number()),
};

/** Someone took the alert on: recorded once, whoever acknowledges it again. */
export const AlertAcknowledged = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'AlertAcknowledged',
  version: 1,
  data: z.strictObject({ ...AlertSubject, by: Actor }),
});

/** No notification or escalation for the alert until `until`; it still resolves when the device recovers. */
export const AlertSnoozed = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'AlertSnoozed',
  version: 1,
  data: z.strictObject({ ...AlertSubject, by: Actor, until: Timestamp }),
});

/**
 * The alert is still active, unacknowledged and unsnoozed `escalation` periods of
 * `escalateAfterMinutes` after it was raised: notified again, once per period.
 */
export const AlertEscalated = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'AlertEscalated',
  version: 1,
  data: z.strictObject({
    ...AlertSubject,
    escalation: z.int().check(z.positive()),
    escalateAfterMinutes: z.int().check(z.positive()),
  }),
});

/** Every event about an alert, in the order an alert lives through them. */
export const ALERT_EVENTS = [
  AlertRaised,
  AlertAcknowledged,
  AlertSnoozed,
  AlertEscalated,
  AlertResolved,
] as const;

/** Every domain event, keyed by detail-type. */
export const EVENTS = {
  ReadingRecorded,
  ReadingEnriched,
  AlertRaised,
  AlertResolved,
  AlertAcknowledged,
  AlertSnoozed,
  AlertEscalated,
} as const;
export type EventName = keyof typeof EVENTS;
