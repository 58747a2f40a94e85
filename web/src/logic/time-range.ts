/**
 * The time range the charts show: a preset that follows the clock ("last 7 d"), or a fixed
 * custom from/to. It lives in the page address (`?range=7d`, or `?from=…&to=…` in UTC), so a view
 * can be shared, is restored on load, and back/forward step through the ranges a person picked.
 */

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The ranges a person can pick with one click. */
export const PRESETS = {
  '15m': { label: '15 min', ms: 15 * MINUTE },
  '1h': { label: '1 h', ms: HOUR },
  '6h': { label: '6 h', ms: 6 * HOUR },
  '24h': { label: '24 h', ms: DAY },
  '7d': { label: '7 d', ms: 7 * DAY },
  '30d': { label: '30 d', ms: 30 * DAY },
} as const;
export type PresetKey = keyof typeof PRESETS;

export const DEFAULT_PRESET: PresetKey = '15m';

/** The longest custom range: a year (and a day, so a full calendar year fits). */
export const MAX_CUSTOM_MS = 366 * DAY;

export interface PresetRange {
  readonly preset: PresetKey;
}

export interface CustomRange {
  /** Epoch ms. */
  readonly from: number;
  readonly to: number;
}

export type TimeRange = PresetRange | CustomRange;

export const isPresetKey = (value: unknown): value is PresetKey =>
  typeof value === 'string' && Object.hasOwn(PRESETS, value);

export const isPreset = (range: TimeRange): range is PresetRange => 'preset' in range;

/** The window `[from, to]` (epoch ms) the range covers at `nowMs`. */
export const windowOf = (range: TimeRange, nowMs: number): [number, number] =>
  isPreset(range) ? [nowMs - PRESETS[range.preset].ms, nowMs] : [range.from, range.to];

/** How long the range is, in ms. */
export const spanOf = (range: TimeRange): number =>
  isPreset(range) ? PRESETS[range.preset].ms : range.to - range.from;

export const sameRange = (a: TimeRange, b: TimeRange): boolean =>
  isPreset(a) && isPreset(b)
    ? a.preset === b.preset
    : !isPreset(a) && !isPreset(b) && a.from === b.from && a.to === b.to;

/** An ISO time the address may carry: RFC 3339 with an offset, as the API takes it. */
const parseInstant = (text: string | null): number | undefined => {
  if (!text || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text))
    return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
};

/** Why a custom range cannot be shown, in words for the person who typed it; undefined when it can. */
export const customRangeProblem = (from: number | undefined, to: number | undefined): string | undefined => {
  if (from === undefined || !Number.isFinite(from)) return 'Choose when the range starts.';
  if (to === undefined || !Number.isFinite(to)) return 'Choose when the range ends.';
  if (to <= from) return 'The range must end after it starts.';
  if (to - from > MAX_CUSTOM_MS) return 'A range spans at most a year.';
  return undefined;
};

/**
 * The range an address carries (its query string): `range=<preset>`, or `from` and `to` (ISO).
 * Undefined when it carries none, or one that is not valid (the dashboard then uses its default).
 */
export const rangeFromQuery = (search: string): TimeRange | undefined => {
  const query = new URLSearchParams(search);
  const preset = query.get('range');
  if (isPresetKey(preset)) return { preset };
  const from = parseInstant(query.get('from'));
  const to = parseInstant(query.get('to'));
  if (from === undefined || to === undefined || customRangeProblem(from, to)) return undefined;
  return { from, to };
};

/** The query string for `range`, keeping every other parameter of `search` as it was. */
export const rangeToQuery = (range: TimeRange, search: string): string => {
  const query = new URLSearchParams(search);
  for (const name of ['range', 'from', 'to']) query.delete(name);
  if (isPreset(range)) query.set('range', range.preset);
  else {
    query.set('from', new Date(range.from).toISOString());
    query.set('to', new Date(range.to).toISOString());
  }
  return `?${query}`;
};

/** A time as a `datetime-local` input shows it: the browser's local time, to the minute. */
export const toLocalInput = (ms: number): string => {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

/** The time a `datetime-local` input holds (local time), or undefined when it is empty or not a time. */
export const fromLocalInput = (value: string): number | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return undefined;
  const [year = 0, month = 1, day = 1, hours = 0, minutes = 0] = match.slice(1).map(Number);
  const ms = new Date(year, month - 1, day, hours, minutes).getTime();
  // A date that rolled over (February 30th) reads back differently: not a time.
  return Number.isFinite(ms) && toLocalInput(ms) === value ? ms : undefined;
};
