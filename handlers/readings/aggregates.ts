import type { BucketAggregate } from '../../schemas/reading.ts';
import type { ReadingsStore } from '../lib/readings-store.ts';
import {
  aggregateReadings,
  BUCKET_MS,
  type BucketSize,
  bucketBounds,
  bucketStartMs,
  type MetricsAggregate,
  mergeMetrics,
  publicAggregate,
  type StoredSize,
  storedSizeFor,
} from '../lib/rollups.ts';
import type { RollupsStore } from '../lib/rollups-store.ts';

export interface AggregatesRange {
  readonly size: BucketSize;
  /** Canonical UTC; the buckets overlapping `[from, to]` are answered, each whole. */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** The start of the last bucket already served (the cursor): the page starts after it. */
  readonly after?: string | undefined;
  readonly limit: number;
}

/** Where buckets are read from: the stored rollups, and the raw readings for the sizes not stored. */
export interface AggregateSources {
  readonly rollups: Pick<RollupsStore, 'range'>;
  readonly readings: Pick<ReadingsStore, 'pages'>;
}

/**
 * Raw readings a page of computed buckets reads before it stops at the next bucket boundary: a
 * page holds at most `limit` buckets and, past this many readings, ends with the bucket being
 * read (buckets are never split), answering `nextCursor` for the rest. A device reporting every
 * second gets pages of 84 one-minute buckets; one reporting every minute, full pages of 1,000.
 */
export const MAX_READINGS_PER_PAGE = 5_000;

/** Readings asked of one Query while computing buckets (each Query also stops at 1 MB). */
const READINGS_QUERY_PAGE = 1_000;

interface Bucket {
  readonly startMs: number;
  metrics: MetricsAggregate;
}

/** The bounds of a page in epoch ms: `hi` is the last millisecond of the last bucket `to` overlaps. */
const pageBounds = (range: AggregatesRange): { lo: number; hi: number | undefined } => {
  const { size } = range;
  let lo = range.from === undefined ? 0 : bucketStartMs(Date.parse(range.from), size);
  if (range.after !== undefined) lo = Math.max(lo, Date.parse(range.after) + BUCKET_MS[size]);
  const hi =
    range.to === undefined ? undefined : bucketStartMs(Date.parse(range.to), size) + BUCKET_MS[size] - 1;
  return { lo, hi };
};

const isoBounds = (lo: number, hi: number | undefined) => ({
  from: new Date(lo).toISOString(),
  ...(hi === undefined ? {} : { to: new Date(hi).toISOString() }),
});

/** A page of buckets of a stored size, or merged from the stored items of the size that divides it. */
const storedPage = async (
  rollups: AggregateSources['rollups'],
  deviceId: string,
  range: AggregatesRange,
  stored: StoredSize,
  lo: number,
  hi: number | undefined,
): Promise<{ buckets: Bucket[]; more: boolean }> => {
  const buckets: Bucket[] = [];
  for await (const item of rollups.range(deviceId, stored, isoBounds(lo, hi))) {
    const startMs = bucketStartMs(Date.parse(item.start), range.size);
    const last = buckets.at(-1);
    if (last?.startMs === startMs) {
      last.metrics = mergeMetrics(last.metrics, item.metrics);
      continue;
    }
    if (buckets.length === range.limit) return { buckets, more: true };
    buckets.push({ startMs, metrics: item.metrics });
  }
  return { buckets, more: false };
};

/**
 * A page of buckets computed from the raw readings of the range, read in time order: a bucket is
 * complete when a reading of a later one (or the range's end) is reached, so the page stops there
 * when it holds `limit` buckets or has read {@link MAX_READINGS_PER_PAGE} readings.
 */
const computedPage = async (
  readings: AggregateSources['readings'],
  deviceId: string,
  range: AggregatesRange,
  lo: number,
  hi: number | undefined,
): Promise<{ buckets: Bucket[]; more: boolean }> => {
  const buckets: Bucket[] = [];
  let read = 0;
  for await (const page of readings.pages(deviceId, isoBounds(lo, hi), READINGS_QUERY_PAGE)) {
    for (const reading of page) {
      const startMs = bucketStartMs(Date.parse(reading.timestamp), range.size);
      let last = buckets.at(-1);
      if (last?.startMs !== startMs) {
        if (buckets.length === range.limit || read >= MAX_READINGS_PER_PAGE) return { buckets, more: true };
        last = { startMs, metrics: {} };
        buckets.push(last);
      }
      last.metrics = aggregateReadings([reading], last.metrics);
      read++;
    }
  }
  return { buckets, more: false };
};

/**
 * One page of a device's buckets, oldest first. A bucket of a stored size is one rollup item, a
 * larger one merges the stored items it is made of, and one finer than every stored size (1m, 5m, 15m)
 * is computed from the raw readings, so it exists only while they do (their retention). Buckets
 * without readings have no item and are left out.
 */
export const aggregatesPage = async (
  sources: AggregateSources,
  deviceId: string,
  range: AggregatesRange,
): Promise<{ items: BucketAggregate[]; more: boolean }> => {
  const { lo, hi } = pageBounds(range);
  if (hi !== undefined && lo > hi) return { items: [], more: false };
  const stored = storedSizeFor(range.size);
  const { buckets, more } =
    stored === undefined
      ? await computedPage(sources.readings, deviceId, range, lo, hi)
      : await storedPage(sources.rollups, deviceId, range, stored, lo, hi);
  return {
    items: buckets.map(({ startMs, metrics }) => ({
      ...bucketBounds(startMs, range.size),
      metrics: Object.fromEntries(
        Object.entries(metrics).map(([metric, aggregate]) => [metric, publicAggregate(aggregate)]),
      ),
    })),
    more,
  };
};

/** How many buckets an export reads at a time. */
const EXPORT_PAGE_BUCKETS = 500;

/** Every bucket of a range, oldest first, a page at a time: what an export writes out. */
export async function* allAggregates(
  sources: AggregateSources,
  deviceId: string,
  range: Omit<AggregatesRange, 'after' | 'limit'>,
): AsyncGenerator<BucketAggregate[]> {
  let after: string | undefined;
  for (;;) {
    const page = await aggregatesPage(sources, deviceId, { ...range, after, limit: EXPORT_PAGE_BUCKETS });
    yield page.items;
    const last = page.items.at(-1);
    if (!page.more || !last) return;
    after = last.start;
  }
}
