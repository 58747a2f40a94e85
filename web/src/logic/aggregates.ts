/**
 * Long ranges drawn from aggregates: `GET /devices/{id}/readings?from&to&bucket=` answers one
 * item per UTC-aligned bucket with each metric's min, max, avg, count, first and last, so a 30-day
 * chart loads a few hundred buckets instead of tens of thousands of readings. The chart draws the
 * average with a min–max band.
 *
 * The newest bucket is still filling while the chart is open, so it is not taken from the API:
 * the dashboard loads the raw readings from that bucket's start (the *tail*) and follows them live
 * like a short range, deduplicated by timestamp, and rolls the tail up into buckets itself. Live
 * readings thereby keep extending the current bucket (and open the next one) with no reading
 * counted twice, whatever the order of the REST answer and the pushes.
 */
import * as z from 'zod/mini';
import { BucketAggregate, HISTORY_REACH_DAYS, MetricAggregate } from '../../../schemas/reading.ts';
import type { MetricSeries } from './device-series.ts';
import { PageEnvelope, validItems } from './messages.ts';
import { type Point, toChartColumns } from './series.ts';

/** The bucket sizes the API serves, in ms. */
export const BUCKETS = {
  '1m': 60_000,
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '1h': 60 * 60_000,
  '6h': 6 * 60 * 60_000,
  '1d': 24 * 60 * 60_000,
} as const;
export type BucketKey = keyof typeof BUCKETS;

/** Above this many raw points a range is drawn from aggregates ("beyond a few thousand"). */
export const MAX_RAW_POINTS = 3000;
/** At most this many buckets per chart: a few hundred, about one per pixel column or fewer. */
export const MAX_BUCKETS_PER_CHART = 800;
/** How often a device is assumed to report when it does not say (`expectedIntervalSeconds`). */
export const ASSUMED_INTERVAL_SECONDS = 10;

/**
 * The sizes the API computes from the device's raw readings when asked; the others it answers
 * from the rollups it stores (1h and 6h; 1d merges four 6h), an item per bucket. A page of
 * computed buckets reads up to 5,000 readings (README, "History in buckets").
 */
export const COMPUTED_BUCKETS: ReadonlySet<BucketKey> = new Set<BucketKey>(['1m', '5m', '15m']);
/** The most readings a chart in computed buckets may cost: two of the API's pages. */
export const MAX_COMPUTED_READINGS = 10_000;

export type HistoryPlan =
  | { readonly mode: 'raw' }
  | { readonly mode: 'aggregate'; readonly bucket: BucketKey };

/**
 * The bucket size of a range of `spanMs` holding about `readings` of the device's readings: the
 * finest size that keeps the chart within {@link MAX_BUCKETS_PER_CHART} points, among the stored
 * sizes and, while the range holds at most {@link MAX_COMPUTED_READINGS} readings, the computed
 * ones. Past that a computed size would read every reading of the range, a page at a time, where a
 * stored one reads an item per bucket, so the chart takes the finest stored size that fits. A size
 * is left out when the range starts (`startAgeMs` before now) further back than it reaches. For a
 * device reporting every 10 s: 1m up to about 13 h, 5m to about 28 h, then 1h (to 33 days), 6h,
 * 1d; every minute: 5m to about 67 h, 15m to 6.9 days, then 1h.
 */
export const chooseBucket = (spanMs: number, readings: number, startAgeMs = 0): BucketKey => {
  for (const [key, ms] of Object.entries(BUCKETS) as [BucketKey, number][]) {
    if (COMPUTED_BUCKETS.has(key) && readings > MAX_COMPUTED_READINGS) continue;
    if (startAgeMs > REACH_MS[key] + DAY_MS) continue;
    if (spanMs / ms <= MAX_BUCKETS_PER_CHART) return key;
  }
  return '1d';
};

const DAY_MS = 86_400_000;
/**
 * How far back the API answers each size (`HISTORY_REACH_DAYS`): the computed sizes and raw
 * readings as long as readings are kept, 1h a quarter, 6h and 1d as long as the rollups. A range
 * starting more than a day further back takes a coarser size, so its older part is not left blank
 * (within a day, e.g. the preset "last 30 days", all but its first day is there).
 */
const REACH_MS: Readonly<Record<BucketKey, number>> = {
  '1m': HISTORY_REACH_DAYS.readings * DAY_MS,
  '5m': HISTORY_REACH_DAYS.readings * DAY_MS,
  '15m': HISTORY_REACH_DAYS.readings * DAY_MS,
  '1h': HISTORY_REACH_DAYS.hourly * DAY_MS,
  '6h': HISTORY_REACH_DAYS.rollups * DAY_MS,
  '1d': HISTORY_REACH_DAYS.rollups * DAY_MS,
};

/**
 * Raw readings when the range holds at most {@link MAX_RAW_POINTS} of the device's readings (so
 * each reading's enrichment and anomaly still show) and starts within the readings' retention
 * (`startAgeMs` before now), aggregates otherwise ({@link chooseBucket}).
 */
export const planHistory = (
  spanMs: number,
  expectedIntervalSeconds: number | undefined,
  startAgeMs = 0,
): HistoryPlan => {
  const readings = spanMs / ((expectedIntervalSeconds ?? ASSUMED_INTERVAL_SECONDS) * 1000);
  return readings <= MAX_RAW_POINTS && startAgeMs <= REACH_MS['1m'] + DAY_MS
    ? { mode: 'raw' }
    : { mode: 'aggregate', bucket: chooseBucket(spanMs, readings, startAgeMs) };
};

/** The start of the UTC-aligned bucket holding `t` (epoch ms count from a UTC midnight). */
export const bucketStart = (t: number, bucketMs: number): number => Math.floor(t / bucketMs) * bucketMs;

/** One bucket of one metric as a chart draws it: `t` is the bucket's start (epoch ms). */
export interface AggregatePoint extends MetricAggregate {
  readonly t: number;
}

export type AggregateSeries = Readonly<Record<string, readonly AggregatePoint[]>>;

export interface AggregatePage {
  /** Per metric, oldest first. */
  readonly series: Record<string, AggregatePoint[]>;
  readonly nextCursor: string | null;
}

/** One bucket of a page, read non-strictly (unknown fields a later API adds are ignored). */
const BucketItem = z.object({
  ...BucketAggregate.shape,
  metrics: z.record(z.string(), z.object(MetricAggregate.shape)),
});

/** A page of buckets; a malformed bucket is dropped rather than failing the chart. */
export const parseAggregatePage = (body: unknown): AggregatePage | undefined => {
  const page = z.safeParse(PageEnvelope, body);
  if (!page.success) return undefined;
  const series: Record<string, AggregatePoint[]> = {};
  for (const bucket of validItems(page.data.items, BucketItem, 'bucket')) {
    const t = Date.parse(bucket.start);
    for (const [metric, aggregate] of Object.entries(bucket.metrics)) {
      series[metric] ??= [];
      series[metric].push({ t, ...aggregate });
    }
  }
  for (const points of Object.values(series)) points.sort((a, b) => a.t - b.t);
  return { series, nextCursor: page.data.nextCursor };
};

/** Appends a page's series to those already loaded (pages come oldest first). */
export const appendPage = (loaded: AggregateSeries, page: AggregatePage): AggregateSeries => {
  const out: Record<string, readonly AggregatePoint[]> = { ...loaded };
  for (const [metric, points] of Object.entries(page.series))
    out[metric] = [...(out[metric] ?? []), ...points];
  return out;
};

/** Rolls raw points (time-sorted, one per timestamp) up into UTC-aligned buckets of `bucketMs`. */
export const rollUp = (points: readonly Point[], bucketMs: number): AggregatePoint[] => {
  const out: AggregatePoint[] = [];
  let current:
    | { t: number; min: number; max: number; sum: number; count: number; first: number; last: number }
    | undefined;
  const flush = () => {
    if (current) {
      const { sum, ...rest } = current;
      out.push({ ...rest, avg: sum / current.count });
    }
  };
  for (const { t, value } of points) {
    const start = bucketStart(t, bucketMs);
    if (current?.t !== start) {
      flush();
      current = { t: start, min: value, max: value, sum: value, count: 1, first: value, last: value };
      continue;
    }
    current.min = Math.min(current.min, value);
    current.max = Math.max(current.max, value);
    current.sum += value;
    current.count++;
    current.last = value;
  }
  flush();
  return out;
};

/**
 * How a device's long range is held: buckets loaded from the API before `tailFrom`, and the raw
 * readings from `tailFrom` on in the device's ordinary series.
 */
export interface AggregateView {
  readonly bucket: BucketKey;
  /** Start of the first bucket the tail covers (bucket-aligned). */
  readonly tailFrom: number;
  /** Buckets from the API, each starting before `tailFrom`. */
  readonly loaded: AggregateSeries;
}

/** A view from buckets the API answered; any bucket at or after `tailFrom` is left to the tail. */
export const aggregateView = (
  bucket: BucketKey,
  tailFrom: number,
  loaded: AggregateSeries,
): AggregateView => ({
  bucket,
  tailFrom,
  loaded: Object.fromEntries(
    Object.entries(loaded).map(([metric, points]) => [metric, points.filter((p) => p.t < tailFrom)]),
  ),
});

/** What the charts draw: the loaded buckets, then the tail rolled up (the current bucket, extending live). */
export const drawnAggregates = (view: AggregateView, tail: MetricSeries): AggregateSeries => {
  const bucketMs = BUCKETS[view.bucket];
  const metrics = new Set([...Object.keys(view.loaded), ...Object.keys(tail)]);
  const out: Record<string, readonly AggregatePoint[]> = {};
  for (const metric of metrics) {
    const recent = (tail[metric] ?? []).filter((p) => p.t >= view.tailFrom);
    out[metric] = [...(view.loaded[metric] ?? []), ...rollUp(recent, bucketMs)];
  }
  return out;
};

/**
 * Folds the tail's buckets that closed before `closedBeforeMs` into the loaded ones and drops
 * their raw points, so a dashboard left open for days keeps a bounded tail. Choose
 * `closedBeforeMs` well behind the clock: a reading arriving later for a folded bucket is no
 * longer counted (until the next load, which reads the API's rollups).
 */
export const compactTail = (
  view: AggregateView,
  tail: MetricSeries,
  closedBeforeMs: number,
): { view: AggregateView; tail: MetricSeries } => {
  const bucketMs = BUCKETS[view.bucket];
  const tailFrom = bucketStart(closedBeforeMs, bucketMs);
  if (tailFrom <= view.tailFrom) return { view, tail };
  const loaded: Record<string, readonly AggregatePoint[]> = { ...view.loaded };
  const kept: Record<string, readonly Point[]> = {};
  for (const [metric, points] of Object.entries(tail)) {
    const closing = points.filter((p) => p.t >= view.tailFrom && p.t < tailFrom);
    loaded[metric] = [...(loaded[metric] ?? []), ...rollUp(closing, bucketMs)];
    kept[metric] = points.filter((p) => p.t >= tailFrom);
  }
  return { view: { ...view, tailFrom, loaded }, tail: kept };
};

/** Drops buckets that ended before `fromMs`. */
export const pruneAggregates = (view: AggregateView, fromMs: number): AggregateView => {
  const bucketMs = BUCKETS[view.bucket];
  return {
    ...view,
    loaded: Object.fromEntries(
      Object.entries(view.loaded).map(([metric, points]) => [
        metric,
        points.filter((p) => p.t + bucketMs > fromMs),
      ]),
    ),
  };
};

/** What one chart draws: each reading, or (long ranges) each bucket's average with its min–max band. */
export type ChartData =
  | { readonly kind: 'raw'; readonly points: readonly Point[] }
  | { readonly kind: 'aggregate'; readonly bucket: BucketKey; readonly points: readonly AggregatePoint[] };

/** The columns uPlot draws: x in seconds, the value, anomaly markers, and the band's max and min. */
export type ChartColumns = [number[], number[], (number | null)[], (number | null)[], (number | null)[]];

/**
 * uPlot's columns for either kind of data. Raw readings leave the band empty; buckets draw their
 * average as the line (no anomaly markers: anomalies belong to single readings).
 */
export const chartColumns = (data: ChartData): ChartColumns => {
  const n = data.points.length;
  const none = () => new Array<number | null>(n).fill(null);
  if (data.kind === 'raw') return [...toChartColumns(data.points), none(), none()];
  const xs = new Array<number>(n);
  const ys = new Array<number>(n);
  const highs = none();
  const lows = none();
  data.points.forEach((point, i) => {
    xs[i] = point.t / 1000;
    ys[i] = point.avg;
    highs[i] = point.max;
    lows[i] = point.min;
  });
  return [xs, ys, none(), highs, lows];
};
