import { describe, expect, it } from 'vitest';
import {
  applyEnriched,
  applyReadings,
  firstTimestamp,
  lastSeenOf,
  lastTimestamp,
  pruneSeries,
} from '../../../../../web/src/logic/device-series.ts';

const at = (iso: string) => Date.parse(iso);

describe('device series', () => {
  it('splits readings into one series per metric, sorted and deduplicated', () => {
    const series = applyReadings({}, [
      { deviceId: 'd', timestamp: '2026-11-23T10:00:02Z', metrics: { t: 2, h: 20 } },
      { deviceId: 'd', timestamp: '2026-11-23T10:00:01Z', metrics: { t: 1 } },
      { deviceId: 'd', timestamp: '2026-11-23T11:00:02+01:00', metrics: { t: 2.5 } },
    ]);

    expect(series.t).toEqual([
      { t: at('2026-11-23T10:00:01Z'), value: 1 },
      { t: at('2026-11-23T10:00:02Z'), value: 2.5 },
    ]);
    expect(series.h).toHaveLength(1);
    expect(lastTimestamp(series)).toBe(at('2026-11-23T10:00:02Z'));
    expect(firstTimestamp(series)).toBe(at('2026-11-23T10:00:01Z'));
  });

  it('keeps the enrichment that history items carry', () => {
    const series = applyReadings({}, [
      {
        deviceId: 'd',
        timestamp: '2026-11-23T10:00:00Z',
        metrics: { t: 9 },
        enrichment: { t: { anomaly: true, mean: 2, zScore: 3.5, value: 9 } },
      },
    ]);

    expect(series.t?.[0]).toEqual({
      t: at('2026-11-23T10:00:00Z'),
      value: 9,
      enrichment: { anomaly: true, mean: 2, zScore: 3.5 },
    });
  });

  it('marks the anomaly of a ReadingEnriched push, before or after its reading arrives', () => {
    const enriched = {
      deviceId: 'd',
      timestamp: '2026-11-23T10:00:00Z',
      metrics: { t: { value: 9, anomaly: true, mean: 2 } },
    };
    const early = applyReadings(applyEnriched({}, enriched), [
      { deviceId: 'd', timestamp: '2026-11-23T10:00:00Z', metrics: { t: 9 } },
    ]);
    const late = applyEnriched(
      applyReadings({}, [{ deviceId: 'd', timestamp: '2026-11-23T10:00:00Z', metrics: { t: 9 } }]),
      enriched,
    );

    expect(early).toEqual(late);
    expect(late.t?.[0]?.enrichment).toEqual({ anomaly: true, mean: 2 });
  });

  it('knows when the device was last heard from, preferring receivedAt', () => {
    expect(
      lastSeenOf([
        {
          deviceId: 'd',
          timestamp: '2026-11-23T09:00:00Z',
          metrics: { t: 1 },
          receivedAt: '2026-11-23T10:00:00Z',
        },
        { deviceId: 'd', timestamp: '2026-11-23T09:30:00Z', metrics: { t: 1 } },
      ]),
    ).toBe(at('2026-11-23T10:00:00Z'));
    expect(lastSeenOf([])).toBeUndefined();
  });

  it('prunes every metric to the window', () => {
    const series = applyReadings({}, [
      { deviceId: 'd', timestamp: '2026-11-23T10:00:00Z', metrics: { t: 1, h: 1 } },
      { deviceId: 'd', timestamp: '2026-11-23T10:05:00Z', metrics: { t: 2, h: 2 } },
    ]);

    const pruned = pruneSeries(series, at('2026-11-23T10:01:00Z'));

    expect(pruned.t).toHaveLength(1);
    expect(pruned.h).toHaveLength(1);
  });
});
