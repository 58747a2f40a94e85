import { describe, expect, it } from 'vitest';
import { COMMITTED_WORKLOAD, measure } from '../../tools/cost/measure.ts';
import { drift, loadMeasuredUnits } from '../../tools/cost/measured.ts';

/**
 * The committed units (`tools/cost/measured-units.json`) are what the code does now: a small
 * workload re-measured through the local cloud gives the same units per upload, within 10 %, in
 * every scenario. When the code changes what an upload costs, `npm run cost:measure` regenerates
 * the file.
 */
const TOLERANCE = 0.1;
/**
 * The readings table's reads race with the workflow: the derive step queries the readings before
 * each one, and they weigh more once their own enrichment is written. Measured 7.25..9.5 RRU per
 * upload of 10 across runs; held to 25 % until the upload redesign drops that Query.
 */
const RACING_UNITS: Readonly<Record<string, number>> = {
  'dynamodb/rru/sensorbus-readings': 0.25,
  /**
   * The rollups consumer is also invoked for the readings' MODIFY records (enrichment written),
   * which it skips; how those batch depends on the machine's speed (2..2.5 per upload of 10). An
   * event source mapping filter on INSERT would make it one invocation per batch of new readings.
   */
  'lambda/invocations/rollups': 0.25,
};

describe('the measured units the cost model prices', () => {
  it('are what the code does now (within 10 %): npm run cost:measure regenerates them', async () => {
    const committed = loadMeasuredUnits();
    const now = await measure(COMMITTED_WORKLOAD);
    const drifted: string[] = [];
    for (const scenario of now.scenarios) {
      const before = committed.scenarios.find(
        (s) => s.batch === scenario.batch && s.watchers === scenario.watchers,
      );
      if (!before) {
        drifted.push(`${scenario.name}: not in the committed file`);
        continue;
      }
      for (const [unit, d] of Object.entries(drift(before.perUpload, scenario.perUpload)))
        if (d > (RACING_UNITS[unit] ?? TOLERANCE))
          drifted.push(
            `${scenario.name}: ${unit} ${before.perUpload[unit] ?? 0} → ${scenario.perUpload[unit] ?? 0} per upload`,
          );
    }
    expect(drifted, 'units drifted from tools/cost/measured-units.json: run npm run cost:measure').toEqual(
      [],
    );
  }, 900_000);
});
