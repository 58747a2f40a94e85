/** A device's chart data: one time-sorted, deduplicated series per metric. */
import type { EnrichedData, ReadingData } from './messages.ts';
import { enrichPoint, mergePoints, type Point, prunePoints } from './series.ts';
import { latest, parseTime } from './status.ts';

export type MetricSeries = Readonly<Record<string, readonly Point[]>>;

/** Merges readings (a history page, a backfill or one push) into every metric they carry. */
export const applyReadings = (series: MetricSeries, readings: readonly ReadingData[]): MetricSeries => {
  const incoming = new Map<string, Point[]>();
  for (const reading of readings) {
    const t = parseTime(reading.timestamp);
    if (t === undefined) continue;
    for (const [metric, value] of Object.entries(reading.metrics)) {
      const enrichment = reading.enrichment?.[metric];
      const points = incoming.get(metric) ?? [];
      points.push(enrichment ? { t, value, enrichment: withoutValue(enrichment) } : { t, value });
      incoming.set(metric, points);
    }
  }
  if (incoming.size === 0) return series;
  const next: Record<string, readonly Point[]> = { ...series };
  for (const [metric, points] of incoming) next[metric] = mergePoints(series[metric] ?? [], points);
  return next;
};

/** Marks a reading's points with their enrichment (anomaly, mean, z-score …). */
export const applyEnriched = (series: MetricSeries, enriched: EnrichedData): MetricSeries => {
  const t = parseTime(enriched.timestamp);
  if (t === undefined) return series;
  const next: Record<string, readonly Point[]> = { ...series };
  for (const [metric, enrichment] of Object.entries(enriched.metrics)) {
    next[metric] = enrichPoint(series[metric] ?? [], t, enrichment.value, withoutValue(enrichment));
  }
  return next;
};

const withoutValue = <T extends { value?: number }>(enrichment: T): Omit<T, 'value'> => {
  const { value: _, ...rest } = enrichment;
  return rest;
};

/** The newest reading timestamp in any metric: where a backfill after a disconnect picks up. */
export const lastTimestamp = (series: MetricSeries): number | undefined => {
  let last: number | undefined;
  for (const points of Object.values(series)) last = latest(last, points.at(-1)?.t);
  return last;
};

/** Drops points older than `fromMs` in every metric. */
export const pruneSeries = (series: MetricSeries, fromMs: number): MetricSeries =>
  Object.fromEntries(Object.entries(series).map(([metric, points]) => [metric, prunePoints(points, fromMs)]));

/** When the device was last heard from: the latest `receivedAt` (or timestamp) among readings. */
export const lastSeenOf = (readings: readonly ReadingData[]): number | undefined => {
  let last: number | undefined;
  for (const reading of readings) last = latest(last, parseTime(reading.receivedAt ?? reading.timestamp));
  return last;
};

/** The oldest point in any metric: where a fresh device's charts begin. */
export const firstTimestamp = (series: MetricSeries): number | undefined => {
  let first: number | undefined;
  for (const points of Object.values(series)) {
    const t = points[0]?.t;
    if (t !== undefined && (first === undefined || t < first)) first = t;
  }
  return first;
};
