/**
 * Where a device's REST catch-up starts after a (re)subscription. Pushes are lost while the
 * WebSocket is down, so the chart asks the REST API for everything from the newest timestamp it
 * had before the disconnect, minus an overlap: devices post buffered batches whose timestamps are
 * slightly in the past, and the series merge drops whatever arrives twice.
 */
export const BACKFILL_OVERLAP_MS = 2 * 60 * 1000;

export interface BackfillWindow {
  /** ISO start of the query (`from`); the query is open-ended so late and future-skewed readings come too. */
  readonly from: string;
}

/**
 * The `from` of the catch-up query: the last timestamp seen minus the overlap, but never before the
 * start of the chosen range (older readings would not be drawn anyway). With nothing seen yet it is
 * the range start, i.e. a full history load.
 */
export const backfillWindow = (
  lastSeenMs: number | undefined,
  rangeStartMs: number,
  overlapMs: number = BACKFILL_OVERLAP_MS,
): BackfillWindow => {
  const from = lastSeenMs === undefined ? rangeStartMs : Math.max(rangeStartMs, lastSeenMs - overlapMs);
  return { from: new Date(from).toISOString() };
};
