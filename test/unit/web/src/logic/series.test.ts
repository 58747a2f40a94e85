import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  enrichPoint,
  indexOf,
  mergePoints,
  type Point,
  prunePoints,
  toChartColumns,
} from '../../../../../web/src/logic/series.ts';

const p = (t: number, value = t): Point => ({ t, value });
const times = (points: readonly Point[]) => points.map((point) => point.t);

describe('mergePoints', () => {
  it('appends readings that arrive in order', () => {
    expect(times(mergePoints([p(1), p(2)], [p(3), p(4)]))).toEqual([1, 2, 3, 4]);
  });

  it('sorts readings that arrive late or out of order into place', () => {
    expect(times(mergePoints([p(1), p(5)], [p(4), p(2), p(6)]))).toEqual([1, 2, 4, 5, 6]);
  });

  it('keeps one point per timestamp, the later value winning', () => {
    const merged = mergePoints([p(1, 10), p(2, 20)], [p(2, 21), p(2, 22), p(3, 30)]);

    expect(merged).toEqual([p(1, 10), p(2, 22), p(3, 30)]);
  });

  it('keeps the enrichment of a point when the same reading arrives again without it', () => {
    const enriched: Point = { t: 2, value: 20, enrichment: { anomaly: true, mean: 3 } };

    const merged = mergePoints([p(1), enriched], [p(2, 20)]);

    expect(merged[1]).toEqual(enriched);
  });

  it('always yields a sorted, duplicate-free series whatever the order of arrival', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 20 }), { maxLength: 6 }),
        (batches) => {
          const series = batches.reduce<Point[]>(
            (acc, batch) =>
              mergePoints(
                acc,
                batch.map((t) => p(t)),
              ),
            [],
          );
          const expected = [...new Set(batches.flat())].sort((a, b) => a - b);
          expect(times(series)).toEqual(expected);
        },
      ),
    );
  });
});

describe('enrichPoint', () => {
  it('marks the reading at that timestamp', () => {
    const points = enrichPoint([p(1), p(2), p(3)], 2, 2, { anomaly: true, zScore: 4 });

    expect(points[1]).toEqual({ t: 2, value: 2, enrichment: { anomaly: true, zScore: 4 } });
    expect(points).toHaveLength(3);
  });

  it('creates the point from the enrichment value when the reading has not arrived yet', () => {
    const points = enrichPoint([p(1), p(3)], 2, 7, { anomaly: true });

    expect(points).toEqual([p(1), { t: 2, value: 7, enrichment: { anomaly: true } }, p(3)]);
  });

  it('changes nothing when neither the reading nor a value is there', () => {
    expect(enrichPoint([p(1)], 2, undefined, { anomaly: true })).toEqual([p(1)]);
  });
});

describe('indexOf and prunePoints', () => {
  it('finds a point by exact timestamp', () => {
    const points = [p(1), p(4), p(9)];
    expect(indexOf(points, 4)).toBe(1);
    expect(indexOf(points, 5)).toBeUndefined();
  });

  it('drops only the points older than the cut-off', () => {
    expect(times(prunePoints([p(1), p(2), p(3), p(4)], 3))).toEqual([3, 4]);
    expect(times(prunePoints([p(5)], 3))).toEqual([5]);
    expect(prunePoints([p(1)], 3)).toEqual([]);
  });
});

describe('toChartColumns', () => {
  it('gives uPlot seconds, values, and anomalies only where flagged', () => {
    const columns = toChartColumns([
      { t: 1000, value: 1 },
      { t: 2000, value: 9, enrichment: { anomaly: true } },
      { t: 3000, value: 2, enrichment: { anomaly: false } },
    ]);

    expect(columns).toEqual([
      [1, 2, 3],
      [1, 9, 2],
      [null, 9, null],
    ]);
  });
});
