import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buses, ENRICH_DEAD_LETTERS } from '../../infra/topology.ts';
import { eventsAdmin } from '../../local-cloud/launcher/cli/events-admin.ts';
import {
  startTestCloud,
  storedReadings,
  streamDrained,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';

let t: TestCloud;

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5, sfnRetryIntervalMs: 5 });
});
afterAll(() => t.stop());

const minute = (n: number) => new Date(Date.UTC(2026, 10, 21, 8, n)).toISOString();

/** Until the readings stream is announced, its events delivered and the executions they started done. */
const settle = async () => {
  for (let round = 0; round < 3; round++) {
    await streamDrained(t);
    await waitFor(() => !t.cloud.events.busy() && t.cloud.events.pendingCount() === 0, 'deliveries');
    await t.cloud.stepFunctions.idle();
  }
};

const post = async (apiKey: string, deviceId: string, at: string) => {
  const response = await t.api('/readings', {
    method: 'POST',
    apiKey,
    json: { deviceId, timestamp: at, metrics: { t: 21.5 } },
  });
  expect(response.status).toBe(202);
  await settle();
};

const enrichedEvents = (deviceId: string) =>
  t.busEvents.filter(
    ({ bus, event }) =>
      bus === buses.telemetry.name &&
      event['detail-type'] === 'ReadingEnriched' &&
      (event.detail.data as { deviceId?: string }).deviceId === deviceId,
  );

/** The distinct eventIds of the ReadingEnriched (v2) events that carried the device's readings. */
const enrichedEventIds = (deviceId: string) => [
  ...new Set(
    enrichedEvents(deviceId)
      .filter(({ event }) => ((event.detail.data as { readings?: unknown[] }).readings ?? []).length > 0)
      .map(({ event }) => (event.detail.metadata as { eventId: string }).eventId),
  ),
];

const parked = (deviceId: string) =>
  t.cloud.events.deadLetters
    .list(ENRICH_DEAD_LETTERS)
    .filter((letter) => (letter.body.detail.data as { deviceId?: string }).deviceId === deviceId);

const history = async (deviceId: string) =>
  (await (await t.api(`/devices/${deviceId}/readings`, { token: t.adminToken })).json()) as {
    items: { timestamp: string; enrichment?: unknown; enrichmentError?: { error: string; cause: string } }[];
  };

const health = async () =>
  (await (await t.api('/health')).json()) as {
    status: string;
    checks: { deadLetters: { queues: Record<string, number> } };
  };

describe('enrichment failures', () => {
  it('retries a transient failure with backoff and enriches the reading once', async () => {
    const key = await t.registerDevice('flaky-1');
    t.cloud.faults.inject({ service: 'lambda', operation: 'deriveMetrics', mode: 'throttle', times: 2 });

    await post(key, 'flaky-1', minute(0));

    const [reading] = await storedReadings(t.cloud, 'flaky-1');
    // Both throttles were spent on DeriveMetrics' retries, and the third attempt went through.
    expect(t.cloud.faults.list()).toEqual([]);
    expect(reading?.enrichment).toBeDefined();
    expect(reading?.enrichmentError).toBeUndefined();
    expect(enrichedEvents('flaky-1')).toHaveLength(1);
    expect(parked('flaky-1')).toEqual([]);
  });

  it('parks a reading that keeps failing with its event and error, shows it, and a redrive enriches it once', async () => {
    const key = await t.registerDevice('broken-1');
    const before = (await health()).checks.deadLetters.queues[ENRICH_DEAD_LETTERS] ?? 0;
    t.cloud.faults.inject({ service: 'lambda', operation: 'evaluateAlarms', mode: 'error' });

    await post(key, 'broken-1', minute(1));
    t.cloud.faults.clear();

    const letters = parked('broken-1');
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter?.body).toMatchObject({
      source: 'sensorbus.ingest',
      'detail-type': 'ReadingRecorded',
      detail: { data: { deviceId: 'broken-1', readings: [{ timestamp: minute(1) }] } },
    });
    expect(letter?.attributes).toMatchObject({
      TARGET_ARN: expect.stringContaining(':stateMachine:sensorbus-enrich-reading'),
      EXECUTION_ARN: expect.stringContaining('sensorbus-enrich-reading'),
      ERROR_CODE: 'Lambda.ServiceException',
      ERROR_MESSAGE: 'Injected fault',
    });
    const page = await history('broken-1');
    expect(page.items).toEqual([
      expect.objectContaining({
        timestamp: minute(1),
        enrichmentError: { error: 'Lambda.ServiceException', cause: 'Injected fault' },
      }),
    ]);
    // DeriveMetrics ran before EvaluateAlarms failed: it stored the derived metrics and announced
    // them (ReadingEnriched v2); the reading shows the failure until the redrive evaluates it.
    expect(page.items[0]?.enrichment).toBeDefined();
    const parkedHealth = await health();
    expect(parkedHealth.status).toBe('ok');
    expect(parkedHealth.checks.deadLetters.queues[ENRICH_DEAD_LETTERS]).toBe(before + 1);
    expect(enrichedEventIds('broken-1')).toHaveLength(1);
    const listed = await eventsAdmin(t.cloud).deadLetters(ENRICH_DEAD_LETTERS);
    expect(listed[ENRICH_DEAD_LETTERS]?.map((l) => l.messageId)).toContain(letter?.messageId);

    const redrive = await eventsAdmin(t.cloud).redrive(ENRICH_DEAD_LETTERS);
    await settle();

    expect(redrive).toEqual({ redriven: before + 1, failed: 0 });
    expect(parked('broken-1')).toEqual([]);
    expect((await health()).checks.deadLetters.queues[ENRICH_DEAD_LETTERS]).toBe(0);
    const [reading] = (await history('broken-1')).items;
    expect(reading?.enrichment).toBeDefined();
    expect(reading?.enrichmentError).toBeUndefined();
    // Announced once: a replayed derive announces the same readings under the same eventId.
    expect(enrichedEventIds('broken-1')).toHaveLength(1);
  });

  it('parks again, without losing the reading, when the redriven enrichment fails again', async () => {
    const key = await t.registerDevice('broken-2');
    t.cloud.faults.inject({ service: 'lambda', operation: 'deriveMetrics', mode: 'error' });
    await post(key, 'broken-2', minute(2));
    const [first] = parked('broken-2');

    await eventsAdmin(t.cloud).redrive(ENRICH_DEAD_LETTERS);
    await settle();
    t.cloud.faults.clear();

    const again = parked('broken-2');
    expect(again).toHaveLength(1);
    expect(again[0]?.messageId).not.toBe(first?.messageId);
    expect(again[0]?.body).toEqual(first?.body);
    expect((await storedReadings(t.cloud, 'broken-2'))[0]?.enrichmentError).toMatchObject({
      error: 'Lambda.ServiceException',
    });
  });
});
