/**
 * Rollups: per device, bucket and metric, the min, max, sum, count, first and last of the
 * readings that fell in the bucket. Pure domain code shared by the stream consumer that keeps them
 * and the history endpoint that answers from them.
 *
 * Which sizes are stored: 1h and 6h. 1d = 4 × 6h is merged from them when read (at most 4 stored
 * items a bucket; a 30-day chart reads 120 items at 6h or 1d, 720 at 1h). Each stored size costs
 * one read and one write per device and bucket a stream batch touches, and an item per bucket that
 * holds a reading until the rollups' retention, so a size finer than an hour would cost a device
 * reporting every few minutes a write (and an item kept 400 days) every few readings and buy
 * nothing over the readings: 1m, 5m and 15m are computed from the raw readings of the range when
 * asked (`handlers/readings/aggregates.ts`), which therefore reach back only as far as the
 * readings' retention.
 */
import { BucketSize, HISTORY_REACH_DAYS } from '../../schemas/reading.ts';

export { BucketSize };

const MINUTE_MS = 60_000;

/** Milliseconds per bucket size; buckets start at multiples of their size since the Unix epoch, i.e. at UTC boundaries. */
export const BUCKET_MS: Readonly<Record<BucketSize, number>> = {
  '1m': MINUTE_MS,
  '5m': 5 * MINUTE_MS,
  '15m': 15 * MINUTE_MS,
  '1h': 60 * MINUTE_MS,
  '6h': 360 * MINUTE_MS,
  '1d': 1440 * MINUTE_MS,
};

/** The sizes the consumer stores, smallest first. */
export const STORED_SIZES = ['1h', '6h'] as const satisfies readonly BucketSize[];
export type StoredSize = (typeof STORED_SIZES)[number];

/**
 * Days a stored bucket is kept after it starts, given the rollups' retention: 1h buckets a quarter
 * at most (`HISTORY_REACH_DAYS.hourly`: a chart takes 1h only for ranges of up to about a month, and
 * they are most of the items), 6h buckets, and so 1d, the whole retention.
 */
export const retentionDaysOf = (size: StoredSize, rollupsRetentionDays: number): number =>
  size === '1h' ? Math.min(HISTORY_REACH_DAYS.hourly, rollupsRetentionDays) : rollupsRetentionDays;

/**
 * Where a bucket size is answered from: the largest stored size that divides it, or the raw
 * readings (`undefined`) when it is finer than every stored size.
 */
export const storedSizeFor = (size: BucketSize): StoredSize | undefined =>
  STORED_SIZES.filter((stored) => BUCKET_MS[size] % BUCKET_MS[stored] === 0).at(-1);

/** The start (epoch ms) of the bucket of `size` holding the instant `ms`. */
export const bucketStartMs = (ms: number, size: BucketSize): number =>
  Math.floor(ms / BUCKET_MS[size]) * BUCKET_MS[size];

/** A bucket's bounds as the API writes them: canonical UTC with milliseconds, `end` exclusive. */
export const bucketBounds = (startMs: number, size: BucketSize) => ({
  start: new Date(startMs).toISOString(),
  end: new Date(startMs + BUCKET_MS[size]).toISOString(),
});

/**
 * One metric's aggregate over a bucket. `first` and `last` are the values at the earliest and
 * latest reading timestamps (`firstAt`, `lastAt`, canonical UTC, which order as strings), so a
 * late or out-of-order reading lands where its timestamp says, whatever order readings arrive in.
 */
export interface MetricAggregate {
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly count: number;
  readonly first: number;
  readonly firstAt: string;
  readonly last: number;
  readonly lastAt: string;
}

export type MetricsAggregate = Readonly<Record<string, MetricAggregate>>;

export const aggregateOf = (value: number, at: string): MetricAggregate => ({
  min: value,
  max: value,
  sum: value,
  count: 1,
  first: value,
  firstAt: at,
  last: value,
  lastAt: at,
});

export const mergeAggregate = (a: MetricAggregate, b: MetricAggregate): MetricAggregate => {
  const first = b.firstAt < a.firstAt ? b : a;
  const last = b.lastAt > a.lastAt ? b : a;
  return {
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sum: a.sum + b.sum,
    count: a.count + b.count,
    first: first.first,
    firstAt: first.firstAt,
    last: last.last,
    lastAt: last.lastAt,
  };
};

export const mergeMetrics = (a: MetricsAggregate, b: MetricsAggregate): MetricsAggregate => {
  const merged: Record<string, MetricAggregate> = { ...a };
  for (const [metric, aggregate] of Object.entries(b)) {
    // Own properties only: a metric may be named like an Object.prototype member (`constructor`).
    const existing = Object.hasOwn(merged, metric) ? merged[metric] : undefined;
    merged[metric] = existing ? mergeAggregate(existing, aggregate) : aggregate;
  }
  return merged;
};

/** The aggregates of readings, each a `(timestamp, metrics)`. */
export const aggregateReadings = (
  readings: readonly { readonly timestamp: string; readonly metrics: Readonly<Record<string, number>> }[],
  into: MetricsAggregate = {},
): MetricsAggregate =>
  readings.reduce<MetricsAggregate>(
    (acc, reading) =>
      mergeMetrics(
        acc,
        Object.fromEntries(
          Object.entries(reading.metrics).map(([metric, value]) => [
            metric,
            aggregateOf(value, reading.timestamp),
          ]),
        ),
      ),
    into,
  );

/** A metric's aggregate as the API answers it. */
export const publicAggregate = (aggregate: MetricAggregate) => ({
  min: aggregate.min,
  max: aggregate.max,
  avg: aggregate.sum / aggregate.count,
  count: aggregate.count,
  first: aggregate.first,
  last: aggregate.last,
});

/** The partition key of a device's rollups of one stored size. */
export const seriesKey = (deviceId: string, size: StoredSize): string => `${deviceId}#${size}`;
