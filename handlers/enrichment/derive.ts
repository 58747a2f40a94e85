import type { z } from 'zod/mini';
import type { MetricEnrichment, ReadingEnriched } from '../../schemas/events.ts';
import { readingIdOf } from '../lib/ids.ts';

/** How many preceding readings feed the rolling statistics unless the caller says otherwise. */
export const DEFAULT_WINDOW = 12;
/** |z| at or beyond which a value is flagged as an anomaly (the three-sigma rule). */
export const ANOMALY_Z_SCORE = 3;
/** Fewer samples than this give a standard deviation too unstable to call anything an anomaly. */
export const ANOMALY_MIN_SAMPLES = 6;
/** Below this many samples a standard deviation says nothing, so no z-score is given. */
export const Z_SCORE_MIN_SAMPLES = 2;
/**
 * Derived floats are rounded to this many significant digits: enough for any sensor's precision,
 * few enough that `0.1` stays `0.1` in JSON rather than `0.10000000000000142`.
 */
export const SIGNIFICANT_DIGITS = 6;

export type EnrichedReading = z.infer<typeof ReadingEnriched.data>;
export type MetricEnrichmentData = z.infer<typeof MetricEnrichment>;

/** The reading being enriched. */
export interface ReadingToEnrich {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Readonly<Record<string, number>>;
}

/** A reading of the same device, as loaded from the readings table. */
export interface HistoricalReading {
  readonly timestamp: string;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface DeriveOptions {
  /** How many readings preceding the enriched one in time make the window; a positive integer. */
  readonly window?: number;
}

interface Sample {
  readonly at: number;
  readonly value: number;
}

interface TimedReading {
  readonly at: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Rounds to {@link SIGNIFICANT_DIGITS} significant digits, so JSON shows `0.1`, not float noise. */
export const roundDerived = (value: number): number => Number(value.toPrecision(SIGNIFICANT_DIGITS));

const MS_PER_MINUTE = 60_000;

const meanAndStddev = (values: readonly number[], current: number): { mean: number; stddev: number } => {
  const first = values[0];
  if (first === undefined) return { mean: current, stddev: 0 };
  if (values.every((value) => value === first)) return { mean: first, stddev: 0 };
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, stddev: Math.sqrt(variance) };
};

const enrichMetric = (
  name: string,
  value: number,
  at: number,
  window: readonly TimedReading[],
): MetricEnrichmentData => {
  const samples: Sample[] = window.flatMap((reading) => {
    const sample = Object.hasOwn(reading.metrics, name) ? reading.metrics[name] : undefined;
    return sample === undefined ? [] : [{ at: reading.at, value: sample }];
  });
  const previous = samples.at(-1);
  const delta = previous ? value - previous.value : null;
  const ratePerMinute = previous ? (value - previous.value) / ((at - previous.at) / MS_PER_MINUTE) : null;
  const { mean, stddev } = meanAndStddev(
    samples.map((sample) => sample.value),
    value,
  );
  const zScore = samples.length >= Z_SCORE_MIN_SAMPLES && stddev > 0 ? (value - mean) / stddev : null;
  return {
    value,
    delta: delta === null ? null : roundDerived(delta),
    ratePerMinute: ratePerMinute === null ? null : roundDerived(ratePerMinute),
    mean: roundDerived(mean),
    stddev: roundDerived(stddev),
    zScore: zScore === null ? null : roundDerived(zScore),
    anomaly: zScore !== null && samples.length >= ANOMALY_MIN_SAMPLES && Math.abs(zScore) >= ANOMALY_Z_SCORE,
    samples: samples.length,
  };
};

/**
 * Derives, for every metric of a reading, its change since the previous value and how unusual it
 * is against the recent past, as `ReadingEnriched` carries it.
 *
 * The window is the `window` readings that precede the reading **in time** (by timestamp, not by
 * arrival), taken from `history`: later readings and the reading itself are ignored, whatever
 * order the history comes in, so a late or out-of-order reading is judged against what came
 * before it and retries give the same answer. Each metric uses the readings of the window that
 * carry it, so a metric sent only now and then has fewer `samples`, and a new metric has none.
 *
 * - `delta` and `ratePerMinute` compare with the latest earlier reading carrying the metric.
 * - `mean` and population `stddev` cover the previous readings only, never the current value, so a
 *   spike does not dampen its own z-score; `zScore` is `(value - mean) / stddev` over the same
 *   samples, `null` below {@link Z_SCORE_MIN_SAMPLES} samples or when `stddev` is 0. With no
 *   earlier sample, `mean` is the value itself and `stddev` 0. Identical samples have a `stddev`
 *   of exactly 0: summed in floating point, six 0.1s would show a spread of about 1e-17 and turn
 *   any change into a z-score in the quadrillions.
 * - `anomaly` needs `|zScore| >= ANOMALY_Z_SCORE` and at least {@link ANOMALY_MIN_SAMPLES} samples.
 * - `gapSeconds` is the time since the latest earlier reading of any metric, exact to the
 *   millisecond; `null` for a device's first reading.
 *
 * Derived floats are rounded with {@link roundDerived} after computing, so the z-score and the
 * anomaly flag use unrounded statistics; `value` is passed through unchanged.
 */
export const deriveEnrichment = (
  reading: ReadingToEnrich,
  history: readonly HistoricalReading[],
  options: DeriveOptions = {},
): EnrichedReading => {
  const size = options.window ?? DEFAULT_WINDOW;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`window must be a positive integer, got ${size}`);
  }
  const at = Date.parse(reading.timestamp);
  const window = history
    .map((item) => ({ at: Date.parse(item.timestamp), metrics: item.metrics }))
    .filter((item) => item.at < at)
    .sort((a, b) => a.at - b.at)
    .slice(-size);
  const previous = window.at(-1);
  return {
    readingId: readingIdOf(reading.deviceId, reading.timestamp),
    deviceId: reading.deviceId,
    timestamp: reading.timestamp,
    gapSeconds: previous ? (at - previous.at) / 1000 : null,
    metrics: Object.fromEntries(
      Object.entries(reading.metrics).map(([name, value]) => [name, enrichMetric(name, value, at, window)]),
    ),
  };
};

/** Ports of the derive use case; the adapter lives in `derive-handler.ts`. */
export interface DeriveDeps {
  /** Up to `limit` readings of the device that precede `timestamp` in time, newest first. */
  history(deviceId: string, timestamp: string, limit: number): Promise<HistoricalReading[]>;
  /** How many preceding readings make the window. */
  readonly window: number;
}

/** Derives the reading's enrichment from the readings that came before it in time (late ones included). */
export const derive = async (reading: ReadingToEnrich, deps: DeriveDeps): Promise<EnrichedReading> =>
  deriveEnrichment(reading, await deps.history(reading.deviceId, reading.timestamp, deps.window), {
    window: deps.window,
  });
