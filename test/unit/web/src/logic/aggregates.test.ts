import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retentionDaysOf, storedSizeFor } from '../../../../../handlers/lib/rollups.ts';
import { MAX_READINGS_PER_PAGE } from '../../../../../handlers/readings/aggregates.ts';
import { HISTORY_REACH_DAYS } from '../../../../../schemas/reading.ts';
import {
  aggregateView,
  appendPage,
  BUCKETS,
  type BucketKey,
  bucketStart,
  COMPUTED_BUCKETS,
  chooseBucket,
  compactTail,
  drawnAggregates,
  MAX_BUCKETS_PER_CHART,
  MAX_COMPUTED_READINGS,
  parseAggregatePage,
  planHistory,
  pruneAggregates,
  rollUp,
} from '../../../../../web/src/logic/aggregates.ts';
import { applyReadings, type MetricSeries } from '../../../../../web/src/logic/device-series.ts';
import { mergePoints, type Point } from '../../../../../web/src/logic/series.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const midnight = Date.parse('2026-11-23T00:00:00.000Z');

const reading = (t: number, temperature: number) => ({
  deviceId: 'd1',
  timestamp: new Date(t).toISOString(),
  metrics: { temperature },
});

describe('choosing raw readings or aggregates', () => {
  /** The readings a device reporting every `seconds` sends over `spanMs`. */
  const readingsOver = (spanMs: number, seconds: number) => spanMs / (seconds * 1000);

  it('draws a few hundred buckets for every preset beyond a few thousand readings', () => {
    const every10s = (span: number) => chooseBucket(span, readingsOver(span, 10));
    expect(every10s(12 * HOUR)).toBe('1m');
    expect(every10s(DAY)).toBe('5m');
    expect(every10s(7 * DAY)).toBe('1h');
    expect(every10s(30 * DAY)).toBe('1h');
    expect(every10s(90 * DAY)).toBe('6h');
    expect(every10s(366 * DAY)).toBe('1d');
    for (const span of [HOUR, 6 * HOUR, DAY, 7 * DAY, 30 * DAY, 200 * DAY]) {
      expect(span / BUCKETS[every10s(span)]).toBeLessThanOrEqual(800);
    }
  });

  it('draws from stored buckets once computed ones would read more than two pages of readings', () => {
    // A week of a device reporting every 10 s is 60,480 readings: hourly, not 15-minute, buckets.
    expect(chooseBucket(7 * DAY, readingsOver(7 * DAY, 10))).toBe('1h');
    // Reporting every minute, 5 days are 7,200 readings, read for 480 15-minute buckets.
    expect(chooseBucket(5 * DAY, readingsOver(5 * DAY, 60))).toBe('15m');
    expect(chooseBucket(3 * DAY, readingsOver(3 * DAY, 60))).toBe('15m');
    expect(chooseBucket(2.5 * DAY, readingsOver(2.5 * DAY, 60))).toBe('5m');
    // Reporting every 2 s, a day is 43,200 readings.
    expect(chooseBucket(DAY, readingsOver(DAY, 2))).toBe('1h');
  });

  it('picks the finest size within 800 buckets that is stored or reads at most 10,000 readings', () => {
    const sizes = Object.keys(BUCKETS) as BucketKey[];
    const fits = (size: BucketKey, span: number, readings: number) =>
      span / BUCKETS[size] <= MAX_BUCKETS_PER_CHART &&
      (!COMPUTED_BUCKETS.has(size) || readings <= MAX_COMPUTED_READINGS);
    fc.assert(
      fc.property(
        fc.integer({ min: HOUR, max: 2 * 366 * DAY }),
        fc.integer({ min: 1, max: 3600 }),
        (span, seconds) => {
          const readings = readingsOver(span, seconds);

          const chosen = chooseBucket(span, readings);

          const finer = sizes.slice(0, sizes.indexOf(chosen));
          expect(finer.filter((size) => fits(size, span, readings))).toEqual([]);
          expect(fits(chosen, span, readings) || chosen === '1d').toBe(true);
        },
      ),
    );
  });

  it('knows which sizes the API computes from the readings and how many a page of them reads', () => {
    const computed = (Object.keys(BUCKETS) as BucketKey[]).filter(
      (size) => storedSizeFor(size) === undefined,
    );

    expect([...COMPUTED_BUCKETS]).toEqual(computed);
    expect(MAX_COMPUTED_READINGS).toBe(2 * MAX_READINGS_PER_PAGE);
  });

  it('keeps raw readings while the range holds at most a few thousand of the device’s readings', () => {
    expect(planHistory(DAY, 60)).toEqual({ mode: 'raw' });
    expect(planHistory(5 * DAY, 60)).toEqual({ mode: 'aggregate', bucket: '15m' });
    expect(planHistory(7 * DAY, 60)).toEqual({ mode: 'aggregate', bucket: '1h' });
    expect(planHistory(DAY, 2)).toEqual({ mode: 'aggregate', bucket: '1h' });
    expect(planHistory(DAY, undefined)).toEqual({ mode: 'aggregate', bucket: '5m' });
    expect(planHistory(6 * HOUR, undefined)).toEqual({ mode: 'raw' });
    expect(planHistory(30 * DAY, undefined)).toEqual({ mode: 'aggregate', bucket: '1h' });
  });

  it('takes only sizes the API still holds for a range that starts further back', () => {
    const { readings, hourly, rollups } = HISTORY_REACH_DAYS;
    // A day of a device reporting every minute: raw readings while they are kept, then 1h buckets.
    expect(planHistory(DAY, 60, (readings - 1) * DAY)).toEqual({ mode: 'raw' });
    expect(planHistory(readings * DAY, 3600, readings * DAY + 60_000)).toEqual({ mode: 'raw' });
    expect(planHistory(DAY, 60, (readings + 2) * DAY)).toEqual({ mode: 'aggregate', bucket: '1h' });
    // A day of a device reporting every 10 s: 5m buckets computed from the readings, then 1h, then 6h.
    expect(planHistory(DAY, 10, (readings - 1) * DAY)).toEqual({ mode: 'aggregate', bucket: '5m' });
    expect(planHistory(DAY, 10, (hourly - 1) * DAY)).toEqual({ mode: 'aggregate', bucket: '1h' });
    expect(planHistory(DAY, 10, (hourly + 2) * DAY)).toEqual({ mode: 'aggregate', bucket: '6h' });
    expect(planHistory(DAY, 10, (rollups + 2) * DAY)).toEqual({ mode: 'aggregate', bucket: '1d' });
    expect(hourly).toBe(retentionDaysOf('1h', rollups));
    expect(rollups).toBe(retentionDaysOf('6h', rollups));
  });
});

describe('aggregate pages', () => {
  it('reads each metric of each bucket, oldest first, dropping a malformed bucket and keeping the others', () => {
    const page = parseAggregatePage({
      items: [
        {
          start: '2026-11-23T01:00:00.000Z',
          end: '2026-11-23T02:00:00.000Z',
          metrics: {
            temperature: { min: 20, max: 24, avg: 22, count: 360, first: 21, last: 23 },
            humidity: { min: 40, max: 42, avg: 41, count: 360, first: 40, last: 41, median: 41 },
          },
          rollup: 'stored',
        },
        {
          start: '2026-11-23T02:00:00.000Z',
          end: '2026-11-23T03:00:00.000Z',
          metrics: { temperature: { min: 20, max: 'high', avg: 22, count: 360, first: 21, last: 23 } },
        },
        {
          start: 'yesterday',
          end: '2026-11-23T01:00:00.000Z',
          metrics: { temperature: { min: 1, max: 1, avg: 1, count: 1, first: 1, last: 1 } },
        },
        {
          start: '2026-11-23T00:00:00.000Z',
          end: '2026-11-23T01:00:00.000Z',
          metrics: { temperature: { min: 19, max: 21, avg: 20, count: 10, first: 19, last: 21 } },
        },
      ],
      nextCursor: 'abc',
    });

    expect(page).toEqual({
      series: {
        temperature: [
          { t: midnight, min: 19, max: 21, avg: 20, count: 10, first: 19, last: 21 },
          { t: midnight + HOUR, min: 20, max: 24, avg: 22, count: 360, first: 21, last: 23 },
        ],
        humidity: [{ t: midnight + HOUR, min: 40, max: 42, avg: 41, count: 360, first: 40, last: 41 }],
      },
      nextCursor: 'abc',
    });
    expect(parseAggregatePage({ items: 'none', nextCursor: null })).toBeUndefined();
  });

  it('appends pages in order without touching the loaded ones', () => {
    const first = parseAggregatePage({
      items: [
        {
          start: '2026-11-23T00:00:00Z',
          end: '2026-11-23T01:00:00Z',
          metrics: { t: { min: 1, max: 1, avg: 1, count: 1, first: 1, last: 1 } },
        },
      ],
      nextCursor: 'next',
    });
    const second = parseAggregatePage({
      items: [
        {
          start: '2026-11-23T01:00:00Z',
          end: '2026-11-23T02:00:00Z',
          metrics: { t: { min: 2, max: 2, avg: 2, count: 1, first: 2, last: 2 } },
        },
      ],
      nextCursor: null,
    });
    if (!first || !second) throw new Error('pages did not parse');

    const loaded = appendPage(appendPage({}, first), second);

    expect(loaded.t?.map((p) => p.avg)).toEqual([1, 2]);
    expect(first.series.t).toHaveLength(1);
  });
});

describe('rolling raw readings up', () => {
  it('aligns buckets to UTC and computes min, max, avg, count, first and last', () => {
    const points: Point[] = [
      { t: midnight + 10_000, value: 3 },
      { t: midnight + 20_000, value: 1 },
      { t: midnight + 50_000, value: 5 },
      { t: midnight + 60_000, value: 7 },
    ];

    expect(rollUp(points, BUCKETS['1m'])).toEqual([
      { t: midnight, min: 1, max: 5, avg: 3, count: 3, first: 3, last: 5 },
      { t: midnight + 60_000, min: 7, max: 7, avg: 7, count: 1, first: 7, last: 7 },
    ]);
    expect(bucketStart(midnight + DAY - 1, BUCKETS['1d'])).toBe(midnight);
  });

  it('equals the aggregates computed from the readings, in any arrival order and with duplicates', () => {
    const readingArb = fc.record({
      offset: fc.integer({ min: 0, max: 3 * HOUR }),
      value: fc.integer({ min: -1000, max: 1000 }),
    });
    fc.assert(
      fc.property(
        fc.array(readingArb, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        (items, copies) => {
          // Readings are identified by their timestamp: the last value sent for one wins, as a merge keeps it.
          const byTime = new Map<number, number>();
          for (const { offset, value } of items) byTime.set(midnight + offset, value);
          const batches = Array.from({ length: copies }, (_, i) =>
            items.map(({ offset, value }) => ({ t: midnight + offset, value })).slice(i % 2 === 0 ? 0 : 1),
          );
          let series: Point[] = [];
          for (const batch of batches) series = mergePoints(series, batch.reverse());
          series = mergePoints(
            series,
            items.map(({ offset, value }) => ({ t: midnight + offset, value })),
          );

          const rolled = rollUp(series, BUCKETS['15m']);

          const expected = new Map<number, number[]>();
          for (const t of [...byTime.keys()].sort((a, b) => a - b)) {
            const start = bucketStart(t, BUCKETS['15m']);
            expected.set(start, [...(expected.get(start) ?? []), byTime.get(t) ?? Number.NaN]);
          }
          expect(rolled.map((b) => b.t)).toEqual([...expected.keys()]);
          for (const bucket of rolled) {
            const values = expected.get(bucket.t) ?? [];
            expect(bucket.count).toBe(values.length);
            expect(bucket.min).toBe(Math.min(...values));
            expect(bucket.max).toBe(Math.max(...values));
            expect(bucket.first).toBe(values[0]);
            expect(bucket.last).toBe(values.at(-1));
            expect(bucket.avg).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
          }
        },
      ),
    );
  });
});

describe('a long range that keeps extending live', () => {
  const bucketMs = BUCKETS['1h'];
  const tailFrom = midnight + 10 * HOUR;
  const loadedPage = parseAggregatePage({
    items: [
      {
        start: '2026-11-23T08:00:00Z',
        end: '2026-11-23T09:00:00Z',
        metrics: { temperature: { min: 18, max: 22, avg: 20, count: 360, first: 18, last: 22 } },
      },
      {
        start: '2026-11-23T09:00:00Z',
        end: '2026-11-23T10:00:00Z',
        metrics: { temperature: { min: 21, max: 25, avg: 23, count: 360, first: 22, last: 24 } },
      },
      // The API's view of the bucket still filling: the tail owns it.
      {
        start: '2026-11-23T10:00:00Z',
        end: '2026-11-23T11:00:00Z',
        metrics: { temperature: { min: 1, max: 1, avg: 1, count: 1, first: 1, last: 1 } },
      },
    ],
    nextCursor: null,
  });
  const view = aggregateView('1h', tailFrom, loadedPage?.series ?? {});

  it('draws the loaded buckets, then the current bucket rolled up from the raw tail', () => {
    const tail = applyReadings({}, [reading(tailFrom + 5_000, 30), reading(tailFrom + 15_000, 32)]);

    const drawn = drawnAggregates(view, tail).temperature ?? [];

    expect(drawn.map((b) => [b.t, b.avg, b.count])).toEqual([
      [midnight + 8 * HOUR, 20, 360],
      [midnight + 9 * HOUR, 23, 360],
      [tailFrom, 31, 2],
    ]);
  });

  it('extends the current bucket with a live reading, opens the next one, and counts a repeat once', () => {
    let tail: MetricSeries = applyReadings({}, [reading(tailFrom + 5_000, 30)]);

    tail = applyReadings(tail, [reading(tailFrom + 25_000, 34)]);
    tail = applyReadings(tail, [reading(tailFrom + 25_000, 34)]);
    tail = applyReadings(tail, [reading(tailFrom + bucketMs + 1_000, 40)]);

    const drawn = drawnAggregates(view, tail).temperature ?? [];
    expect(drawn.slice(2).map((b) => [b.t, b.min, b.max, b.avg, b.count, b.first, b.last])).toEqual([
      [tailFrom, 30, 34, 32, 2, 30, 34],
      [tailFrom + bucketMs, 40, 40, 40, 1, 40, 40],
    ]);
  });

  it('folds closed buckets of the tail into the loaded ones without changing what is drawn', () => {
    const tail = applyReadings({}, [
      reading(tailFrom + 5_000, 30),
      reading(tailFrom + bucketMs + 1_000, 40),
      reading(tailFrom + 2 * bucketMs + 1_000, 50),
    ]);

    const compacted = compactTail(view, tail, tailFrom + 2 * bucketMs + 30_000);

    expect(compacted.view.tailFrom).toBe(tailFrom + 2 * bucketMs);
    expect(compacted.tail.temperature).toHaveLength(1);
    expect(drawnAggregates(compacted.view, compacted.tail)).toEqual(drawnAggregates(view, tail));
    expect(compactTail(compacted.view, compacted.tail, tailFrom)).toEqual(compacted);
  });

  it('drops buckets that ended before the range', () => {
    const pruned = pruneAggregates(view, midnight + 9 * HOUR + 1);

    expect(pruned.loaded.temperature?.map((b) => b.t)).toEqual([midnight + 9 * HOUR]);
  });
});
