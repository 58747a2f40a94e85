/** Whether a device is reporting, judged against the interval it promised when registered. */
export type DeviceStatus = 'online' | 'silent' | 'never';

/** How many missed intervals make a device silent. */
export const SILENT_AFTER_INTERVALS = 3;

/** Assumed when a device was registered without `expectedIntervalSeconds`. */
export const DEFAULT_EXPECTED_INTERVAL_SECONDS = 60;

/**
 * `online` while the last reading is within 3 × the device's expected interval, `silent` after,
 * `never` when it has not reported at all.
 */
export const deviceStatus = (
  lastSeenMs: number | undefined,
  expectedIntervalSeconds: number | undefined,
  nowMs: number,
): DeviceStatus => {
  if (lastSeenMs === undefined) return 'never';
  const interval = expectedIntervalSeconds ?? DEFAULT_EXPECTED_INTERVAL_SECONDS;
  return nowMs - lastSeenMs <= SILENT_AFTER_INTERVALS * interval * 1000 ? 'online' : 'silent';
};

/** The later of two optional instants. */
export const latest = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/** Epoch milliseconds of an RFC 3339 time, or undefined when it is not one. */
export const parseTime = (value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
};

export type AlarmStateName = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** The worst of a device's alarm states, for one badge in the device list. */
export const worstAlarmState = (states: readonly AlarmStateName[]): AlarmStateName | undefined => {
  if (states.includes('ALARM')) return 'ALARM';
  if (states.includes('INSUFFICIENT_DATA')) return 'INSUFFICIENT_DATA';
  return states.length > 0 ? 'OK' : undefined;
};
