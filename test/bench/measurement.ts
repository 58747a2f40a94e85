import type { RecordableHistogram } from 'node:perf_hooks';

/** Latency percentiles in milliseconds, measured with microsecond resolution. */
export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

/** One row of the bench's table: a target loaded at concurrency C for a measured span. */
export interface Measurement {
  readonly label: string;
  readonly durationSeconds: number;
  /** Calls answered in the measured span (HTTP responses, PutItem answers). */
  readonly requests: number;
  /** Readings (or items) those calls carried and the target accepted. */
  readonly items: number;
  readonly requestsPerSecond: number;
  readonly itemsPerSecond: number;
  readonly latency: LatencySummary;
  /** Answers that were not the expected success (non-2xx, failed conditional puts). */
  readonly failures: number;
  /** Of `failures`, answers 429 Too Many Requests (a throttle: the stage's, or Lambda's); absent where none can be. */
  readonly throttled?: number;
  /** Transport errors and timeouts. */
  readonly errors: number;
  /** CPU time the main thread (server side: local cloud, bare server) spent in the measured span. */
  readonly mainCpuMs: number | undefined;
}

/** Latency summary of a histogram whose values are microseconds. */
export const latencyOf = (histogram: RecordableHistogram): LatencySummary => {
  if (histogram.count === 0) return { p50Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0 };
  return {
    p50Ms: histogram.percentile(50) / 1000,
    p99Ms: histogram.percentile(99) / 1000,
    meanMs: histogram.mean / 1000,
    maxMs: histogram.max / 1000,
  };
};

/** Records a duration given in milliseconds into a microsecond histogram. */
export const recordMs = (histogram: RecordableHistogram, ms: number): void => {
  histogram.record(Math.max(1, Math.round(ms * 1000)));
};

export const measurement = (
  fields: Omit<Measurement, 'requestsPerSecond' | 'itemsPerSecond'>,
): Measurement => ({
  ...fields,
  requestsPerSecond: fields.durationSeconds > 0 ? fields.requests / fields.durationSeconds : 0,
  itemsPerSecond: fields.durationSeconds > 0 ? fields.items / fields.durationSeconds : 0,
});
