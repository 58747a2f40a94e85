import { describe, expect, it } from 'vitest';
import {
  customRangeProblem,
  fromLocalInput,
  PRESETS,
  rangeFromQuery,
  rangeToQuery,
  sameRange,
  spanOf,
  toLocalInput,
  windowOf,
} from '../../../../../web/src/logic/time-range.ts';

const now = Date.parse('2026-11-23T12:00:00.000Z');

describe('the charts time range', () => {
  it('offers 15 min to 30 days, each ending now', () => {
    expect(Object.keys(PRESETS)).toEqual(['15m', '1h', '6h', '24h', '7d', '30d']);
    expect(windowOf({ preset: '30d' }, now)).toEqual([now - 30 * 86_400_000, now]);
    expect(spanOf({ preset: '6h' })).toBe(6 * 3_600_000);
  });

  it('keeps a custom range fixed, whatever the clock says', () => {
    const range = { from: Date.parse('2026-10-01T00:00:00Z'), to: Date.parse('2026-10-08T00:00:00Z') };

    expect(windowOf(range, now)).toEqual([range.from, range.to]);
    expect(windowOf(range, now + 3_600_000)).toEqual([range.from, range.to]);
  });

  it('round-trips presets and custom ranges through the address, keeping its other parameters', () => {
    const custom = { from: Date.parse('2026-10-01T00:00:00Z'), to: Date.parse('2026-10-08T06:30:00Z') };

    const query = rangeToQuery(custom, '?range=7d&lang=en');

    expect(query).toBe('?lang=en&from=2026-10-01T00%3A00%3A00.000Z&to=2026-10-08T06%3A30%3A00.000Z');
    expect(rangeFromQuery(query)).toEqual(custom);
    expect(rangeToQuery({ preset: '30d' }, query)).toBe('?lang=en&range=30d');
    expect(rangeFromQuery('?range=30d')).toEqual({ preset: '30d' });
  });

  it('accepts times with an offset and ignores an address whose range cannot be shown', () => {
    expect(rangeFromQuery('?from=2026-10-01T02:00:00%2B02:00&to=2026-10-02T00:00:00Z')).toEqual({
      from: Date.parse('2026-10-01T00:00:00Z'),
      to: Date.parse('2026-10-02T00:00:00Z'),
    });
    for (const search of [
      '',
      '?range=2y',
      '?from=2026-10-02T00:00:00Z&to=2026-10-01T00:00:00Z',
      '?from=2026-10-01&to=2026-10-02',
      '?from=2025-01-01T00:00:00Z&to=2026-10-01T00:00:00Z',
      '?from=yesterday&to=2026-10-01T00:00:00Z',
      '?to=2026-10-01T00:00:00Z',
    ]) {
      expect(rangeFromQuery(search), search).toBeUndefined();
    }
  });

  it('says what is wrong with a custom range a person typed', () => {
    const from = Date.parse('2026-10-01T00:00:00Z');
    expect(customRangeProblem(undefined, from)).toMatch(/starts/);
    expect(customRangeProblem(from, Number.NaN)).toMatch(/ends/);
    expect(customRangeProblem(from, from)).toMatch(/end after it starts/);
    expect(customRangeProblem(from, from + 400 * 86_400_000)).toMatch(/at most a year/);
    expect(customRangeProblem(from, from + 86_400_000)).toBeUndefined();
  });

  it('tells ranges apart', () => {
    expect(sameRange({ preset: '1h' }, { preset: '1h' })).toBe(true);
    expect(sameRange({ preset: '1h' }, { from: 0, to: 3_600_000 })).toBe(false);
    expect(sameRange({ from: 0, to: 1 }, { from: 0, to: 1 })).toBe(true);
    expect(sameRange({ from: 0, to: 1 }, { from: 0, to: 2 })).toBe(false);
  });
});

describe('the custom range inputs', () => {
  it('shows and reads back local times to the minute, refusing what is not a time', () => {
    const ms = Date.parse('2026-10-01T08:45:00Z');

    expect(fromLocalInput(toLocalInput(ms))).toBe(ms);
    expect(toLocalInput(ms)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    for (const value of ['', '2026-10-01', '2026-13-01T00:00', '2026-02-30T10:00', 'soon']) {
      expect(fromLocalInput(value), value).toBeUndefined();
    }
  });
});
