import * as z from 'zod/mini';
import { builtAtFirstUse } from './built-at-first-use.ts';
import { DeviceId, MetricName, Metrics, Severity, Timestamp } from './common.ts';

/**
 * Envelope every domain event carries in `detail.metadata`. `eventId` is deterministic so that a
 * re-published event (a retried stream batch, a replay) is recognisable; `idempotencyKey` names the business
 * fact (one reading, one alert transition) so consumers can dedupe across events about it.
 */
export const EventMetadata = /* @__PURE__ */ z.strictObject({
  eventId: /* @__PURE__ */ z.uuid(),
  idempotencyKey: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1)),
  correlationId: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1)),
  schemaVersion: /* @__PURE__ */ z.int().check(/* @__PURE__ */ z.positive()),
  producedAt: Timestamp,
});
export type EventMetadata = z.infer<typeof EventMetadata>;

const INGEST_SOURCE = 'sensorbus.ingest';
const ENRICHMENT_SOURCE = 'sensorbus.enrichment';
/**
 * The events' sources. The contracts below name them through the constants, not `SOURCES.…`:
 * esbuild counts a property read as a possible side effect, which kept every contract, built at
 * init, in every bundle importing this module.
 */
export const SOURCES = { ingest: INGEST_SOURCE, enrichment: ENRICHMENT_SOURCE } as const;

export interface EventContract<TDetailType extends string, TData extends z.ZodMiniType> {
  readonly source: string;
  readonly detailType: TDetailType;
  readonly version: number;
  readonly data: TData;
  readonly detail: z.ZodMiniObject<{ metadata: typeof EventMetadata; data: TData }, z.core.$strict>;
}

/**
 * Declares a domain event once; producers, consumers, rules and fixtures all derive from it.
 * `data` is the data's schema, or a function building it, called at the first read of the
 * contract's `data` or `detail` (see {@link builtAtFirstUse}).
 */
export const defineEvent = <const TDetailType extends string, TData extends z.ZodMiniType>(spec: {
  source: string;
  detailType: TDetailType;
  version: number;
  data: TData | (() => TData);
}): EventContract<TDetailType, TData> => {
  const { source, detailType, version } = spec;
  if (typeof spec.data !== 'function')
    return {
      source,
      detailType,
      version,
      data: spec.data,
      detail: /* @__PURE__ */ z.strictObject({ metadata: EventMetadata, data: spec.data }),
    };
  const data = builtAtFirstUse(spec.data);
  const detail = builtAtFirstUse(() => z.strictObject({ metadata: EventMetadata, data: data() }));
  return {
    source,
    detailType,
    version,
    get data() {
      return data();
    },
    get detail() {
      return detail();
    },
  };
};

/**
 * Version 1 of `ReadingRecorded`: one event per reading. No longer produced; kept so its
 * published JSON Schema stays beside the current version as history.
 */
export const ReadingRecordedV1 = /* @__PURE__ */ defineEvent({
  source: INGEST_SOURCE,
  detailType: 'ReadingRecorded',
  version: 1,
  data: /* @__PURE__ */ z.strictObject({
    readingId: /* @__PURE__ */ z.string(),
    deviceId: DeviceId,
    timestamp: Timestamp,
    metrics: Metrics,
    sequence: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.int()),
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
  /* @__PURE__ */ z
    .array(reading)
    .check(
      /* @__PURE__ */ z.minLength(1),
      /* @__PURE__ */ z.maxLength(MAX_READINGS_PER_EVENT),
      /* @__PURE__ */ z.refine(oldestFirst, 'readings must be oldest first, each timestamp once'),
    );

/** One newly stored reading as `ReadingRecorded` v2 carries it. */
export const RecordedReading = /* @__PURE__ */ z.strictObject({
  readingId: /* @__PURE__ */ z.string(),
  timestamp: Timestamp,
  metrics: Metrics,
  sequence: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.int()),
});

/**
 * The readings of one upload (one `POST /readings`) that were newly stored: duplicates and
 * refused readings are left out. An upload too large for one event entry is announced by several
 * events with the same `uploadId`, each with a part of its readings (see `EVENT_CHUNK_BYTES`).
 * `watched` says whether a dashboard may be watching the device, so rules forward only what
 * someone sees. The `eventId` derives from the readings carried, so a re-publish of the same
 * readings (a retried batch of the readings stream) has the same id.
 */
export const ReadingRecorded = /* @__PURE__ */ defineEvent({
  source: INGEST_SOURCE,
  detailType: 'ReadingRecorded',
  version: 2,
  data: /* @__PURE__ */ z.strictObject({
    deviceId: DeviceId,
    uploadId: /* @__PURE__ */ z
      .string()
      .check(/* @__PURE__ */ z.minLength(1), /* @__PURE__ */ z.maxLength(128)),
    receivedAt: Timestamp,
    watched: /* @__PURE__ */ z.boolean(),
    readings: /* @__PURE__ */ readingList(RecordedReading),
  }),
});

/** Derived values of one metric against the readings that precede it in time. */
export const MetricEnrichment = /* @__PURE__ */ z.strictObject({
  value: /* @__PURE__ */ z.number(),
  delta: /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
  ratePerMinute: /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
  mean: /* @__PURE__ */ z.number(),
  stddev: /* @__PURE__ */ z.number(),
  zScore: /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
  anomaly: /* @__PURE__ */ z.boolean(),
  samples: /* @__PURE__ */ z.int(),
});

/**
 * Version 1 of `ReadingEnriched`: one event per reading. No longer produced; kept so its
 * published JSON Schema stays beside the current version as history.
 */
export const ReadingEnrichedV1 = /* @__PURE__ */ defineEvent({
  source: ENRICHMENT_SOURCE,
  detailType: 'ReadingEnriched',
  version: 1,
  data: /* @__PURE__ */ z.strictObject({
    readingId: /* @__PURE__ */ z.string(),
    deviceId: DeviceId,
    timestamp: Timestamp,
    gapSeconds: /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
    metrics: /* @__PURE__ */ z.record(MetricName, MetricEnrichment),
  }),
});

/** One reading with its enrichment as `ReadingEnriched` v2 carries it. */
export const EnrichedReading = /* @__PURE__ */ z.strictObject({
  readingId: /* @__PURE__ */ z.string(),
  timestamp: Timestamp,
  gapSeconds: /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
  metrics: /* @__PURE__ */ z.record(MetricName, MetricEnrichment),
});

/**
 * The readings of one `ReadingRecorded` v2 event with their enrichment, oldest first: the one
 * update a dashboard watching the device gets for them. Chunked like `ReadingRecorded`.
 */
export const ReadingEnriched = /* @__PURE__ */ defineEvent({
  source: ENRICHMENT_SOURCE,
  detailType: 'ReadingEnriched',
  version: 2,
  data: /* @__PURE__ */ z.strictObject({
    deviceId: DeviceId,
    uploadId: /* @__PURE__ */ z
      .string()
      .check(/* @__PURE__ */ z.minLength(1), /* @__PURE__ */ z.maxLength(128)),
    watched: /* @__PURE__ */ z.boolean(),
    readings: /* @__PURE__ */ readingList(EnrichedReading),
  }),
});

/**
 * The fields of every alert event, which the alert schemas extend (`z.extend`). Like every alert
 * schema, built at its first use ({@link builtAtFirstUse}): most functions importing this module
 * publish an alert event on a rare path only (an alarm's transition, a silence found, a device's
 * deletion, an operator's action) or never. A function that parses one on every invocation reads
 * it at init (the alert history does).
 */
const alertBase = /* @__PURE__ */ builtAtFirstUse(() =>
  z.strictObject({
    alertId: z.string(),
    /** One line a person can read, e.g. "temperature 31.2 °C is above 30". */
    summary: z.string().check(z.maxLength(500)),
    deviceId: DeviceId,
    severity: Severity,
    time: Timestamp,
  }),
);

/**
 * Who acted on an alert by hand: the caller's role and the id of the token it used
 * (`operator/7f3c…`), so the alert history says who, without a directory of people.
 */
const actor = /* @__PURE__ */ builtAtFirstUse(() => z.string().check(z.minLength(1), z.maxLength(200)));

/** `by` is set on an `AlertResolved` only when someone resolved it by hand (or deleted its device). */
const resolvableAlert = /* @__PURE__ */ builtAtFirstUse(() =>
  z.extend(alertBase(), { by: z.optional(actor()) }),
);

/** An alert's data: a threshold breach on one metric, or a device gone silent. `AlertRaised.data` and `AlertResolved.data`. */
const alertData = /* @__PURE__ */ builtAtFirstUse(() =>
  z.discriminatedUnion('kind', [
    z.extend(resolvableAlert(), {
      kind: z.literal('threshold'),
      metric: MetricName,
      value: z.number(),
      above: z.optional(z.number()),
      below: z.optional(z.number()),
      readingTimestamp: Timestamp,
    }),
    z.extend(resolvableAlert(), {
      kind: z.literal('silence'),
      expectedIntervalSeconds: z.int(),
      lastSeen: z.nullable(Timestamp),
    }),
  ]),
);
export type AlertData = z.infer<ReturnType<typeof alertData>>;

export const AlertRaised = /* @__PURE__ */ defineEvent({
  source: ENRICHMENT_SOURCE,
  detailType: 'AlertRaised',
  version: 1,
  data: alertData,
});

export const AlertResolved = /* @__PURE__ */ defineEvent({
  source: ENRICHMENT_SOURCE,
  detailType: 'AlertResolved',
  version: 1,
  data: alertData,
});

/**
 * The alert an operator acted on, as its lifecycle events carry it: enough to read the event
 * alone (which device, what kind, how severe, what it said) without the alert history.
 */
const alertSubject = /* @__PURE__ */ builtAtFirstUse(() =>
  z.extend(alertBase(), {
    kind: z.enum(['threshold', 'silence']),
    metric: z.optional(MetricName),
    value: z.optional(z.number()),
    above: z.optional(z.number()),
    below: z.optional(z.number()),
  }),
);

/** Someone took the alert on: recorded once, whoever acknowledges it again. */
export const AlertAcknowledged = /* @__PURE__ */ defineEvent({
  source: ENRICHMENT_SOURCE,
  detailType: 'AlertAcknowledged',
  version: 1,
  data: () => z.extend(alertSubject(), { by: actor() }),
});

/** No notification or escalation for the alert until `until`; it still resolves when the device recovers. */
export const AlertSnoozed = /* @__PURE__ */ defineEvent({
  source: ENRICHMENT_SOURCE,
  detailType: 'AlertSnoozed',
  version: 1,
  data: () => z.extend(alertSubject(), { by: actor(), until: Timestamp }),
});

/**
 * The alert is still active, unacknowledged and unsnoozed `escalation` periods of
 * `escalateAfterMinutes` after it was raised: notified again, once per period.
 */
export const AlertEscalated = /* @__PURE__ */ defineEvent({
  source: ENRICHMENT_SOURCE,
  detailType: 'AlertEscalated',
  version: 1,
  data: () =>
    z.extend(alertSubject(), {
      escalation: z.int().check(z.positive()),
      escalateAfterMinutes: z.int().check(z.positive()),
    }),
});

/**
 * The detail-type of every event about an alert, apart from their schemas: a consumer that only
 * recognises alert events by name (the alert history) imports this list, and its bundle builds
 * none of the schemas of the events it never parses at init.
 */
export const ALERT_EVENT_NAMES = [
  'AlertRaised',
  'AlertAcknowledged',
  'AlertSnoozed',
  'AlertEscalated',
  'AlertResolved',
] as const satisfies readonly EventName[];

/** A list of contracts whose detail-types are `Names`, one by one. */
type ContractsNamed<Names extends readonly string[]> = {
  readonly [I in keyof Names]: { readonly detailType: Names[I] };
};

/** Every event about an alert, in the order an alert lives through them: {@link ALERT_EVENT_NAMES}, the compiler checks. */
export const ALERT_EVENTS = [
  AlertRaised,
  AlertAcknowledged,
  AlertSnoozed,
  AlertEscalated,
  AlertResolved,
] as const satisfies ContractsNamed<typeof ALERT_EVENT_NAMES>;

/**
 * The detail-type of every domain event, apart from their schemas: a consumer that only routes
 * events by name (the push) imports this list, and its bundle builds none of the schemas at init.
 */
export const EVENT_NAMES = [
  'ReadingRecorded',
  'ReadingEnriched',
  'AlertRaised',
  'AlertResolved',
  'AlertAcknowledged',
  'AlertSnoozed',
  'AlertEscalated',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Every domain event, keyed by detail-type: one for each of {@link EVENT_NAMES}, the compiler checks. */
export const EVENTS = {
  ReadingRecorded,
  ReadingEnriched,
  AlertRaised,
  AlertResolved,
  AlertAcknowledged,
  AlertSnoozed,
  AlertEscalated,
} as const satisfies { readonly [Name in EventName]: { readonly detailType: Name } };

/** Versions no longer produced, whose JSON Schemas stay published as history. */
export const PAST_EVENT_VERSIONS = [ReadingRecordedV1, ReadingEnrichedV1] as const;
