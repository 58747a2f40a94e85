/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago", "never". */
export const formatRelative = (thenMs: number | undefined, nowMs: number): string => {
  if (thenMs === undefined) return 'never';
  const seconds = Math.round((nowMs - thenMs) / 1000);
  if (seconds < -5) return 'in the future';
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
};

/** A reading's value with at most 3 significant decimals, never in exponent form for sensor ranges. */
export const formatValue = (value: number | null | undefined, unit?: string): string => {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  const text = Number(value.toFixed(digits)).toString();
  return unit ? `${text} ${unit}` : text;
};

/** Local wall-clock time with seconds, e.g. "14:05:09". */
export const formatClock = (ms: number): string => {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
};

/**
 * A metric name in words: "inletTemp" → "Inlet temp". A last word that only repeats the unit is
 * dropped ("powerKw" with unit "kW" → "Power"), since the unit is shown next to the value.
 */
export const metricLabel = (name: string, unit?: string): string => {
  const words = name
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .trim()
    .split(/\s+/);
  if (words.length > 1 && unit && words.at(-1)?.toLowerCase() === unit.toLowerCase()) words.pop();
  const text = words.join(' ').toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
};

/** An alarm's rule in words: "Temperature above 30 °C", "Inlet temp outside 10–35 °C". */
export const alarmRule = (
  alarm: { metric: string; above?: number; below?: number },
  unit?: string,
): string => {
  const name = metricLabel(alarm.metric, unit);
  const u = unit ? ` ${unit}` : '';
  if (alarm.above !== undefined && alarm.below !== undefined)
    return `${name} outside ${formatValue(alarm.below)}–${formatValue(alarm.above)}${u}`;
  if (alarm.above !== undefined) return `${name} above ${formatValue(alarm.above)}${u}`;
  if (alarm.below !== undefined) return `${name} below ${formatValue(alarm.below)}${u}`;
  return name;
};

/** How an alarm state reads on screen. */
export const ALARM_STATE_LABELS = {
  OK: 'OK',
  ALARM: 'Alarm',
  INSUFFICIENT_DATA: 'Insufficient data',
} as const;

/** The same, where space is short (the device list's badge). */
export const ALARM_STATE_SHORT_LABELS = {
  OK: 'OK',
  ALARM: 'Alarm',
  INSUFFICIENT_DATA: 'No data',
} as const;

/** How a device status reads on screen. */
export const STATUS_LABELS = { online: 'Online', silent: 'Silent', never: 'No data yet' } as const;
