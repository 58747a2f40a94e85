import * as z from 'zod/mini';
import { DeviceId, MetricName, Metrics, Severity, Timestamp } from './common.ts';

/**
 * Envelope every domain event carries in `detail.metadata`. `eventId` is deterministic so that a
 * re-published event (a retried stream batch, a replay) is recognisable; `idempotencyKey` names the business
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

/**
 * Version 1 of `ReadingRecorded`: one event per reading. No longer produced; kept so its
 * published JSON Schema stays beside the current version as history.
 */
export const ReadingRecordedV1 = defineEvent({
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

/** At most this many readings in one reading event: an upload's limit (`POST /readings` takes 1..100). */
export const MAX_READINGS_PER_EVENT = 100;

/**
 * Readings of an event are oldest first (consumers derive and evaluate them in that order), and
 * each timestamp appears once: a reading's identity is its device and its timestamp.
 */
const oldestFirst = <T extends { timestamp: string }>(readings: readonly T[]): boolean =>
  readings.every((reading, i) => {
    const previous = readings[i - 1];
    return previous === undefined || Date.parse(previous.timestamp) < Date.parse(reading.timestamp);
  });

const readingList = <T extends z.ZodMiniType<{ timestamp: string }>>(reading: T) =>
  z
    .array(reading)
    .check(
      z.minLength(1),
      z.maxLength(MAX_READINGS_PER_EVENT),
      z.refine(oldestFirst, 'readings must be oldest first, each timestamp once'),
    );

/** One newly stored reading as `ReadingRecorded` v2 carries it. */
export const RecordedReading = z.strictObject({
  readingId: z.string(),
  timestamp: Timestamp,
  metrics: Metrics,
  sequence: z.optional(z.int()),
});

/**
 * The readings of one upload (one `POST /readings`) that were newly stored: duplicates and
 * refused readings are left out. An upload too large for one event entry is announced by several
 * events with the same `uploadId`, each with a part of its readings (see `EVENT_CHUNK_BYTES`).
 * `watched` says whether a dashboard may be watching the device, so rules forward only what
 * someone sees. The `eventId` derives from the readings carried, so a re-publish of the same
 * readings (a retried batch of the readings stream) has the same id.
 */
export const ReadingRecorded = defineEvent({
  source: SOURCES.ingest,
  detailType: 'ReadingRecorded',
  version: 2,
  data: z.strictObject({
    deviceId: DeviceId,
    uploadId: z.string().check(z.minLength(1), z.maxLength(128)),
    receivedAt: Timestamp,
    watched: z.boolean(),
    readings: readingList(RecordedReading),
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

/**
 * Version 1 of `ReadingEnriched`: one event per reading. No longer produced; kept so its
 * published JSON Schema stays beside the current version as history.
 */
export const ReadingEnrichedV1 = defineEvent({
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

/** One reading with its enrichment as `ReadingEnriched` v2 carries it. */
export const EnrichedReading = z.strictObject({
  readingId: z.string(),
  timestamp: Timestamp,
  gapSeconds: z.nullable(z.number()),
  metrics: z.record(MetricName, MetricEnrichment),
});

/**
 * The readings of one `ReadingRecorded` v2 event with their enrichment, oldest first: the one
 * update a dashboard watching the device gets for them. Chunked like `ReadingRecorded`.
 */
export const ReadingEnriched = defineEvent({
  source: SOURCES.enrichment,
  detailType: 'ReadingEnriched',
  version: 2,
  data: z.strictObject({
    deviceId: DeviceId,
    uploadId: z.string().check(z.minLength(1), z.maxLength(128)),
    watched: z.boolean(),
    readings: readingList(EnrichedReading),
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

/** Versions no longer produced, whose JSON Schemas stay published as history. */
export const PAST_EVENT_VERSIONS = [ReadingRecordedV1, ReadingEnrichedV1] as const;
