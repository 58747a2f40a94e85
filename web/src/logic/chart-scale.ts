/** A horizontal alarm line on a chart. */
export interface Threshold {
  readonly value: number;
  readonly kind: 'above' | 'below';
  readonly severity: 'warning' | 'critical';
}

/**
 * The y range of a metric chart: the data with 10 % headroom, widened to show the device's alarm
 * thresholds when they are near (within the data's own span again), so a person sees how close a
 * value is to alarming without a far-away threshold squashing the line flat.
 */
export const yRange = (
  dataMin: number | null | undefined,
  dataMax: number | null | undefined,
  thresholds: readonly Threshold[],
): [number, number] => {
  const values = thresholds.map((t) => t.value);
  if (dataMin === null || dataMin === undefined || dataMax === null || dataMax === undefined) {
    if (values.length === 0) return [0, 1];
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const pad = Math.max((hi - lo) * 0.2, Math.abs(hi) * 0.1, 1);
    return [lo - pad, hi + pad];
  }
  let lo = dataMin;
  let hi = dataMax;
  const span = Math.max(hi - lo, Math.abs(hi) * 0.02, 0.1);
  for (const value of values) {
    if (value < lo && lo - value <= span * 1.5) lo = value;
    if (value > hi && value - hi <= span * 1.5) hi = value;
  }
  const pad = Math.max((hi - lo) * 0.1, span * 0.1);
  return [lo - pad, hi + pad];
};

/** A device's alarm thresholds on one metric. */
export const thresholdsOf = (
  alarms: readonly { metric: string; above?: number; below?: number; severity: 'warning' | 'critical' }[],
  metric: string,
): Threshold[] =>
  alarms
    .filter((alarm) => alarm.metric === metric)
    .flatMap((alarm) => [
      ...(alarm.above !== undefined
        ? [{ value: alarm.above, kind: 'above' as const, severity: alarm.severity }]
        : []),
      ...(alarm.below !== undefined
        ? [{ value: alarm.below, kind: 'below' as const, severity: alarm.severity }]
        : []),
    ]);

/** The narrowest time window a chart shows, so a device that just started is not a single dot. */
export const MIN_WINDOW_MS = 60 * 1000;

/**
 * The time window a device's charts show: the chosen range, or less when the device's data begins
 * later than the range does (a fresh device), so its first minutes are readable rather than a
 * sliver at the right edge. Never narrower than {@link MIN_WINDOW_MS}.
 */
export const visibleWindow = (
  nowMs: number,
  rangeMs: number,
  firstPointMs: number | undefined,
  minWindowMs: number = MIN_WINDOW_MS,
): [number, number] => {
  const rangeStart = nowMs - rangeMs;
  if (firstPointMs === undefined || firstPointMs <= rangeStart) return [rangeStart, nowMs];
  const padded = firstPointMs - (nowMs - firstPointMs) * 0.05;
  return [Math.max(rangeStart, Math.min(padded, nowMs - minWindowMs)), nowMs];
};

/** Tick labels of a time axis (seconds since the epoch): seconds only when ticks are under a minute apart, the date when the window spans days. */
export const timeTickLabels = (splits: readonly number[], spanSeconds: number): string[] => {
  const step = splits.length > 1 ? (splits[1] ?? 0) - (splits[0] ?? 0) : 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}${step < 60 ? `:${pad(d.getSeconds())}` : ''}`;
    return spanSeconds > 20 * 3600 && d.getHours() === 0 && d.getMinutes() === 0
      ? `${d.getDate()} ${d.toLocaleString('en', { month: 'short' })}`
      : clock;
  });
};
