import * as z from 'zod/mini';
import { DeviceId, MetricName, Metrics, StorableNumber, Timestamp } from './common.ts';
import { ErrorInfo } from './error.ts';

export const MAX_BATCH = 100;
/** How far ahead of the server clock a reading's timestamp may be. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** One reading as a device posts it. Unknown fields are rejected so typos never pass silently. */
export const Reading = /* @__PURE__ */ z.strictObject({
  deviceId: DeviceId,
  timestamp: Timestamp,
  metrics: Metrics,
  sequence: /* @__PURE__ */ z
    .optional(/* @__PURE__ */ z.int().check(/* @__PURE__ */ z.nonnegative()))
    .register(z.globalRegistry, { description: 'Device-side counter, kept for tracing' }),
});
export type Reading = z.infer<typeof Reading>;

export const ReadingBatch = /* @__PURE__ */ z.strictObject({
  readings: /* @__PURE__ */ z
    .array(Reading)
    .check(/* @__PURE__ */ z.minLength(1), /* @__PURE__ */ z.maxLength(MAX_BATCH)),
});

/** Body of `POST /readings`: one reading, or a batch of 1..100. */
export const IngestRequest = /* @__PURE__ */ z.union([Reading, ReadingBatch]);

/**
 * A batch's message for too many readings, built apart from the schema: esbuild cannot tell a
 * template literal free of side effects, so one among a schema's arguments kept the schema, built
 * at init, in the bundle of every function importing this module (the silence check imports it
 * for {@link UNWATCHED_BUFFER_SECONDS}).
 */
const TOO_MANY_READINGS = `must hold at most ${MAX_BATCH} readings`;

/** The envelope of a batch, checked before its items so each item can be accepted or rejected on its own. */
export const BatchEnvelope = /* @__PURE__ */ z.strictObject({
  readings: /* @__PURE__ */ z
    .array(/* @__PURE__ */ z.unknown())
    .check(
      /* @__PURE__ */ z.minLength(1, 'must hold at least 1 reading'),
      /* @__PURE__ */ z.maxLength(MAX_BATCH, TOO_MANY_READINGS),
    ),
});

export const AcceptedReading = /* @__PURE__ */ z.strictObject({
  readingId: /* @__PURE__ */ z.string(),
  deviceId: DeviceId,
  timestamp: Timestamp,
  duplicate: /* @__PURE__ */ z.boolean(),
});
export type AcceptedReading = z.infer<typeof AcceptedReading>;

/**
 * How long the device may hold readings back and post them together in one batch: 0 while a
 * dashboard watches the device (post each reading as it comes), more while nobody does.
 */
export const BufferSeconds = /* @__PURE__ */ z
  .int()
  .check(/* @__PURE__ */ z.nonnegative())
  .register(z.globalRegistry, {
    description:
      'Seconds the device may buffer readings before posting them in one batch; 0 while someone watches the device',
  });

/**
 * The `bufferSeconds` the ingest answers a device nobody watches: the longest it may hold a reading
 * back. Declared once here, the contract's side of the setting: the ingest answers it, the silence
 * check allows for it, the simulated fleet honours it and the cost model prices the uploads it makes
 * (`min(100, bufferSeconds / interval)` readings each). An hour: 12 readings an upload at one every
 * 5 minutes, 60 at one a minute, so an upload's fixed work (request, invocations, execution, events)
 * is shared by many readings; in exchange an unwatched device's history and silence alerts come up
 * to an hour late (its threshold alerts do not: it posts at once on crossing a {@link FlushWhen}
 * limit). A watched device is answered 0 and streams.
 */
export const UNWATCHED_BUFFER_SECONDS = 3_600;

/**
 * A limit a buffering device posts at once on: one of its alarms' limits (a value is beyond one
 * when strictly above `above` or strictly below `below`, as the alarms judge it).
 */
export const FlushLimit = /* @__PURE__ */ z.strictObject({
  metric: MetricName,
  above: /* @__PURE__ */ z.optional(StorableNumber),
  below: /* @__PURE__ */ z.optional(StorableNumber),
});
export type FlushLimit = z.infer<typeof FlushLimit>;

/**
 * Report by exception: the limits of the device's alarms, answered with a `bufferSeconds` above 0.
 * A device that buffers posts at once, with every reading it holds, the reading that crosses one
 * of them: beyond a limit the last reading it posted was within, or back within one the last
 * posted was beyond. Alarms are raised and resolved on those crossings only, so a buffering
 * device's threshold alerts come as promptly as a streaming device's; only its history and silence
 * wait for the buffer.
 */
export const FlushWhen = /* @__PURE__ */ z.array(FlushLimit).register(z.globalRegistry, {
  description:
    "While buffering, post at once (with every reading held) a reading that crosses one of these limits, each one of the device's alarms: beyond it where the last reading posted was within, or back within where the last posted was beyond",
});

/** The body of a single reading's 202 answer. */
export const IngestReadingAnswer = /* @__PURE__ */ z.extend(AcceptedReading, {
  bufferSeconds: BufferSeconds,
  flushWhen: /* @__PURE__ */ z.optional(FlushWhen),
});

/**
 * One item of a batch answer: accepted (stored now or before with the same values), rejected
 * with field-level details (400), refused because its `(deviceId, timestamp)` is already taken
 * by other values (409), or not stored because the store was unavailable (503: post it again).
 */
export const IngestItemResult = /* @__PURE__ */ z.union([
  // `z.extend` keeps AcceptedReading strict
  /* @__PURE__ */ z.extend(AcceptedReading, {
    index: /* @__PURE__ */ z.int(),
    status: /* @__PURE__ */ z.literal(202),
  }),
  /* @__PURE__ */ z.strictObject({
    index: /* @__PURE__ */ z.int(),
    status: /* @__PURE__ */ z.union([
      /* @__PURE__ */ z.literal(400),
      /* @__PURE__ */ z.literal(409),
      /* @__PURE__ */ z.literal(503),
    ]),
    error: ErrorInfo,
  }),
]);
export type IngestItemResult = z.infer<typeof IngestItemResult>;

/** The body of a batch's 202 or 207 answer. */
export const IngestBatchAnswer = /* @__PURE__ */ z.strictObject({
  accepted: /* @__PURE__ */ z.int(),
  rejected: /* @__PURE__ */ z.int(),
  results: /* @__PURE__ */ z.array(IngestItemResult),
  /** On 202 and 207: how long the device may buffer its next readings. */
  bufferSeconds: /* @__PURE__ */ z.optional(BufferSeconds),
  /** With a `bufferSeconds` above 0: the limits to post at once on. */
  flushWhen: /* @__PURE__ */ z.optional(FlushWhen),
});

/** Why the enrichment workflow gave up on a reading: the Step Functions error name and its cause. */
export const EnrichmentError = /* @__PURE__ */ z.strictObject({
  error: /* @__PURE__ */ z.string(),
  cause: /* @__PURE__ */ z.string(),
});
export type EnrichmentError = z.infer<typeof EnrichmentError>;

/** A reading as stored and served by `GET /devices/{id}/readings`. */
export const StoredReading = /* @__PURE__ */ z.strictObject({
  deviceId: DeviceId,
  timestamp: Timestamp,
  metrics: Metrics,
  sequence: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.int()),
  receivedAt: Timestamp,
  enrichment: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), /* @__PURE__ */ z.unknown()),
  ),
  enrichmentError: /* @__PURE__ */ z.optional(EnrichmentError).register(z.globalRegistry, {
    description:
      'Present while the reading could not be enriched: the error the enrichment workflow gave up on. The reading waits in the enrich dead-letter queue for a redrive.',
  }),
});
export type StoredReading = z.infer<typeof StoredReading>;

export const ReadingsPage = /* @__PURE__ */ z.strictObject({
  items: /* @__PURE__ */ z.array(StoredReading),
  nextCursor: /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.string()),
});

/** The bucket sizes `GET /devices/{id}/readings?bucket=` aggregates by; buckets are aligned to UTC. */
export const BucketSize = /* @__PURE__ */ z
  .enum(['1m', '5m', '15m', '1h', '6h', '1d'])
  .register(z.globalRegistry, {
    description: 'Bucket size: 1 or 5 or 15 minutes, 1 or 6 hours, 1 day, aligned to UTC',
  });
export type BucketSize = z.infer<typeof BucketSize>;

/**
 * How far back history reaches, in days before now (public contract): readings, and the bucket
 * sizes computed from them (1m, 5m, 15m), as long as readings are kept; 1h buckets for a quarter
 * (they serve charts of up to about a month, so any month of the last two); 6h and 1d buckets as
 * long as the rollups are kept. Older buckets of a size are not stored, so the API answers none.
 */
export const HISTORY_REACH_DAYS = { readings: 30, hourly: 90, rollups: 400 } as const;

/** Query of `GET /devices/{id}/readings`. */
export const ReadingsQuery = /* @__PURE__ */ z.strictObject({
  from: /* @__PURE__ */ z.optional(Timestamp),
  to: /* @__PURE__ */ z.optional(Timestamp),
  limit: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.coerce
      .number()
      .check(/* @__PURE__ */ z.int(), /* @__PURE__ */ z.gte(1), /* @__PURE__ */ z.lte(1000)),
  ),
  cursor: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string().check(/* @__PURE__ */ z.minLength(1))),
  bucket: /* @__PURE__ */ z.optional(BucketSize),
  /** `csv`: the whole range as a CSV file, streamed (also asked for with `Accept: text/csv`). */
  format: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.enum(['json', 'csv'])),
});
export type ReadingsQuery = z.infer<typeof ReadingsQuery>;

/** One metric over one bucket: `first` and `last` are the values at the bucket's earliest and latest reading. */
export const MetricAggregate = /* @__PURE__ */ z.strictObject({
  min: /* @__PURE__ */ z.number(),
  max: /* @__PURE__ */ z.number(),
  avg: /* @__PURE__ */ z.number(),
  count: /* @__PURE__ */ z.int(),
  first: /* @__PURE__ */ z.number(),
  last: /* @__PURE__ */ z.number(),
});
export type MetricAggregate = z.infer<typeof MetricAggregate>;

/** One bucket of a device's history: `[start, end)`, with each metric that had readings in it. */
export const BucketAggregate = /* @__PURE__ */ z.strictObject({
  start: Timestamp,
  end: Timestamp,
  metrics: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), MetricAggregate),
});
export type BucketAggregate = z.infer<typeof BucketAggregate>;

/** The answer of `GET /devices/{id}/readings?bucket=`: buckets oldest first, empty ones left out. */
export const AggregatesPage = /* @__PURE__ */ z.strictObject({
  items: /* @__PURE__ */ z.array(BucketAggregate),
  nextCursor: /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.string()),
});
