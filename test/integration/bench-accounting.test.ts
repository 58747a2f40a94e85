import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHourKey } from '../../handlers/lib/hour-items.ts';
import { buses, tables } from '../../infra/topology.ts';
import { type AccountingArgs, accountFor, tapBus } from '../bench/accounting.ts';
import { readingAt } from '../bench/readings.ts';
import { startTestCloud, storedItems, type TestCloud } from '../support/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t.stop();
});

/** Readings posted in uploads of 100, a second apart in one hour: more than its hour item packs, so the rest are reading items. */
const UPLOADS = 3;
const BATCH = 100;

/** The start of an hour more than a day ago: each test posts into an hour of its own. */
const hourAgo = (hours: number) => (Math.floor(Date.now() / 3_600_000) - 24 - hours) * 3_600_000;

/** Posts readings of a device in uploads of 100; answers the timestamps accepted. */
const post = async (deviceId: string, epochMs: number): Promise<string[]> => {
  const apiKey = await t.registerDevice(deviceId, {
    metrics: { temperature: { unit: '°C' }, humidity: { unit: '%' } },
  });
  const accepted: string[] = [];
  for (let upload = 0; upload < UPLOADS; upload++) {
    const readings = Array.from({ length: BATCH }, (_, i) => {
      const index = upload * BATCH + i;
      return {
        ...readingAt(deviceId, epochMs, index),
        timestamp: new Date(epochMs + index * 1000).toISOString(),
      };
    });
    const response = await t.api('/readings', { method: 'POST', apiKey, json: { readings } });
    expect(response.status).toBe(202);
    const { results } = (await response.json()) as { results: { timestamp: string; duplicate: boolean }[] };
    for (const result of results) if (!result.duplicate) accepted.push(result.timestamp);
  }
  return accepted;
};

/** The idle probe the bench gives the accounting: no function running, the readings stream drained. */
const idle = () => t.cloud.lambda.inFlight === 0 && t.cloud.streamConsumers.idle();

const accountOf = (args: Pick<AccountingArgs, 'telemetry' | 'ingest'>) =>
  accountFor({
    edge: t.cloud,
    store: { deviceId: 'bench-accounting-no-store', storedItems: 0 },
    idle,
    settleMs: 60_000,
    ...args,
  });

describe('the bench accounting', () => {
  it('counts readings, not items or events: an unwatched device packed by the hour, none lost or duplicated', async () => {
    const telemetry = tapBus(t.cloud.events, buses.telemetry.name);
    try {
      const deviceId = 'bench-accounting-packed';
      const accepted = await post(deviceId, hourAgo(0));
      // Taken at once: the readings are announced from the stream after their answers.
      const accounting = await accountOf({ telemetry, ingest: [{ deviceId, acceptedTimestamps: accepted }] });

      const items = await storedItems(t.cloud, tables.readings.name, 'deviceId', deviceId);
      // The hour item packed some readings and the rest are items of their own: both kinds are counted.
      expect(items.filter((item) => isHourKey(String(item.timestamp)))).toHaveLength(1);
      expect(items.length).toBeGreaterThan(1);
      expect(items.length).toBeLessThan(UPLOADS * BATCH);
      expect(accounting.devices).toEqual([
        {
          deviceId,
          accepted: UPLOADS * BATCH,
          stored: UPLOADS * BATCH,
          announced: UPLOADS * BATCH,
          lost: 0,
          duplicated: 0,
          repeatedEvents: 0,
          storedUnacknowledged: 0,
          unannounced: 0,
        },
      ]);
      expect(accounting).toMatchObject({ lost: 0, duplicated: 0, unannounced: 0, malformedEvents: 0 });
      expect(accounting.settled).toBe(true);
    } finally {
      telemetry.stop();
    }
  }, 120_000);

  it('reports a reading acknowledged but not stored, stored but not announced, or announced twice', async () => {
    const telemetry = tapBus(t.cloud.events, buses.telemetry.name);
    const deviceId = 'bench-accounting-faults';
    let accepted: string[];
    try {
      accepted = await post(deviceId, hourAgo(1));
      await accountOf({ telemetry, ingest: [{ deviceId, acceptedTimestamps: accepted }] });
    } finally {
      telemetry.stop();
    }
    const announcements = [...telemetry.events];
    const first = announcements.find(
      (event) => (event.detail.data as { deviceId?: string }).deviceId === deviceId,
    );
    if (!first) throw new Error('no ReadingRecorded of the device was tapped');
    const inFirst = (first.detail.data as { readings: unknown[] }).readings.length;

    // A reading answered 202 that the table does not hold.
    const neverStored = new Date(Date.parse(accepted.at(-1) ?? '') + 1).toISOString();
    const notStored = await accountOf({
      telemetry: { events: announcements },
      ingest: [{ deviceId, acceptedTimestamps: [...accepted, neverStored] }],
    });
    expect(notStored.devices[0]).toMatchObject({ accepted: UPLOADS * BATCH + 1, lost: 1, unannounced: 0 });

    // The bus never saw the first event: its readings are stored, acknowledged and lost.
    const unannounced = await accountOf({
      telemetry: { events: announcements.filter((event) => event !== first) },
      ingest: [{ deviceId, acceptedTimestamps: accepted }],
    });
    expect(unannounced.devices[0]).toMatchObject({ lost: inFirst, unannounced: inFirst, duplicated: 0 });
    expect(unannounced.lost).toBe(inFirst);

    // The first event delivered twice: each of its readings is duplicated, by the same eventId.
    const repeated = await accountOf({
      telemetry: { events: [...announcements, first] },
      ingest: [{ deviceId, acceptedTimestamps: accepted }],
    });
    expect(repeated.devices[0]).toMatchObject({ lost: 0, duplicated: inFirst, repeatedEvents: inFirst });
  }, 120_000);
});
