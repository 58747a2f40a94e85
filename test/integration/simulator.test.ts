import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type PostFailure, startSimulator } from '../../local-cloud/launcher/simulator.ts';
import { recordedEvents, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
const UPLOAD = 10;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await t?.stop();
});

/**
 * The readings each upload of a device carried, upload by upload: the `ReadingRecorded` v2 events
 * of one `uploadId` summed, since the announcer may publish an upload in parts (its puts reached
 * the stream in more than one batch).
 */
const uploadSizes = (deviceId: string) => {
  const sizes = new Map<string, number>();
  for (const { event } of recordedEvents(t, deviceId)) {
    const { uploadId, readings } = event.detail.data as { uploadId: string; readings: unknown[] };
    sizes.set(uploadId, (sizes.get(uploadId) ?? 0) + readings.length);
  }
  return [...sizes.values()];
};

/** A dashboard watching the device: a real WebSocket client subscribed to it. */
const watch = async (deviceId: string): Promise<void> => {
  const socket = new WebSocket(
    `${t.cloud.wsUrl}/?token=${encodeURIComponent(await t.viewerToken([deviceId]))}`,
  );
  sockets.push(socket);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const answer = new Promise<Record<string, unknown>>((resolve) =>
    socket.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>)),
  );
  socket.send(JSON.stringify({ action: 'subscribe', deviceIds: [deviceId] }));
  expect(await answer).toEqual({ type: 'subscribed', deviceIds: [deviceId] });
};

describe('the simulated fleet', () => {
  it('buffers readings as long as the ingest answer says, a full upload at most, and streams once watched', async () => {
    const deviceId = 'sim-buffer';
    const apiKey = await t.registerDevice(deviceId);
    // The functions of a post and of a watch started beforehand (on another device): the watch
    // below then takes far less than the 10 s of readings a full upload holds, on a loaded machine too.
    const warmKey = await t.registerDevice('sim-warm');
    const warmed = await waitFor(
      async () => {
        const response = await t.api('/readings', {
          method: 'POST',
          apiKey: warmKey,
          json: { deviceId: 'sim-warm', timestamp: new Date().toISOString(), metrics: { temperature: 20 } },
        });
        // A function starting cold on a loaded machine may time out: posted again, as a device does
        return response.status < 500 && response;
      },
      'a first post answered',
      90_000,
    );
    expect(warmed.status).toBe(202);
    await watch('sim-warm');
    const failures: PostFailure[] = [];
    let throttles = 0;
    const simulator = startSimulator({
      apiUrl: t.cloud.apiUrl,
      devices: [{ deviceId, apiKey, metrics: { temperature: [20, 1, 5] } }],
      intervalMs: 1_000,
      // Uploads of 10 (10 s of readings, longer than a post takes even on a loaded machine): 100 readings
      // per upload take a loaded machine past the ingest timeout.
      maxUploadReadings: UPLOAD,
      onFailure: (failure) => failures.push(failure),
      onThrottle: () => {
        throttles += 1;
      },
    });
    try {
      // Nothing told yet: the first reading goes as it comes; its answer says nobody watches.
      await waitFor(() => uploadSizes(deviceId).length >= 1, 'the first upload', 90_000);
      // Watched from now on, which the device learns from its next answer: until then it holds
      // readings back, a full upload at most (the hour it may wait is never reached); then it streams.
      await watch(deviceId);
      await waitFor(() => uploadSizes(deviceId).length >= 5, 'uploads once watched', 240_000);
      const [first, buffered, ...streamed] = uploadSizes(deviceId);

      // Nobody told the device to buffer, so its first upload is what its first tick brought: one
      // reading, or the three a late batch brings at once (a tenth of ticks). When that post failed
      // or was throttled on a loaded machine, the readings gathered until its retry went through:
      // still fewer than a full upload.
      const retried = failures.length + throttles > 0;
      expect(first === 1 || first === 3 || (retried && (first ?? UPLOAD) < UPLOAD)).toBe(true);
      expect(buffered).toBe(UPLOAD);
      expect(streamed.every((size) => size < UPLOAD)).toBe(true);
      // Failures under load (a timed-out upload) are posted again, so they leave no gap.
      expect(failures.every((failure) => /^5\d\d /.test(failure.reason))).toBe(true);
    } finally {
      await simulator.stop();
    }
  }, 400_000);

  it("posts at once a reading that crosses an alarm's limit while buffering, so the alert is raised and resolved on time", async () => {
    const deviceId = 'sim-flush';
    // A full upload is 30 readings: without reporting by exception the readings crossing the limit
    // would wait for one, anywhere in it.
    const upload = 30;
    const apiKey = await t.registerDevice(deviceId, {
      alarms: [{ metric: 'temperature', above: 26, severity: 'critical' }],
    });
    const simulator = startSimulator({
      apiUrl: t.cloud.apiUrl,
      // Baseline 20 with a noise of 1: the spike of 10 (ticks 35 to 39 of every 40) crosses 26,
      // and the reading after it comes back within.
      devices: [{ deviceId, apiKey, metrics: { temperature: [20, 1, 10] } }],
      intervalMs: 500,
      maxUploadReadings: upload,
    });
    /** The device's uploads, in the order they were stored, each its readings' temperatures oldest first. */
    const uploads = () => {
      const byUpload = new Map<string, { timestamp: string; metrics: { temperature: number } }[]>();
      for (const { event } of recordedEvents(t, deviceId)) {
        const { uploadId, readings } = event.detail.data as {
          uploadId: string;
          readings: { timestamp: string; metrics: { temperature: number } }[];
        };
        byUpload.set(uploadId, [...(byUpload.get(uploadId) ?? []), ...readings]);
      }
      return [...byUpload.values()].map((readings) =>
        readings.sort((a, b) => a.timestamp.localeCompare(b.timestamp)).map((r) => r.metrics.temperature),
      );
    };
    const alertsOf = (detailType: string) =>
      t.busEvents.filter(
        ({ bus, event }) =>
          bus === 'sensorbus-telemetry' &&
          event['detail-type'] === detailType &&
          (event.detail.data as { deviceId?: string }).deviceId === deviceId,
      );
    try {
      await waitFor(() => alertsOf('AlertResolved').length >= 1, 'the spike raised and resolved', 240_000);
    } finally {
      await simulator.stop();
    }

    const stored = uploads();
    const flat = stored.flat();
    const raisedAt = flat.findIndex((value) => value > 26);
    const resolvedAt = flat.findIndex((value, i) => i > raisedAt && value <= 26);
    /** How many readings its upload carried after the reading at `index` of all the device posted. */
    const followersInUpload = (index: number) => {
      let start = 0;
      for (const readings of stored) {
        if (index < start + readings.length) return start + readings.length - 1 - index;
        start += readings.length;
      }
      throw new Error(`No upload holds reading ${index}`);
    };
    expect(raisedAt).toBeGreaterThan(0);
    expect(resolvedAt).toBeGreaterThan(raisedAt);
    // Each crossing went out at once: with the readings that came while an upload was in flight at
    // most, never after the buffer's worth of readings the others waited for.
    expect(followersInUpload(raisedAt)).toBeLessThanOrEqual(3);
    expect(followersInUpload(resolvedAt)).toBeLessThanOrEqual(3);
    // It was buffering: the uploads before the spike carried more readings than that.
    expect(Math.max(...stored.map((readings) => readings.length))).toBeGreaterThan(3);
    expect(alertsOf('AlertRaised')).toHaveLength(1);
  }, 300_000);
});
