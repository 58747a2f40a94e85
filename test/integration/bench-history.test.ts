import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tables } from '../../infra/topology.ts';
import { measureHistoryLoad } from '../bench/history.ts';
import { startTestCloud, storedItems, type TestCloud } from '../support/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t.stop();
});

describe('the bench history load', () => {
  it('seeds a device nobody watches as ingest stores it, packed by the hour, and reads every reading back', async () => {
    const hours = 3;
    const run = await measureHistoryLoad(t, { days: hours / 24, intervalSeconds: 10, progress: () => {} });

    const items = await storedItems(t.cloud, tables.readings.name, 'deviceId', 'bench-history');
    // 360 readings an hour, past an hour item's budget: each hour is one hour item and reading items.
    expect(run.readings).toBe(hours * 360);
    expect(run.stored).toEqual({ items: items.length, hourItems: hours });
    expect(items.length).toBeLessThan(run.readings);
    const raw = run.loads.find((load) => load.what === 'raw readings');
    expect(raw?.items).toBe(run.readings);
    const hourly = run.loads.find((load) => load.what === 'aggregates, 1 h buckets');
    expect(hourly?.items).toBe(hours);
  }, 120_000);
});
