import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReadingItem } from '../../../../handlers/lib/readings-store.ts';
import {
  aggregateReadings,
  BUCKET_MS,
  type BucketSize,
  type MetricsAggregate,
  seriesKey,
} from '../../../../handlers/lib/rollups.ts';
import type { RollupItem } from '../../../../handlers/lib/rollups-store.ts';
import {
  type AggregateSources,
  type AggregatesRange,
  aggregatesPage,
  allAggregates,
  MAX_READINGS_PER_PAGE,
} from '../../../../handlers/readings/aggregates.ts';
import { contributionsOf } from '../../../../handlers/rollups/rollup.ts';
import type { BucketAggregate } from '../../../../schemas/reading.ts';

const DEVICE = 'd-1';
const SIZES = Object.keys(BUCKET_MS) as BucketSize[];

interface Posted {
  readonly timestamp: string;
  readonly metrics: Record<string, number>;
}

const itemOf = (reading: Posted): ReadingItem => ({
  deviceId: DEVICE,
  ...reading,
  receivedAt: reading.timestamp,
  readingId: `r-${reading.timestamp}`,
  correlationId: 'c',
});

/**
 * Both sources as the stores hold them: the readings in timestamp order, and the rollups the
 * stream consumer would store for them (its contributions, each folded into its bucket). Counts
 * the readings the readings source hands out.
 */
const sourcesOf = (posted: readonly Posted[]) => {
  const readings = [...posted].map(itemOf).sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  const stored = new Map<string, Map<string, MetricsAggregate>>();
  const records = posted.map((reading, i) => ({
    eventName: 'INSERT',
    dynamodb: { SequenceNumber: String(i + 1), NewImage: marshall(itemOf(reading)) },
  }));
  for (const contribution of contributionsOf(records)) {
    const series = seriesKey(contribution.deviceId, contribution.size);
    const buckets = stored.get(series) ?? new Map<string, MetricsAggregate>();
    buckets.set(
      contribution.start,
      aggregateReadings(contribution.readings, buckets.get(contribution.start)),
    );
    stored.set(series, buckets);
  }
  const counter = { readingsRead: 0 };
  const sources: AggregateSources = {
    rollups: {
      async *range(deviceId, size, bounds): AsyncGenerator<RollupItem> {
        const buckets = [...(stored.get(seriesKey(deviceId, size)) ?? new Map()).entries()].sort(([a], [b]) =>
          a.localeCompare(b),
        );
        for (const [start, metrics] of buckets)
          if (start >= bounds.from && (bounds.to === undefined || start <= bounds.to))
            yield { start, metrics };
      },
    },
    readings: {
      async *pages(deviceId, range, pageSize) {
        const within = readings.filter(
          (r) =>
            r.deviceId === deviceId &&
            (range.from === undefined || r.timestamp >= range.from) &&
            (range.to === undefined || r.timestamp <= range.to),
        );
        for (let i = 0; i < within.length; i += pageSize) {
          const page = within.slice(i, i + pageSize);
          counter.readingsRead += page.length;
          yield page;
        }
      },
    },
  };
  return { sources, counter };
};

/** The buckets computed straight from the readings, the way a spreadsheet would. */
const expectedBuckets = (posted: readonly Posted[], size: BucketSize): BucketAggregate[] => {
  const byStart = new Map<number, Posted[]>();
  for (const reading of posted) {
    const ms = Date.parse(reading.timestamp);
    const start = ms - (ms % BUCKET_MS[size]);
    byStart.set(start, [...(byStart.get(start) ?? []), reading]);
  }
  return [...byStart.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, inBucket]) => {
      const ordered = [...inBucket].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
      const names = [...new Set(ordered.flatMap((r) => Object.keys(r.metrics)))];
      return {
        start: new Date(start).toISOString(),
        end: new Date(start + BUCKET_MS[size]).toISOString(),
        metrics: Object.fromEntries(
          names.map((name) => {
            const values = ordered.flatMap((r) => (r.metrics[name] === undefined ? [] : [r.metrics[name]]));
            return [
              name,
              {
                min: Math.min(...values),
                max: Math.max(...values),
                avg: values.reduce((sum, v) => sum + v, 0) / values.length,
                count: values.length,
                first: values[0] as number,
                last: values.at(-1) as number,
              },
            ];
          }),
        ),
      };
    });
};

/** Every page of a range, following the cursor as a client does. */
const allPages = async (sources: AggregateSources, range: Omit<AggregatesRange, 'after'>) => {
  const pages: BucketAggregate[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await aggregatesPage(sources, DEVICE, { ...range, after });
    pages.push(page.items);
    const last = page.items.at(-1);
    if (!page.more || !last) return pages;
    after = last.start;
  }
};

/**
 * Sums are added in another order than the test's, so `avg` may differ by the rounding of a sum:
 * up to a few units in the last place of the largest value summed (1e6 - 1e6 + 1e-12 leaves 1e-10
 * or 0, and no number of significant digits of the average absorbs that). Everything else is exact.
 */
const expectSameBuckets = (got: readonly BucketAggregate[], expected: readonly BucketAggregate[]) => {
  const withoutAvg = (buckets: readonly BucketAggregate[]) =>
    buckets.map((bucket) => ({
      ...bucket,
      metrics: Object.fromEntries(
        Object.entries(bucket.metrics).map(([name, { avg: _avg, ...m }]) => [name, m]),
      ),
    }));
  expect(withoutAvg(got)).toEqual(withoutAvg(expected));
  got.forEach((bucket, i) => {
    for (const [name, m] of Object.entries(bucket.metrics)) {
      const want = expected[i]?.metrics[name];
      const magnitude = Math.max(1, Math.abs(m.min), Math.abs(m.max));
      expect(Math.abs(m.avg - (want?.avg ?? Number.NaN))).toBeLessThanOrEqual(magnitude * 1e-9);
    }
  });
};

const secondly = (count: number, from: string): Posted[] =>
  Array.from({ length: count }, (_, i) => ({
    timestamp: new Date(Date.parse(from) + i * 1000).toISOString(),
    metrics: { t: i % 17, h: 40 + (i % 5) },
  }));

const readingsArbitrary = fc
  .uniqueArray(fc.integer({ min: -3 * 3_600_000, max: 3 * 3_600_000 }), { minLength: 0, maxLength: 120 })
  .chain((offsets) =>
    fc.tuple(
      ...offsets.map((offset) =>
        fc
          .record({
            t: fc.integer({ min: -1000, max: 1000 }),
            h: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }),
          })
          .map(
            ({ t, h }): Posted => ({
              timestamp: new Date(Date.parse('2026-11-24T00:00:00.000Z') + offset).toISOString(),
              // DynamoDB stores -0 as 0, as the readings table does.
              metrics: h === undefined ? { t } : { t, h: h + 0 },
            }),
          ),
      ),
    ),
  );

describe('buckets of every size', () => {
  it('equal those computed from the readings: 1m, 5m and 15m from the readings, the others from the stored 1h and 6h', async () => {
    await fc.assert(
      fc.asyncProperty(
        readingsArbitrary,
        fc.constantFrom(...SIZES),
        fc.integer({ min: 1, max: 30 }),
        async (posted, size, limit) => {
          const { sources } = sourcesOf(posted);

          const pages = await allPages(sources, { size, limit });

          expect(pages.every((page) => page.length <= limit)).toBe(true);
          expectSameBuckets(pages.flat(), expectedBuckets(posted, size));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('computes 15m buckets that merge into the stored 1h ones', async () => {
    const posted = secondly(3 * 3600, '2026-11-24T09:07:13.000Z');
    const { sources } = sourcesOf(posted);

    const fine = (await allPages(sources, { size: '15m', limit: 1000 })).flat();
    const stored = (await allPages(sources, { size: '1h', limit: 1000 })).flat();

    const merged = stored.map((bucket) => {
      const parts = fine.filter((b) => b.start >= bucket.start && b.start < bucket.end);
      const t = parts.map((b) => b.metrics.t);
      return {
        start: bucket.start,
        count: t.reduce((n, m) => n + (m?.count ?? 0), 0),
        min: Math.min(...t.map((m) => m?.min ?? Number.POSITIVE_INFINITY)),
        max: Math.max(...t.map((m) => m?.max ?? Number.NEGATIVE_INFINITY)),
        first: t[0]?.first,
        last: t.at(-1)?.last,
      };
    });
    expect(merged).toEqual(
      stored.map((b) => ({
        start: b.start,
        count: b.metrics.t?.count,
        min: b.metrics.t?.min,
        max: b.metrics.t?.max,
        first: b.metrics.t?.first,
        last: b.metrics.t?.last,
      })),
    );
  });
});

describe('computed buckets, page by page', () => {
  it(`stop at the bucket boundary after ${MAX_READINGS_PER_PAGE} readings, never splitting a bucket, and continue from the cursor`, async () => {
    const posted = secondly(3 * 3600, '2026-11-24T06:00:00.000Z');
    const { sources, counter } = sourcesOf(posted);

    const first = await aggregatesPage(sources, DEVICE, { size: '1m', limit: 1000 });
    const pages = await allPages(sources, { size: '1m', limit: 1000 });

    const bucketsPerPage = Math.ceil(MAX_READINGS_PER_PAGE / 60);
    expect(first.more).toBe(true);
    expect(first.items).toHaveLength(bucketsPerPage);
    expect(first.items.every((bucket) => bucket.metrics.t?.count === 60)).toBe(true);
    expect(pages.map((page) => page.length)).toEqual([
      bucketsPerPage,
      bucketsPerPage,
      180 - 2 * bucketsPerPage,
    ]);
    expect(pages.flat()).toEqual(expectedBuckets(posted, '1m'));
    expect(counter.readingsRead).toBeLessThan(4 * posted.length);
  });

  it('answer a bucket holding more readings than a page reads whole', async () => {
    const many = MAX_READINGS_PER_PAGE + 1000;
    const posted = Array.from({ length: many }, (_, i) => ({
      timestamp: new Date(Date.parse('2026-11-24T06:00:00.000Z') + i * 50).toISOString(),
      metrics: { t: i },
    }));
    const { sources } = sourcesOf(posted);

    const pages = await allPages(sources, { size: '5m', limit: 10 });

    expect(pages).toHaveLength(1);
    expect(pages[0]?.map((bucket) => bucket.metrics.t?.count)).toEqual([many]);
  });

  it('hold the buckets a range overlaps, each whole, and nothing outside it', async () => {
    const posted = secondly(1800, '2026-11-24T06:00:00.000Z');
    const { sources } = sourcesOf(posted);

    const page = await aggregatesPage(sources, DEVICE, {
      size: '5m',
      from: '2026-11-24T06:07:00.000Z',
      to: '2026-11-24T06:12:00.000Z',
      limit: 100,
    });

    expect(page.items.map((b) => [b.start, b.metrics.t?.count])).toEqual([
      ['2026-11-24T06:05:00.000Z', 300],
      ['2026-11-24T06:10:00.000Z', 300],
    ]);
    expect(page.more).toBe(false);
  });

  it('export every bucket of the range, in order', async () => {
    const posted = secondly(3 * 3600, '2026-11-24T06:00:00.000Z');
    const { sources } = sourcesOf(posted);

    const exported: BucketAggregate[] = [];
    for await (const page of allAggregates(sources, DEVICE, { size: '1m' })) exported.push(...page);

    expect(exported).toEqual(expectedBuckets(posted, '1m'));
  });
});
