/**
 * A metric's points as a chart draws them: sorted by time, one point per timestamp. History pages,
 * live pushes and backfills all arrive through {@link mergePoints}, in any order and any number
 * of times, and always leave the same series behind.
 */

/** Derived values of one metric of one reading, as the enrichment workflow computes them. */
export interface PointEnrichment {
  readonly mean?: number;
  readonly stddev?: number;
  readonly zScore?: number | null;
  readonly delta?: number | null;
  readonly ratePerMinute?: number | null;
  readonly anomaly: boolean;
  readonly samples?: number;
}

export interface Point {
  /** Epoch milliseconds of the reading's timestamp; the point's identity. */
  readonly t: number;
  readonly value: number;
  readonly enrichment?: PointEnrichment;
}

const combine = (older: Point, newer: Point): Point => {
  const enrichment = newer.enrichment ?? older.enrichment;
  return enrichment ? { t: newer.t, value: newer.value, enrichment } : { t: newer.t, value: newer.value };
};

/**
 * Merges `incoming` into `existing` (which must already be sorted and deduplicated): the result is
 * sorted by time with one point per timestamp. For a timestamp present in both, the incoming value
 * wins and enrichment is kept from whichever side has it, so an enrichment that arrived before its
 * reading is not lost. Appending in order (the live case) costs O(incoming).
 */
export const mergePoints = (existing: readonly Point[], incoming: readonly Point[]): Point[] => {
  if (incoming.length === 0) return existing.slice();
  const sortedIncoming = dedupe(incoming.slice().sort((a, b) => a.t - b.t));
  const last = existing.at(-1);
  const first = sortedIncoming[0];
  if (first && (!last || first.t > last.t)) return [...existing, ...sortedIncoming];

  const merged: Point[] = [];
  let i = 0;
  let j = 0;
  while (i < existing.length || j < sortedIncoming.length) {
    const a = existing[i];
    const b = sortedIncoming[j];
    if (a && (!b || a.t < b.t)) {
      merged.push(a);
      i++;
    } else if (b && (!a || b.t < a.t)) {
      merged.push(b);
      j++;
    } else if (a && b) {
      merged.push(combine(a, b));
      i++;
      j++;
    }
  }
  return merged;
};

/** Collapses points with equal timestamps in a time-sorted list, later ones winning. */
const dedupe = (sorted: readonly Point[]): Point[] => {
  const out: Point[] = [];
  for (const point of sorted) {
    const previous = out.at(-1);
    if (previous && previous.t === point.t) out[out.length - 1] = combine(previous, point);
    else out.push(point);
  }
  return out;
};

/**
 * Attaches enrichment to the point at `t`. When the reading itself has not arrived yet (pushes are
 * not ordered), the enrichment's own `value` makes the point, so the anomaly is shown either way.
 */
export const enrichPoint = (
  points: readonly Point[],
  t: number,
  value: number | undefined,
  enrichment: PointEnrichment,
): Point[] => {
  const index = indexOf(points, t);
  const existing = index === undefined ? undefined : points[index];
  if (existing && index !== undefined) {
    const copy = points.slice();
    copy[index] = { t, value: existing.value, enrichment };
    return copy;
  }
  if (value === undefined) return points.slice();
  return mergePoints(points, [{ t, value, enrichment }]);
};

/** Binary search for the index of the point at exactly `t`. */
export const indexOf = (points: readonly Point[], t: number): number | undefined => {
  let low = 0;
  let high = points.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const at = points[mid]?.t ?? 0;
    if (at === t) return mid;
    if (at < t) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
};

/** Drops points older than `fromMs`, keeping memory bounded to the chosen time range. */
export const prunePoints = (points: readonly Point[], fromMs: number): Point[] => {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((points[mid]?.t ?? 0) < fromMs) low = mid + 1;
    else high = mid;
  }
  return low === 0 ? points.slice() : points.slice(low);
};

/** Points whose enrichment flags them as anomalies. */
export const anomalies = (points: readonly Point[]): Point[] =>
  points.filter((point) => point.enrichment?.anomaly === true);

/**
 * uPlot's column data: x in seconds, the values, and a second series holding only anomalies
 * (null elsewhere) that the chart draws as red markers.
 */
export const toChartColumns = (points: readonly Point[]): [number[], number[], (number | null)[]] => {
  const xs = new Array<number>(points.length);
  const ys = new Array<number>(points.length);
  const marks = new Array<number | null>(points.length);
  points.forEach((point, i) => {
    xs[i] = point.t / 1000;
    ys[i] = point.value;
    marks[i] = point.enrichment?.anomaly ? point.value : null;
  });
  return [xs, ys, marks];
};
