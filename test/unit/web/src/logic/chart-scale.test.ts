import { describe, expect, it } from 'vitest';
import {
  thresholdsOf,
  timeTickLabels,
  visibleWindow,
  yRange,
} from '../../../../../web/src/logic/chart-scale.ts';

describe('yRange', () => {
  it('pads the data', () => {
    const [lo, hi] = yRange(10, 20, []);
    expect(lo).toBeLessThan(10);
    expect(hi).toBeGreaterThan(20);
  });

  it('widens to a threshold near the data, not to one far away', () => {
    const near = thresholdsOf([{ metric: 't', above: 25, severity: 'warning' }], 't');
    const far = thresholdsOf([{ metric: 't', above: 500, severity: 'warning' }], 't');

    expect(yRange(10, 20, near)[1]).toBeGreaterThan(25);
    expect(yRange(10, 20, far)[1]).toBeLessThan(30);
  });

  it('has a range without data', () => {
    expect(yRange(null, null, [])).toEqual([0, 1]);
  });
});

describe('visibleWindow', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  const range = 15 * 60_000;

  it('shows the whole range when data covers it', () => {
    expect(visibleWindow(now, range, now - range - 1)).toEqual([now - range, now]);
    expect(visibleWindow(now, range, undefined)).toEqual([now - range, now]);
  });

  it('narrows to a fresh device’s data, but never below a minute', () => {
    expect(visibleWindow(now, range, now - 10_000)).toEqual([now - 60_000, now]);
    const [start] = visibleWindow(now, range, now - 10 * 60_000);
    expect(start).toBe(now - 10 * 60_000 - 30_000);
  });
});

describe('timeTickLabels', () => {
  it('shows minutes, and seconds when ticks are closer than a minute', () => {
    const base = new Date(2026, 10, 23, 14, 5, 0).getTime() / 1000;
    expect(timeTickLabels([base, base + 300], 900)).toEqual(['14:05', '14:10']);
    expect(timeTickLabels([base, base + 30], 120)).toEqual(['14:05:00', '14:05:30']);
  });
});
