import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses, ENRICH_DEAD_LETTERS, tables } from '../../infra/topology.ts';
import { UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import {
  edgeClientConfig,
  edgeDynamo,
  startTestCloud,
  storedReadings,
  streamDrained,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';

let t: TestCloud;
let events: EventBridgeClient;

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5, sfnRetryIntervalMs: 5 });
  events = new EventBridgeClient(edgeClientConfig(t.cloud));
});
afterAll(() => t.stop());

const minute = (n: number) => new Date(Date.UTC(2026, 10, 20, 8, n)).toISOString();

/** Posts one reading and waits until everything it set off (workflow, deliveries) has settled. */
const postAndSettle = async (
  apiKey: string,
  deviceId: string,
  at: string,
  metrics: Record<string, number>,
) => {
  const response = await t.api('/readings', {
    method: 'POST',
    apiKey,
    json: { deviceId, timestamp: at, metrics },
  });
  expect(response.status).toBe(202);
  await settle();
};

/** Waits until nothing is in flight: stream batches (the announcer), deliveries, workflows. */
const settle = async () => {
  for (let round = 0; round < 3; round++) {
    await streamDrained(t);
    await waitFor(() => !t.cloud.events.busy() && t.cloud.events.pendingCount() === 0, 'deliveries');
    await t.cloud.stepFunctions.idle();
    await t.cloud.sns.idle();
  }
};

const busEvents = (deviceId: string, detailType: string) =>
  t.busEvents.filter(
    (e) =>
      e.bus === buses.telemetry.name &&
      e.event['detail-type'] === detailType &&
      (e.event.detail.data as { deviceId?: string }).deviceId === deviceId,
  );

const alertMails = (deviceId: string) => t.cloud.sns.mail().filter((m) => m.subject.includes(deviceId));

describe('the enrich-reading workflow', () => {
  it('derives metrics against the readings that precede each one, matching hand-computed values', async () => {
    const key = await t.registerDevice('enrich-1', { metrics: { t: { unit: '°C' } } });
    const values = [10, 12, 11, 13, 12, 11, 30];
    // Posted newest first, so each reading arrives before the ones that precede it in time.
    for (const [i, v] of [...values.entries()].reverse())
      await postAndSettle(key, 'enrich-1', minute(i), { t: v });
    // Re-deliver every ReadingRecorded, now that all readings exist, as a retried stream batch or a replay would.
    const recorded = busEvents('enrich-1', 'ReadingRecorded');
    for (const { event } of recorded) {
      await events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: buses.telemetry.name,
              Source: event.source,
              DetailType: event['detail-type'],
              Detail: JSON.stringify(event.detail),
            },
          ],
        }),
      );
    }
    await settle();

    const byMinute = Object.fromEntries(
      (await storedReadings(t.cloud, 'enrich-1')).map((item) => [
        item.timestamp,
        item.enrichment as {
          gapSeconds: number | null;
          metrics: { t: Record<string, number | boolean | null> };
        },
      ]),
    );
    const first = byMinute[minute(0)];
    const last = byMinute[minute(6)];

    expect(first?.gapSeconds).toBeNull();
    expect(first?.metrics.t).toMatchObject({
      value: 10,
      delta: null,
      ratePerMinute: null,
      zScore: null,
      anomaly: false,
      samples: 0,
    });
    // 30 against 10 12 11 13 12 11: mean 69/6 = 11.5; variance (2.25+.25+.25+2.25+.25+.25)/6 = 0.916667;
    // stddev 0.957427; z = 18.5 / 0.957427 = 19.3226; six samples, so |z| ≥ 3 is an anomaly.
    expect(last?.gapSeconds).toBe(60);
    expect(last?.metrics.t).toMatchObject({
      value: 30,
      delta: 19,
      ratePerMinute: 19,
      samples: 6,
      anomaly: true,
    });
    expect(last?.metrics.t.mean).toBeCloseTo(11.5, 5);
    expect(last?.metrics.t.stddev).toBeCloseTo(0.957427, 5);
    expect(last?.metrics.t.zScore).toBeCloseTo(19.3226, 3);
    // 13 against 10 12 11: mean 11, stddev sqrt(2/3) = 0.816497, z = 2.44949; three samples, no anomaly.
    expect(byMinute[minute(3)]?.metrics.t).toMatchObject({ delta: 2, samples: 3, anomaly: false });
    expect(byMinute[minute(3)]?.metrics.t.zScore).toBeCloseTo(2.44949, 4);
    expect(busEvents('enrich-1', 'ReadingEnriched').length).toBeGreaterThanOrEqual(7);
    // Slow, not stuck: the first upload starts the API's and the workflow's functions cold (about
    // 15 s of its settle on a loaded machine); every later settle takes well under a second.
  }, 120_000);

  it('raises an alert once on a breach, nothing on a second breach, and resolves it once on recovery', async () => {
    const key = await t.registerDevice('enrich-2', {
      metrics: { t: { unit: '°C' } },
      alarms: [{ metric: 't', above: 25, severity: 'critical' }],
    });
    await t.api('/alert-subscriptions', {
      method: 'POST',
      token: t.adminToken,
      json: { protocol: 'email', endpoint: 'ops@example.com', deviceIds: ['enrich-2'] },
    });

    await postAndSettle(key, 'enrich-2', minute(0), { t: 20 });
    await postAndSettle(key, 'enrich-2', minute(1), { t: 30 });
    const afterBreach = {
      raised: busEvents('enrich-2', 'AlertRaised').length,
      mails: alertMails('enrich-2').length,
    };
    const active = (await (
      await t.api('/alerts?state=active&deviceId=enrich-2', { token: t.adminToken })
    ).json()) as { items: { alertId: string; summary: string }[] };
    await postAndSettle(key, 'enrich-2', minute(2), { t: 31 });
    const afterSecondBreach = {
      raised: busEvents('enrich-2', 'AlertRaised').length,
      mails: alertMails('enrich-2').length,
    };
    await postAndSettle(key, 'enrich-2', minute(3), { t: 22 });

    expect(afterBreach).toEqual({ raised: 1, mails: 1 });
    expect(active.items).toHaveLength(1);
    expect(active.items[0]?.summary).toBe('t 30 °C is above 25 °C');
    expect(alertMails('enrich-2')[0]?.body).toContain('t 30 °C is above 25 °C');
    expect(afterSecondBreach).toEqual({ raised: 1, mails: 1 });
    expect(busEvents('enrich-2', 'AlertResolved')).toHaveLength(1);
    expect(alertMails('enrich-2')).toHaveLength(2);
    const all = (await (await t.api('/alerts?deviceId=enrich-2', { token: t.adminToken })).json()) as {
      items: { alertId: string; state: string }[];
    };
    expect(all.items).toEqual([
      expect.objectContaining({ alertId: active.items[0]?.alertId, state: 'resolved' }),
    ]);
    const device = (await (await t.api('/devices/enrich-2', { token: t.adminToken })).json()) as {
      device: { alarmStates: { state: string }[] };
    };
    expect(device.device.alarmStates[0]?.state).toBe('OK');
    // The first breach starts the alert functions cold (about 10 s on a loaded machine).
  }, 120_000);

  it('has no second effect when the same ReadingRecorded is delivered twice', async () => {
    const key = await t.registerDevice('enrich-3', {
      alarms: [{ metric: 't', above: 25, severity: 'warning' }],
    });
    await t.api('/alert-subscriptions', {
      method: 'POST',
      token: t.adminToken,
      json: { protocol: 'email', endpoint: 'dup@example.com', deviceIds: ['enrich-3'] },
    });
    await postAndSettle(key, 'enrich-3', minute(0), { t: 40 });
    const before = {
      mails: alertMails('enrich-3').length,
      alerts: (
        (await (await t.api('/alerts?deviceId=enrich-3', { token: t.adminToken })).json()) as {
          items: unknown[];
        }
      ).items,
      reading: (await storedReadings(t.cloud, 'enrich-3'))[0],
    };
    const [recorded] = busEvents('enrich-3', 'ReadingRecorded');

    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: buses.telemetry.name,
            Source: 'sensorbus.ingest',
            DetailType: 'ReadingRecorded',
            Detail: JSON.stringify(recorded?.event.detail),
          },
        ],
      }),
    );
    await settle();

    expect(before.mails).toBe(1);
    expect(alertMails('enrich-3')).toHaveLength(1);
    expect(
      (
        (await (await t.api('/alerts?deviceId=enrich-3', { token: t.adminToken })).json()) as {
          items: unknown[];
        }
      ).items,
    ).toEqual(before.alerts);
    expect((await storedReadings(t.cloud, 'enrich-3'))[0]).toEqual(before.reading);
    const raisedIds = new Set(
      busEvents('enrich-3', 'AlertRaised').map(
        (e) => (e.event.detail.metadata as { eventId: string }).eventId,
      ),
    );
    expect(raisedIds.size).toBe(1);
  });

  it('retries a failing compute task, then takes the failure path, records the error on the reading and parks it', async () => {
    const key = await t.registerDevice('enrich-4');
    t.cloud.faults.inject({ service: 'lambda', operation: 'deriveMetrics', mode: 'error', times: 10 });

    await postAndSettle(key, 'enrich-4', minute(0), { t: 1 });
    const remaining = t.cloud.faults.list();
    t.cloud.faults.clear();

    const [reading] = await storedReadings(t.cloud, 'enrich-4');
    expect(reading?.enrichment).toBeUndefined();
    expect(reading?.enrichmentError).toMatchObject({ error: 'Lambda.ServiceException' });
    const execution = t.cloud.stepFunctions.executions().find((e) => e.input.includes('"enrich-4"'));
    expect(execution).toMatchObject({ status: 'FAILED', error: 'EnrichmentFailed' });
    expect(
      t.cloud.events.deadLetters
        .list(ENRICH_DEAD_LETTERS)
        .map((letter) => (letter.body.detail.data as { deviceId?: string }).deviceId),
    ).toEqual(['enrich-4']);
    // One attempt and the four retries of DeriveMetrics' Retry each consumed one failure.
    expect(remaining).toEqual([expect.objectContaining({ operation: 'deriveMetrics', remaining: 5 })]);
  });

  it('raises DeviceSilent when a device stays silent for three intervals after the buffer it may use, and resolves it when it reports again', async () => {
    const key = await t.registerDevice('enrich-5', { expectedIntervalSeconds: 2 });
    const overdue = (UNWATCHED_BUFFER_SECONDS + 10) * 1000;
    await postAndSettle(key, 'enrich-5', new Date(Date.now() - overdue).toISOString(), { t: 1 });

    await t.cloud.runSchedule('silenceCheck');
    await settle();
    const raised = busEvents('enrich-5', 'AlertRaised');
    await t.cloud.runSchedule('silenceCheck');
    await settle();
    await postAndSettle(key, 'enrich-5', new Date().toISOString(), { t: 2 });
    await t.cloud.runSchedule('silenceCheck');
    await settle();

    expect(raised).toHaveLength(1);
    expect(raised[0]?.event.detail.data).toMatchObject({
      kind: 'silence',
      severity: 'critical',
      expectedIntervalSeconds: 2,
    });
    expect(busEvents('enrich-5', 'AlertRaised')).toHaveLength(1);
    expect(busEvents('enrich-5', 'AlertResolved')).toHaveLength(1);
    const alerts = (await (await t.api('/alerts?deviceId=enrich-5', { token: t.adminToken })).json()) as {
      items: { kind: string; state: string }[];
    };
    expect(alerts.items).toEqual([expect.objectContaining({ kind: 'silence', state: 'resolved' })]);
  }, 120_000);
  it('stores an upload spanning two hours as two enrichment items, and the readings API serves each reading its enrichment across pages', async () => {
    const key = await t.registerDevice('enrich-hours');
    // 12 readings 5 minutes apart from 08:35: 5 in the 08:00 hour, 7 in the 09:00 hour.
    const readings = Array.from({ length: 12 }, (_, i) => ({
      deviceId: 'enrich-hours',
      timestamp: minute(35 + i * 5),
      metrics: { t: 20 + (i % 3), h: 50 - i },
    }));
    const response = await t.api('/readings', { method: 'POST', apiKey: key, json: { readings } });
    expect(response.status).toBe(202);
    await settle();

    const { Items: items = [] } = await edgeDynamo(t.cloud).send(
      new QueryCommand({
        TableName: tables.enrichments.name,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': 'enrich-hours' },
      }),
    );
    // One item per hour of each event's readings: two, unless the announcer announced the upload
    // in parts (its puts reached the stream in two batches), each part then writing its own.
    const recordedOnce = new Map(
      busEvents('enrich-hours', 'ReadingRecorded').map(({ event }) => [
        (event.detail.metadata as { eventId: string }).eventId,
        event,
      ]),
    );
    const hoursOfEvents = [...recordedOnce.values()].flatMap((event) => [
      ...new Set(
        (event.detail.data as { readings: { timestamp: string }[] }).readings.map(
          (reading) => `${reading.timestamp.slice(0, 13)}:00:00.000Z`,
        ),
      ),
    ]);
    expect(items.map((item) => String(item.slot).split('#')[0]).sort()).toEqual(hoursOfEvents.sort());
    expect(new Set(hoursOfEvents)).toEqual(new Set([minute(0), minute(60)]));
    const announced = busEvents('enrich-hours', 'ReadingEnriched').flatMap(
      ({ event }) => (event.detail.data as { readings: { timestamp: string }[] }).readings,
    );
    expect(announced).toHaveLength(12);
    const served: { timestamp: string; enrichment?: unknown }[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = (await (
        await t.api(`/devices/enrich-hours/readings?limit=5${query}`, { token: t.adminToken })
      ).json()) as { items: { timestamp: string; enrichment?: unknown }[]; nextCursor: string | null };
      served.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(served.map((reading) => reading.timestamp)).toEqual(readings.map((reading) => reading.timestamp));
    const byTimestamp = new Map(announced.map((reading) => [reading.timestamp, reading]));
    for (const reading of served)
      expect(reading.enrichment).toEqual({ ...byTimestamp.get(reading.timestamp), deviceId: 'enrich-hours' });
  });
});
