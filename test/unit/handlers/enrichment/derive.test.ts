import { describe, expect, it } from 'vitest';
import {
  ANOMALY_MIN_SAMPLES,
  ANOMALY_Z_SCORE,
  DEFAULT_WINDOW,
  type DeriveDeps,
  derive,
  deriveEnrichment,
  deriveUpload,
  type EnrichedReading as EnrichedReadingData,
  type EnrichmentWindow,
  type HistoricalReading,
  MAX_WINDOW_CONFLICTS,
} from '../../../../handlers/enrichment/derive.ts';
import { readingIdOf } from '../../../../handlers/lib/ids.ts';
import { WorkflowErrors } from '../../../../handlers/lib/workflow-errors.ts';
import type { LastReading } from '../../../../schemas/device.ts';
import { EnrichedReading } from '../../../../schemas/events.ts';

const BASE = Date.parse('2026-11-23T10:00:00.000Z');
/** The instant `seconds` after 10:00:00Z. */
const at = (seconds: number): string => new Date(BASE + seconds * 1000).toISOString();
const minute = (minutes: number): string => at(minutes * 60);

/** One reading a minute from 10:00, carrying `t`. */
const everyMinute = (values: readonly number[]): HistoricalReading[] =>
  values.map((t, index) => ({ timestamp: minute(index), metrics: { t } }));

const enrich = (timestamp: string, metrics: Record<string, number>, history: HistoricalReading[]) =>
  deriveEnrichment({ deviceId: 'd1', timestamp, metrics }, history);

describe('deriveEnrichment', () => {
  it('gives a device first reading its value with no history to compare against', () => {
    const result = enrich(minute(0), { t: 21.5 }, []);

    expect(result).toEqual({
      readingId: readingIdOf('d1', minute(0)),
      timestamp: minute(0),
      gapSeconds: null,
      metrics: {
        t: {
          value: 21.5,
          delta: null,
          ratePerMinute: null,
          mean: 21.5,
          stddev: 0,
          zScore: null,
          anomaly: false,
          samples: 0,
        },
      },
    });
    expect(EnrichedReading.parse(result)).toEqual(result);
  });

  it('computes delta and rate against the previous reading across an irregular gap', () => {
    // 10:00:00 t=20, 10:00:30 t=21, then 10:02:00 t=24 (90 s after the previous one).
    const history = [
      { timestamp: at(0), metrics: { t: 20 } },
      { timestamp: at(30), metrics: { t: 21 } },
    ];

    const result = enrich(at(120), { t: 24 }, history);

    // delta = 24 - 21 = 3; gap = 90 s = 1.5 min; rate = 3 / 1.5 = 2 per minute
    // mean = (20 + 21) / 2 = 20.5; variance = (0.5² + 0.5²) / 2 = 0.25; stddev = 0.5
    // z = (24 - 20.5) / 0.5 = 7, but 2 samples < 6: no anomaly
    expect(result.gapSeconds).toBe(90);
    expect(result.metrics.t).toEqual({
      value: 24,
      delta: 3,
      ratePerMinute: 2,
      mean: 20.5,
      stddev: 0.5,
      zScore: 7,
      anomaly: false,
      samples: 2,
    });
  });

  it.each([
    {
      name: '5 samples: a spike has a huge z-score but is not yet an anomaly',
      // mean = (10+12+11+13+12)/5 = 58/5 = 11.6
      // squares: 1.6² + 0.4² + 0.6² + 1.4² + 0.4² = 2.56 + 0.16 + 0.36 + 1.96 + 0.16 = 5.2
      // variance = 5.2 / 5 = 1.04; stddev = √1.04 = 1.01980390… → 1.0198
      // z = (30 - 11.6) / 1.01980390 = 18.4 / 1.01980390 = 18.04268… → 18.0427
      // delta = 30 - 12 = 18 over 1 min
      previous: [10, 12, 11, 13, 12],
      value: 30,
      expected: { delta: 18, ratePerMinute: 18, mean: 11.6, stddev: 1.0198, zScore: 18.0427, anomaly: false },
    },
    {
      name: '5 samples just short of the anomaly minimum',
      // mean = 55/5 = 11; squares 1+1+1+1+0 = 4; variance = 0.8; stddev = √0.8 = 0.894427…
      // z = (14 - 11) / 0.894427 = 3.35410… → 3.3541; delta = 14 - 11 = 3
      previous: [10, 12, 10, 12, 11],
      value: 14,
      expected: { delta: 3, ratePerMinute: 3, mean: 11, stddev: 0.894427, zScore: 3.3541, anomaly: false },
    },
    {
      name: '6 samples, z exactly 3: anomaly',
      // mean = 66/6 = 11; every deviation is ±1, variance = 6/6 = 1; stddev = 1
      // z = (14 - 11) / 1 = 3 ≥ 3; delta = 14 - 12 = 2
      previous: [10, 12, 10, 12, 10, 12],
      value: 14,
      expected: { delta: 2, ratePerMinute: 2, mean: 11, stddev: 1, zScore: 3, anomaly: true },
    },
    {
      name: '6 samples, z just under 3: no anomaly',
      // z = (13.9 - 11) / 1 = 2.9 < 3; delta = 13.9 - 12 = 1.9
      previous: [10, 12, 10, 12, 10, 12],
      value: 13.9,
      expected: { delta: 1.9, ratePerMinute: 1.9, mean: 11, stddev: 1, zScore: 2.9, anomaly: false },
    },
    {
      name: '6 samples, z of -3: a drop is an anomaly too',
      // z = (8 - 11) / 1 = -3, |z| ≥ 3; delta = 8 - 12 = -4
      previous: [10, 12, 10, 12, 10, 12],
      value: 8,
      expected: { delta: -4, ratePerMinute: -4, mean: 11, stddev: 1, zScore: -3, anomaly: true },
    },
  ])('$name', ({ previous, value, expected }) => {
    const result = enrich(minute(previous.length), { t: value }, everyMinute(previous));

    expect(result.metrics.t).toEqual({ value, samples: previous.length, ...expected });
    expect(result.gapSeconds).toBe(60);
  });

  it('keeps the current value out of its own mean and stddev', () => {
    const previous = [10, 12, 10, 12, 10, 12];

    const result = enrich(minute(6), { t: 1000 }, everyMinute(previous));

    // still mean 11, stddev 1 from the six previous values; z = (1000 - 11) / 1 = 989
    expect(result.metrics.t).toMatchObject({ mean: 11, stddev: 1, zScore: 989, anomaly: true, samples: 6 });
    expect(ANOMALY_Z_SCORE).toBe(3);
    expect(ANOMALY_MIN_SAMPLES).toBe(6);
  });

  it('enriches a late, out-of-order reading against the readings that precede it in time', () => {
    // Arrival order is not time order, offsets differ, later readings and the reading itself are present.
    const history = [
      { timestamp: '2026-11-23T10:10:00Z', metrics: { t: 200 } },
      { timestamp: '2026-11-23T10:00:00Z', metrics: { t: 10 } },
      { timestamp: '2026-11-23T12:05:00+02:00', metrics: { t: 15 } },
      { timestamp: '2026-11-23T10:06:00Z', metrics: { t: 100 } },
      { timestamp: '2026-11-23T11:04:00+01:00', metrics: { t: 14 } },
    ];

    const result = enrich('2026-11-23T10:05:00Z', { t: 15 }, history);

    // Only 10:00 (10) and 10:04 (14) precede 10:05.
    // delta = 15 - 14 = 1 over 60 s → 1 per minute
    // mean = (10 + 14) / 2 = 12; variance = (2² + 2²) / 2 = 4; stddev = 2; z = (15 - 12) / 2 = 1.5
    expect(result.gapSeconds).toBe(60);
    expect(result.metrics.t).toEqual({
      value: 15,
      delta: 1,
      ratePerMinute: 1,
      mean: 12,
      stddev: 2,
      zScore: 1.5,
      anomaly: false,
      samples: 2,
    });
  });

  it('uses only the last N preceding readings', () => {
    // 100, 100, 1, 3, 1, 3 at 10:00…10:05; window 4 keeps 1, 3, 1, 3
    // mean = 8/4 = 2; variance = (1+1+1+1)/4 = 1; stddev = 1; z = (5 - 2) / 1 = 3
    // 4 samples < 6: no anomaly; delta = 5 - 3 = 2
    const result = deriveEnrichment(
      { deviceId: 'd1', timestamp: minute(6), metrics: { t: 5 } },
      everyMinute([100, 100, 1, 3, 1, 3]),
      { window: 4 },
    );

    expect(result.metrics.t).toEqual({
      value: 5,
      delta: 2,
      ratePerMinute: 2,
      mean: 2,
      stddev: 1,
      zScore: 3,
      anomaly: false,
      samples: 4,
    });
  });

  it('uses a window of 12 by default', () => {
    // 1000, 1000, then 10, 12 six times: the default window keeps the last 12 (mean 11, stddev 1)
    // z = (14 - 11) / 1 = 3 with 12 samples: anomaly. With the two 1000s it would be no anomaly at all.
    const previous = [1000, 1000, 10, 12, 10, 12, 10, 12, 10, 12, 10, 12, 10, 12];

    const result = enrich(minute(previous.length), { t: 14 }, everyMinute(previous));

    expect(DEFAULT_WINDOW).toBe(12);
    expect(result.metrics.t).toMatchObject({ mean: 11, stddev: 1, zScore: 3, anomaly: true, samples: 12 });
  });

  it('refuses a window that is not a positive integer', () => {
    expect(() =>
      deriveEnrichment({ deviceId: 'd1', timestamp: minute(1), metrics: { t: 1 } }, [], { window: 0 }),
    ).toThrow(RangeError);
  });

  it('gives no z-score when the previous values never varied', () => {
    // six 5s: mean 5, stddev 0 → z undefined, however far 9 is
    const flat = enrich(minute(6), { t: 9 }, everyMinute([5, 5, 5, 5, 5, 5]));
    // six 0.1s sum to 0.6000000000000001 in floating point; they still have no spread at all
    const tenths = enrich(minute(6), { t: 0.2 }, everyMinute([0.1, 0.1, 0.1, 0.1, 0.1, 0.1]));

    expect(flat.metrics.t).toEqual({
      value: 9,
      delta: 4,
      ratePerMinute: 4,
      mean: 5,
      stddev: 0,
      zScore: null,
      anomaly: false,
      samples: 6,
    });
    expect(tenths.metrics.t).toMatchObject({ mean: 0.1, stddev: 0, zScore: null, anomaly: false });
  });

  it('handles metrics that appear in only some readings', () => {
    const history: HistoricalReading[] = [
      { timestamp: minute(0), metrics: { t: 20, h: 50 } },
      { timestamp: minute(1), metrics: { t: 21 } },
      { timestamp: minute(2), metrics: { t: 22 } },
    ];

    const result = enrich(minute(3), { t: 23, h: 53, p: 1000 }, history);

    // gap: 10:02 → 10:03, whatever metrics 10:02 carried
    expect(result.gapSeconds).toBe(60);
    // t: delta 23 - 22 = 1; mean 63/3 = 21; variance (1+0+1)/3 = 2/3; stddev = √(2/3) = 0.816496… → 0.816497
    //    z = (23 - 21) / 0.816496 = 2.449489… → 2.44949
    expect(result.metrics.t).toEqual({
      value: 23,
      delta: 1,
      ratePerMinute: 1,
      mean: 21,
      stddev: 0.816497,
      zScore: 2.44949,
      anomaly: false,
      samples: 3,
    });
    // h: previous h is at 10:00: delta 53 - 50 = 3 over 3 min → 1 per minute; one sample: mean 50, stddev 0
    expect(result.metrics.h).toEqual({
      value: 53,
      delta: 3,
      ratePerMinute: 1,
      mean: 50,
      stddev: 0,
      zScore: null,
      anomaly: false,
      samples: 1,
    });
    // p: never seen before
    expect(result.metrics.p).toEqual({
      value: 1000,
      delta: null,
      ratePerMinute: null,
      mean: 1000,
      stddev: 0,
      zScore: null,
      anomaly: false,
      samples: 0,
    });
  });

  it('rounds derived floats to 6 significant digits and keeps the value as sent', () => {
    // 21.5 - 21.4 is 0.10000000000000142 in floating point; mean (1 + 2 + 2) / 3 = 1.666… → 1.66667
    const delta = enrich(minute(1), { t: 21.5 }, everyMinute([21.4]));
    const mean = enrich(minute(3), { t: 2.123456789 }, everyMinute([1, 2, 2]));

    expect(delta.metrics.t?.delta).toBe(0.1);
    expect(mean.metrics.t?.mean).toBe(1.66667);
    expect(mean.metrics.t?.value).toBe(2.123456789);
    expect(EnrichedReading.safeParse(mean).success).toBe(true);
  });

  it('gives the same answer whatever order the history comes in', () => {
    const history = everyMinute([10, 12, 11, 13, 12, 15]);

    const forward = enrich(minute(6), { t: 14 }, history);
    const backward = enrich(minute(6), { t: 14 }, [...history].reverse());

    expect(backward).toEqual(forward);
  });
});

describe('deriveUpload', () => {
  it('derives each reading of an upload as if it had arrived alone, after the ones before it', () => {
    const window = everyMinute([20, 21, 22]);
    const third = { timestamp: minute(3), metrics: { t: 23 } };
    const fourth = { timestamp: minute(4), metrics: { t: 24 } };

    const { enriched, window: next } = deriveUpload({ deviceId: 'd1', readings: [third, fourth] }, window, 4);

    expect(enriched).toEqual([
      enrich(minute(3), { t: 23 }, window),
      deriveEnrichment({ deviceId: 'd1', ...fourth }, [...window, third], { window: 4 }),
    ]);
    expect(enriched[1]?.metrics.t).toMatchObject({ delta: 1, samples: 4 });
    expect(next.map((r) => r.metrics.t)).toEqual([21, 22, 23, 24]);
  });

  it('derives a late reading from the window readings before it, and keeps it out of a window it is too old for', () => {
    const window = everyMinute([20, 21, 22, 23]);

    const late = deriveUpload(
      { deviceId: 'd1', readings: [{ timestamp: at(90), metrics: { t: 30 } }] },
      window,
      4,
    );
    const tooOld = deriveUpload(
      { deviceId: 'd1', readings: [{ timestamp: at(-60), metrics: { t: 5 } }] },
      window,
      4,
    );

    expect(late.enriched[0]).toMatchObject({ gapSeconds: 30, metrics: { t: { delta: 9, samples: 2 } } });
    expect(late.window.map((r) => r.metrics.t)).toEqual([21, 30, 22, 23]);
    expect(tooOld.enriched[0]).toMatchObject({ gapSeconds: null, metrics: { t: { samples: 0 } } });
    expect(tooOld.window).toEqual(window);
  });
});

describe('derive', () => {
  const RECEIVED_AT = '2026-11-23T11:00:00.000Z';
  /**
   * A devices table holding one device's window and lastReading; `interferences` other uploads
   * move the window between our read and write.
   */
  const windowTable = (initial?: EnrichmentWindow, interferences = 0, windowSize = DEFAULT_WINDOW) => {
    let stored = initial;
    let lastReading: LastReading | undefined;
    let pending = interferences;
    const written: EnrichedReadingData[][] = [];
    const deps: DeriveDeps = {
      loadWindow: async () => stored,
      saveWindow: async (_deviceId, next, expected, newest) => {
        if (pending > 0) {
          pending--;
          return false;
        }
        if (stored?.version !== expected) return false;
        stored = next;
        if (newest) lastReading = newest;
        return true;
      },
      storeEnrichments: async (_deviceId, enriched) => void written.push([...enriched]),
      windowSize,
    };
    return { deps, written, stored: () => stored, lastReading: () => lastReading };
  };
  const upload = (values: readonly [number, number][]) => ({
    deviceId: 'd1',
    receivedAt: RECEIVED_AT,
    readings: values.map(([m, t]) => ({ timestamp: minute(m), metrics: { t } })),
  });
  const windowOf = (readings: HistoricalReading[], version = 1): EnrichmentWindow => ({
    version,
    readings,
    appliedEventId: 'e0',
    pushedOut: [],
  });

  it('derives from the stored window, moves it on and writes every reading, with no query of past readings', async () => {
    const { deps, written, stored } = windowTable(windowOf(everyMinute([20, 21]), 3));

    const enriched = await derive(
      upload([
        [2, 22],
        [3, 23],
      ]),
      'e1',
      deps,
    );

    expect(enriched.map((r) => r.metrics.t?.samples)).toEqual([2, 3]);
    expect(written).toEqual([enriched]);
    expect(stored()).toMatchObject({ version: 4, appliedEventId: 'e1', pushedOut: [] });
    expect(stored()?.readings.map((r) => r.metrics.t)).toEqual([20, 21, 22, 23]);
  });

  it('records the upload’s newest reading as the device’s lastReading in the window’s write, never an older one', async () => {
    const { deps, lastReading } = windowTable(windowOf(everyMinute([20, 21, 22])));

    await derive(
      upload([
        [5, 25],
        [4, 24],
      ]),
      'e1',
      deps,
    );
    const afterNewer = lastReading();
    await derive(upload([[3, 23]]), 'e2', deps);

    expect(afterNewer).toEqual({ timestamp: minute(5), metrics: { t: 25 }, receivedAt: RECEIVED_AT });
    expect(lastReading()).toEqual(afterNewer);
  });

  it('gives a retried event the answer of its first attempt, from the window as it was before it', async () => {
    const { deps, stored } = windowTable(undefined, 0, 2);
    const first = await derive(
      upload([
        [0, 10],
        [1, 11],
        [2, 12],
      ]),
      'e1',
      deps,
    );
    const windowAfter = stored();

    const retried = await derive(
      upload([
        [0, 10],
        [1, 11],
        [2, 12],
      ]),
      'e1',
      deps,
    );

    expect(retried).toEqual(first);
    expect(stored()).toEqual(windowAfter);
  });

  it('finds the window before a retried event from what it pushed out, keeping only that, not a copy of the window', async () => {
    const { deps, stored } = windowTable(windowOf(everyMinute([20, 21, 22, 23])), 0, 4);
    const late = { timestamp: at(90), metrics: { t: 30 } };
    const event = {
      ...upload([
        [5, 25],
        [4, 24],
      ]),
      readings: [...upload([[5, 25]]).readings, late, ...upload([[4, 24]]).readings],
    };

    const first = await derive(event, 'e1', deps);
    const windowAfter = stored();
    const retried = await derive(event, 'e1', deps);

    expect(windowAfter?.readings.map((r) => r.metrics.t)).toEqual([22, 23, 24, 25]);
    expect(windowAfter?.pushedOut).toEqual(everyMinute([20, 21]));
    expect(retried).toEqual(first);
    expect(first.map((r) => r.metrics.t?.samples)).toEqual([4, 2, 4]);
    expect(stored()).toEqual(windowAfter);
  });

  it('gives the same answer to a retried event holding a reading the window already had (announced again)', async () => {
    const window = everyMinute([20, 21, 22]);
    const { deps, stored } = windowTable(windowOf(window), 0, 3);
    const event = upload([
      [2, 22],
      [3, 23],
    ]);

    const first = await derive(event, 'e1', deps);
    const retried = await derive(event, 'e1', deps);

    expect(stored()?.pushedOut).toEqual(everyMinute([20]));
    expect(retried).toEqual(first);
    expect(first[1]?.metrics.t).toMatchObject({ delta: 1, samples: 3 });
  });

  it(`derives again from a fresh read when another upload moved the window, and gives up after ${MAX_WINDOW_CONFLICTS}`, async () => {
    const patient = windowTable(undefined, MAX_WINDOW_CONFLICTS - 1);
    const unlucky = windowTable(undefined, MAX_WINDOW_CONFLICTS);

    await expect(derive(upload([[0, 10]]), 'e1', patient.deps)).resolves.toHaveLength(1);
    await expect(derive(upload([[0, 10]]), 'e1', unlucky.deps)).rejects.toMatchObject({
      name: WorkflowErrors.Transient,
    });
    expect(unlucky.written).toEqual([]);
    expect(unlucky.lastReading()).toBeUndefined();
  });
});
