import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buses } from '../../infra/topology.ts';
import {
  startTestCloud,
  storedReadings,
  streamDrained,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';

let t: TestCloud;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 5, sfnRetryIntervalMs: 5 });
});
afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await t.stop();
});

/** A dashboard: a real WebSocket client subscribed to `deviceIds`, keeping every push it receives. */
const dashboard = async (deviceIds: string[]) => {
  const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${encodeURIComponent(await t.viewerToken('*'))}`);
  sockets.push(socket);
  const messages: { type: string; deviceId?: string; eventId?: string; data?: unknown }[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ action: 'subscribe', deviceIds }));
  await waitFor(() => messages.some((m) => m.type === 'subscribed'), 'the subscription');
  return { pushes: (type: string) => messages.filter((m) => m.type === type) };
};

/** Waits until nothing is in flight: stream batches (the announcer), deliveries, workflows. */
const settle = async () => {
  for (let round = 0; round < 3; round++) {
    await streamDrained(t);
    await waitFor(() => !t.cloud.events.busy() && t.cloud.events.pendingCount() === 0, 'deliveries');
    await t.cloud.stepFunctions.idle();
  }
};

const telemetry = (detailType: string, deviceId: string) =>
  t.busEvents.filter(
    ({ bus, event }) =>
      bus === buses.telemetry.name &&
      event['detail-type'] === detailType &&
      (event.detail.data as { deviceId?: string }).deviceId === deviceId,
  );

const upload = (deviceId: string, count: number) => ({
  readings: Array.from({ length: count }, (_, i) => ({
    deviceId,
    timestamp: new Date(Date.UTC(2026, 10, 20, 9, 0, count - i)).toISOString(),
    metrics: { t: 20 + i },
  })),
});

describe('one upload is one unit of work', () => {
  it('turns a POST of N readings into one ReadingRecorded, one execution, one ReadingEnriched per stored write, and one push of each to every watching dashboard', async () => {
    const watchedKey = await t.registerDevice('chain-watched', {
      alarms: [{ metric: 't', above: 100, severity: 'warning' }],
    });
    const unwatchedKey = await t.registerDevice('chain-unwatched');
    const dashboards = [await dashboard(['chain-watched']), await dashboard(['chain-watched'])];
    const N = 7;

    const watched = await t.api('/readings', {
      method: 'POST',
      apiKey: watchedKey,
      json: upload('chain-watched', N),
    });
    const unwatched = await t.api('/readings', {
      method: 'POST',
      apiKey: unwatchedKey,
      json: upload('chain-unwatched', N),
    });
    await settle();
    await waitFor(() => dashboards.every((d) => d.pushes('ReadingEnriched').length > 0), 'the pushes');

    expect([watched.status, unwatched.status]).toEqual([202, 202]);
    const timestampsOf = (events: ReturnType<typeof telemetry>) =>
      events
        .flatMap(({ event }) => (event.detail.data as { readings: { timestamp: string }[] }).readings)
        .map((r) => r.timestamp)
        .sort();
    const posted = (deviceId: string) =>
      upload(deviceId, N)
        .readings.map((r) => r.timestamp)
        .reverse();
    for (const deviceId of ['chain-watched', 'chain-unwatched']) {
      const recorded = telemetry('ReadingRecorded', deviceId);
      const enriched = telemetry('ReadingEnriched', deviceId);
      // Every reading announced and enriched once (parts may arrive in either order), one execution per event.
      expect(timestampsOf(recorded)).toEqual(posted(deviceId));
      expect(timestampsOf(enriched)).toEqual(posted(deviceId));
      expect(
        t.cloud.stepFunctions.executions().filter((e) => e.input.includes(`"${deviceId}"`)),
      ).toHaveLength(recorded.length);
      const stored = await storedReadings(t.cloud, deviceId);
      expect(stored.filter((item) => item.enrichment !== undefined)).toHaveLength(N);
    }
    // The unwatched device's upload is one stored write (its hour item), so one stream record:
    // one ReadingRecorded, one execution, one ReadingEnriched. The watched device's readings are
    // items of their own, which a stream may hand over in more than one batch (on AWS as here,
    // under load), each batch's part of the upload its own event.
    expect(telemetry('ReadingRecorded', 'chain-unwatched')).toHaveLength(1);
    expect(telemetry('ReadingEnriched', 'chain-unwatched')).toHaveLength(1);
    const watchedParts = telemetry('ReadingRecorded', 'chain-watched').length;
    expect(telemetry('ReadingRecorded', 'chain-watched')[0]?.event.detail.data).toMatchObject({
      watched: true,
    });
    expect(telemetry('ReadingRecorded', 'chain-unwatched')[0]?.event.detail.data).toMatchObject({
      watched: false,
    });
    for (const d of dashboards) {
      const pushes = d.pushes('ReadingEnriched');
      expect(pushes).toHaveLength(watchedParts);
      expect(
        pushes
          .flatMap((p) => (p.data as { readings: { timestamp: string }[] }).readings.map((r) => r.timestamp))
          .sort(),
      ).toEqual(posted('chain-watched'));
    }
    expect(
      t.busEvents.filter(
        ({ bus, event }) =>
          bus === buses.websocket.name &&
          (event.detail.data as { deviceId?: string }).deviceId === 'chain-unwatched',
      ),
    ).toEqual([]);
  }, 180_000);
});
