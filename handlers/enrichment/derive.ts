import type { z } from 'zod/mini';
import type { LastReading } from '../../schemas/device.ts';
import type { EnrichedReading as EnrichedReadingSchema, MetricEnrichment } from '../../schemas/events.ts';
import { readingIdOf } from '../lib/ids.ts';
import { WorkflowError, WorkflowErrors } from '../lib/workflow-errors.ts';

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

/** One reading with its enrichment, as `ReadingEnriched` v2 carries it. */
export type EnrichedReading = z.infer<typeof EnrichedReadingSchema>;
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
    timestamp: reading.timestamp,
    gapSeconds: previous ? (at - previous.at) / 1000 : null,
    metrics: Object.fromEntries(
      Object.entries(reading.metrics).map(([name, value]) => [name, enrichMetric(name, value, at, window)]),
    ),
  };
};

/**
 * The rolling window kept on the device item: the latest readings by timestamp, so an upload is
 * derived without querying the readings before it. `version` makes its update conditional (two
 * uploads of one device enriched at once do not lose each other's readings); `appliedEventId`
 * and `pushedOut` make a retried execution derive exactly what the first attempt derived: with the
 * event's own readings they give back the window as it was before the event (see
 * {@link windowBefore}), while the item stores only what the event changed, not a second copy of
 * the window.
 */
export interface EnrichmentWindow {
  readonly version: number;
  /** The latest readings by timestamp, at most the window size, oldest first. */
  readonly readings: readonly HistoricalReading[];
  /** The event whose readings were merged last. */
  readonly appliedEventId: string;
  /** The readings of the window before that event which its readings pushed out, oldest first. */
  readonly pushedOut: readonly HistoricalReading[];
}

/** The readings of one `ReadingRecorded` v2 event. */
export interface UploadToEnrich {
  readonly deviceId: string;
  /** When the ingest accepted the upload: the device's `lastReading` carries it. */
  readonly receivedAt: string;
  readonly readings: readonly {
    readonly timestamp: string;
    readonly metrics: Readonly<Record<string, number>>;
  }[];
}

/** The latest `size` readings by timestamp of both lists, each timestamp once, oldest first. */
export const mergeWindow = (
  window: readonly HistoricalReading[],
  readings: readonly HistoricalReading[],
  size: number,
): HistoricalReading[] => {
  const byInstant = new Map<number, HistoricalReading>();
  for (const reading of [...window, ...readings]) {
    byInstant.set(Date.parse(reading.timestamp), { timestamp: reading.timestamp, metrics: reading.metrics });
  }
  return [...byInstant.entries()]
    .sort(([a], [b]) => a - b)
    .slice(-size)
    .map(([, reading]) => reading);
};

/**
 * Derives every reading of an upload, in time order, against the window and the upload's own
 * earlier readings: the result for each reading is what {@link deriveEnrichment} gives it with
 * those as history. Answers the enriched readings (in the upload's order) and the next window.
 */
export const deriveUpload = (
  upload: Pick<UploadToEnrich, 'deviceId' | 'readings'>,
  window: readonly HistoricalReading[],
  size: number = DEFAULT_WINDOW,
): { enriched: EnrichedReading[]; window: HistoricalReading[] } => {
  const history = mergeWindow(window, upload.readings, Number.POSITIVE_INFINITY);
  return {
    enriched: upload.readings.map((reading) =>
      deriveEnrichment({ ...reading, deviceId: upload.deviceId }, history, { window: size }),
    ),
    window: mergeWindow(window, upload.readings, size),
  };
};

const instantsOf = (readings: readonly HistoricalReading[]): Set<number> =>
  new Set(readings.map((reading) => Date.parse(reading.timestamp)));

/**
 * The window as it was before `upload` was merged into `stored` (whose `appliedEventId` is the
 * upload's event), as far as deriving the upload again needs it: the stored readings without the
 * upload's, with those the upload pushed out. A reading of the upload the window already held (one
 * announced again) is left out too, which changes nothing: {@link deriveUpload} merges the upload's
 * own readings into the history.
 */
export const windowBefore = (
  stored: EnrichmentWindow,
  upload: Pick<UploadToEnrich, 'readings'>,
): HistoricalReading[] => {
  const brought = instantsOf(upload.readings);
  const kept = stored.readings.filter((reading) => !brought.has(Date.parse(reading.timestamp)));
  return mergeWindow(kept, stored.pushedOut, Number.POSITIVE_INFINITY);
};

/** The window after an event, with what a retry of the event needs to find `base` again. */
const windowAfter = (
  base: readonly HistoricalReading[],
  next: readonly HistoricalReading[],
  eventId: string,
  version: number,
): EnrichmentWindow => {
  const inNext = instantsOf(next);
  return {
    version,
    readings: next,
    appliedEventId: eventId,
    pushedOut: base.filter((reading) => !inNext.has(Date.parse(reading.timestamp))),
  };
};

/**
 * The upload's newest reading as the device's `lastReading`, when it is newer than every reading
 * of the window before it (the window always keeps the device's newest reading); otherwise
 * undefined, and the device's `lastReading` stays as it is.
 */
const newestOf = (upload: UploadToEnrich, base: readonly HistoricalReading[]): LastReading | undefined => {
  const newest = upload.readings.reduce<(typeof upload.readings)[number] | undefined>(
    (latest, reading) =>
      latest === undefined || Date.parse(reading.timestamp) > Date.parse(latest.timestamp) ? reading : latest,
    undefined,
  );
  if (newest === undefined) return undefined;
  const held = base.at(-1);
  if (held !== undefined && Date.parse(held.timestamp) >= Date.parse(newest.timestamp)) return undefined;
  return { timestamp: newest.timestamp, metrics: newest.metrics, receivedAt: upload.receivedAt };
};

/** How often another upload may move the window under us before the task gives up (and is retried). */
export const MAX_WINDOW_CONFLICTS = 5;

/** Ports of the derive use case; adapters live in `derive-handler.ts`. */
export interface DeriveDeps {
  /** The device's window as stored (strongly consistent), if it has one. */
  loadWindow(deviceId: string): Promise<EnrichmentWindow | undefined>;
  /**
   * Saves the window if its version is still `expected` (none stored when undefined), and with it,
   * in the same write, `lastReading` when the upload holds the device's newest reading; `false`
   * when the version has moved.
   */
  saveWindow(
    deviceId: string,
    next: EnrichmentWindow,
    expected: number | undefined,
    lastReading: LastReading | undefined,
  ): Promise<boolean>;
  /** Stores each reading's enrichment (the readings API then no longer shows an earlier `enrichmentError`). */
  storeEnrichments(deviceId: string, enriched: readonly EnrichedReading[]): Promise<void>;
  /** How many preceding readings make the window. */
  readonly windowSize: number;
}

/**
 * Enriches the readings of one `ReadingRecorded` v2 event (`eventId`): derives them from the
 * device's window, moves the window on (recording the device's newest reading in the same write,
 * serialized by the window's version), and writes each reading's enrichment. A retry of the same
 * event derives from the window as it was before the event, so it gives the same answer.
 *
 * Late and out-of-order readings: a reading is derived against the window readings that precede
 * it in time. The window holds the device's latest readings only, so a reading older than most of
 * it sees fewer samples than it would have on time (none when it is older than the whole window);
 * it enters the window only if it is among the latest readings.
 */
export const derive = async (
  upload: UploadToEnrich,
  eventId: string,
  deps: DeriveDeps,
): Promise<EnrichedReading[]> => {
  for (let attempt = 0; attempt < MAX_WINDOW_CONFLICTS; attempt++) {
    const stored = await deps.loadWindow(upload.deviceId);
    const replay = stored !== undefined && stored.appliedEventId === eventId;
    const base = replay ? windowBefore(stored, upload) : (stored?.readings ?? []);
    const { enriched, window } = deriveUpload(upload, base, deps.windowSize);
    const saved =
      replay ||
      (await deps.saveWindow(
        upload.deviceId,
        windowAfter(base, window, eventId, (stored?.version ?? 0) + 1),
        stored?.version,
        newestOf(upload, base),
      ));
    if (saved) {
      await deps.storeEnrichments(upload.deviceId, enriched);
      return enriched;
    }
  }
  throw new WorkflowError(
    WorkflowErrors.Transient,
    `Enrichment window of ${upload.deviceId} kept changing under us`,
  );
};
