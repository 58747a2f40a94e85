import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WINDOW,
  type EnrichmentWindow,
  type HistoricalReading,
} from '../../../../handlers/enrichment/derive.ts';
import { fromWindowItem, toWindowItem, WindowItem } from '../../../../handlers/enrichment/window-item.ts';
import { MAX_METRICS } from '../../../../schemas/common.ts';
import { valueSize } from '../../../../tools/cost/dynamo-size.ts';

const BASE = Date.parse('2026-11-23T10:00:00.000Z');
const minute = (minutes: number): string => new Date(BASE + minutes * 60_000).toISOString();

/** Readings a minute apart of three metrics, as a typical device sends them. */
const typical = (from: number, count: number): HistoricalReading[] =>
  Array.from({ length: count }, (_, i) => ({
    timestamp: minute(from + i),
    metrics: { temperature: (214 + i) / 10, humidity: 48 + (i % 5), pressure: 1013.25 },
  }));

const windowOf = (readings: HistoricalReading[], pushedOut: HistoricalReading[]): EnrichmentWindow => ({
  version: 42,
  readings,
  appliedEventId: '0f8e7a52-6c1b-4d3e-9a7f-2b5c8d1e4f60',
  pushedOut,
});

describe('window item', () => {
  it('gives back the window it stored, metrics missing from some readings included', () => {
    const readings = [
      ...typical(0, 3),
      { timestamp: minute(3), metrics: { battery: 3.7 } },
      { timestamp: minute(4), metrics: { temperature: -4.5, battery: 0 } },
    ];
    const window = windowOf(readings, typical(-2, 2));

    const item = WindowItem.parse(toWindowItem(window));

    expect(fromWindowItem(item)).toEqual(window);
  });

  it('keeps the instant of a timestamp sent with an offset, in UTC', () => {
    const window = windowOf([{ timestamp: '2026-11-23T11:15:00.250+01:00', metrics: { t: 1 } }], []);

    const [reading] = fromWindowItem(toWindowItem(window)).readings;

    expect(reading?.timestamp).toBe('2026-11-23T10:15:00.250Z');
  });

  it('refuses a stored window whose metric columns do not match its instants', () => {
    const item = { ...toWindowItem(windowOf(typical(0, 2), [])), values: { temperature: [1] } };

    expect(WindowItem.safeParse(item).success).toBe(false);
  });

  it('keeps a full window of a typical device, and the readings an upload pushed out, well under 1 KB', () => {
    const oneIn = toWindowItem(windowOf(typical(1, DEFAULT_WINDOW), typical(0, 1)));
    const wholeWindowOut = toWindowItem(
      windowOf(typical(DEFAULT_WINDOW, DEFAULT_WINDOW), typical(0, DEFAULT_WINDOW)),
    );

    expect(valueSize(oneIn)).toBeLessThan(400);
    expect(valueSize(wholeWindowOut)).toBeLessThan(600);
  });

  it('stays far below the 400 KB item limit when every reading carries the most metrics, all of them different', () => {
    const distinct = (prefix: string) => (reading: HistoricalReading, r: number) => ({
      ...reading,
      metrics: Object.fromEntries(
        Array.from({ length: MAX_METRICS }, (_, m) => [
          `${prefix}${r}_${m}_`.padEnd(64, 'x'),
          Number.MAX_SAFE_INTEGER - m,
        ]),
      ),
    });
    const window = windowOf(
      typical(DEFAULT_WINDOW, DEFAULT_WINDOW).map(distinct('a')),
      typical(0, DEFAULT_WINDOW).map(distinct('b')),
    );

    expect(valueSize(toWindowItem(window))).toBeLessThan(200 * 1024);
  });
});
