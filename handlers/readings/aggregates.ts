import type { BucketAggregate } from '../../schemas/reading.ts';
import {
  BUCKET_MS,
  type BucketSize,
  bucketBounds,
  bucketStartMs,
  type MetricsAggregate,
  mergeMetrics,
  publicAggregate,
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

/**
 * One page of a device's buckets, oldest first, from the stored rollups: a bucket of a stored size
 * is one item, a larger one merges the stored items it is made of. Buckets without readings have
 * no item and are left out.
 */
export const aggregatesPage = async (
  rollups: Pick<RollupsStore, 'range'>,
  deviceId: string,
  range: AggregatesRange,
): Promise<{ items: BucketAggregate[]; more: boolean }> => {
  const { size, limit } = range;
  let lo = range.from === undefined ? 0 : bucketStartMs(Date.parse(range.from), size);
  if (range.after !== undefined) lo = Math.max(lo, Date.parse(range.after) + BUCKET_MS[size]);
  const hi =
    range.to === undefined ? undefined : bucketStartMs(Date.parse(range.to), size) + BUCKET_MS[size] - 1;
  if (hi !== undefined && lo > hi) return { items: [], more: false };
  const buckets: { startMs: number; metrics: MetricsAggregate }[] = [];
  let more = false;
  for await (const item of rollups.range(deviceId, storedSizeFor(size), {
    from: new Date(lo).toISOString(),
    ...(hi === undefined ? {} : { to: new Date(hi).toISOString() }),
  })) {
    const startMs = bucketStartMs(Date.parse(item.start), size);
    const last = buckets.at(-1);
    if (last?.startMs === startMs) {
      last.metrics = mergeMetrics(last.metrics, item.metrics);
      continue;
    }
    if (buckets.length === limit) {
      more = true;
      break;
    }
    buckets.push({ startMs, metrics: item.metrics });
  }
  return {
    items: buckets.map(({ startMs, metrics }) => ({
      ...bucketBounds(startMs, size),
      metrics: Object.fromEntries(
        Object.entries(metrics).map(([metric, aggregate]) => [metric, publicAggregate(aggregate)]),
      ),
    })),
    more,
  };
};

/** How many buckets an export reads from the rollups at a time. */
const EXPORT_PAGE_BUCKETS = 500;

/** Every bucket of a range, oldest first, a page at a time: what an export writes out. */
export async function* allAggregates(
  rollups: Pick<RollupsStore, 'range'>,
  deviceId: string,
  range: Omit<AggregatesRange, 'after' | 'limit'>,
): AsyncGenerator<BucketAggregate[]> {
  let after: string | undefined;
  for (;;) {
    const page = await aggregatesPage(rollups, deviceId, { ...range, after, limit: EXPORT_PAGE_BUCKETS });
    yield page.items;
    const last = page.items.at(-1);
    if (!page.more || !last) return;
    after = last.start;
  }
}
