/**
 * The end-to-end run's thread (started by `measureEndToEnd`): connects the WebSocket clients,
 * posts readings at a steady rate, and times every push each client reads against the POST that
 * caused it, on this thread's clock.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { z } from 'zod';
import { readingIdOf } from '../../handlers/lib/ids.ts';
import { retryAfterMs } from '../../local-cloud/launcher/simulator.ts';
import { ReadingEnriched } from '../../schemas/events.ts';
import { type E2eMessage, type E2eResult, E2eSpec, PUSH_TYPE, PushLedger, percentilesOf } from './e2e.ts';

/** Posts unanswered at once before the sender waits: a bound, not a pacing device. */
const MAX_IN_FLIGHT = 256;
/** A connection or a subscription that takes longer is a fault, not a figure. */
const CONNECT_TIMEOUT_MS = 15_000;
/** Clients connecting at once. */
const CONNECT_CONCURRENCY = 10;
const POST_TIMEOUT_MS = 30_000;
const MAX_ERRORS_KEPT = 5;

const port = parentPort;
if (!port) throw new Error('e2e-worker.ts runs in a worker thread started by measureEndToEnd');
const tell = (message: E2eMessage) => port.postMessage(message);
const spec = E2eSpec.parse(workerData);

const Frame = z.object({ type: z.string() });
const PushFrame = z.object({ type: z.literal(PUSH_TYPE), eventId: z.string(), data: z.unknown() });
/** Extra fields (`bufferSeconds`) are the ingest answer's own business here. */
const IngestAnswer = z.object({ readingId: z.string(), timestamp: z.string(), duplicate: z.boolean() });
/** Dashboards also get alerts; the bench's readings raise none, and these are not counted. */
const NOT_COUNTED = new Set(['AlertRaised', 'AlertResolved']);

/**
 * The warm-up ramps the rate up linearly from a fifth of it, so that the push path's first
 * invocations (compilation, connection pools, the idempotency table's first records) do not start
 * a queue the measured span then inherits; the measured span posts at the full rate.
 */
const perMs = spec.ratePerSec / 1000;
const warmupMs = spec.warmupSeconds * 1000;
const rampReadings = Math.round(0.6 * perMs * warmupMs);
const total = rampReadings + Math.max(1, Math.round(spec.ratePerSec * spec.durationSeconds));

/** When reading `index` is due, in ms after the first: N(t) = r·(0.2·t + 0.4·t²/W) during the ramp. */
const dueAfter = (index: number): number => {
  if (index >= rampReadings) return warmupMs + (index - rampReadings) / perMs;
  const a = (0.4 * perMs) / warmupMs;
  const b = 0.2 * perMs;
  return (-b + Math.sqrt(b * b + 4 * a * index)) / (2 * a);
};
const clients = spec.clients;

/** Per reading. */
const sentAt = new Float64Array(total).fill(Number.NaN);
/** When each accepted post's 202 was read. */
const answeredAt = new Float64Array(total).fill(Number.NaN);
const accepted = new Uint8Array(total);
const readingIds = new Array<string | undefined>(total);
const indexOf = new Map<string, number>();
/** Per (reading, client) slot `reading * clients + client`. */
const arrivals = new PushLedger(total * clients);
let unexpectedPushes = 0;
const subscribedWaiters: ((() => void) | undefined)[] = [];

const onFrame = (client: number, raw: WebSocket.RawData) => {
  const at = performance.now();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString());
  } catch {
    unexpectedPushes++;
    return;
  }
  const type = Frame.safeParse(parsed);
  if (type.success && type.data.type === 'subscribed') {
    subscribedWaiters[client]?.();
    return;
  }
  if (type.success && NOT_COUNTED.has(type.data.type)) return;
  const frame = PushFrame.safeParse(parsed);
  const data = frame.success ? ReadingEnriched.data.safeParse(frame.data.data) : undefined;
  const readings = data?.success ? data.data.readings.map((r) => indexOf.get(r.readingId)) : [];
  if (!frame.success || readings.length === 0 || readings.includes(undefined)) {
    unexpectedPushes++;
    return;
  }
  for (const reading of readings) {
    if (reading !== undefined) arrivals.record(reading * clients + client, frame.data.eventId, at);
  }
};

const withTimeout = <T>(promise: Promise<T>, what: string): Promise<T> =>
  Promise.race([
    promise,
    sleep(CONNECT_TIMEOUT_MS, undefined, { ref: false }).then(() => {
      throw new Error(`${what} took longer than ${CONNECT_TIMEOUT_MS} ms`);
    }),
  ]);

/** Opens client `index`, subscribes it to every device, and resolves once the gateway confirms. */
const connect = async (index: number): Promise<WebSocket> => {
  const socket = new WebSocket(`${spec.wsUrl}/?token=${encodeURIComponent(spec.viewerToken)}`);
  socket.on('message', (raw) => onFrame(index, raw));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    }),
    `connecting client ${index}`,
  );
  const subscribed = new Promise<void>((resolve) => {
    subscribedWaiters[index] = resolve;
  });
  socket.send(JSON.stringify({ action: 'subscribe', deviceIds: spec.devices.map((d) => d.deviceId) }));
  await withTimeout(subscribed, `subscribing client ${index}`);
  return socket;
};

const connectAll = async (): Promise<WebSocket[]> => {
  const sockets: WebSocket[] = [];
  for (let first = 0; first < clients; first += CONNECT_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONNECT_CONCURRENCY, clients - first) }, (_, i) => first + i);
    sockets.push(...(await Promise.all(batch.map(connect))));
  }
  return sockets;
};

const closeAll = async (sockets: readonly WebSocket[]): Promise<void> => {
  await Promise.all(
    sockets.map((socket) =>
      Promise.race([
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
          socket.close(1000);
        }),
        sleep(3000, undefined, { ref: false }),
      ]),
    ),
  );
  for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
};

const run = async (): Promise<E2eResult> => {
  const connectStarted = performance.now();
  const sockets = await connectAll();
  const connectMs = performance.now() - connectStarted;

  const postLatencies: number[] = [];
  const postErrors: string[] = [];
  let failedPosts = 0;
  let throttledAnswers = 0;
  let throttledPosts = 0;
  let inFlight = 0;
  let stalls = 0;
  const settled: (() => void)[] = [];
  const acceptedTimestamps: Record<string, string[]> = {};

  const post = async (index: number, measured: boolean): Promise<void> => {
    const device = spec.devices[index % spec.devices.length];
    if (!device) return;
    const timestamp = new Date(spec.epochMs + index).toISOString();
    const body = JSON.stringify({
      deviceId: device.deviceId,
      timestamp,
      metrics: { temperature: 20 + (index % 97) / 10, humidity: 40 + (index % 31) },
      sequence: index,
    });
    const readingId = readingIdOf(device.deviceId, timestamp);
    indexOf.set(readingId, index);
    readingIds[index] = readingId;
    const started = performance.now();
    sentAt[index] = started;
    try {
      const send = () =>
        fetch(`${spec.apiUrl}/readings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': device.apiKey },
          body,
          signal: AbortSignal.timeout(POST_TIMEOUT_MS),
        });
      let response = await send();
      if (response.status === 429 && measured) throttledPosts++;
      // Throttled by the stage: wait as told and post the same reading again, as a device does.
      while (response.status === 429) {
        if (measured) throttledAnswers++;
        await response.arrayBuffer();
        await sleep(retryAfterMs(response));
        response = await send();
      }
      const text = await response.text();
      if (measured) postLatencies.push(performance.now() - started);
      const answer = IngestAnswer.safeParse(response.status === 202 ? JSON.parse(text) : undefined);
      if (!answer.success || answer.data.duplicate) {
        failedPosts++;
        if (postErrors.length < MAX_ERRORS_KEPT) postErrors.push(`${response.status} ${text.slice(0, 200)}`);
        return;
      }
      accepted[index] = 1;
      answeredAt[index] = performance.now();
      const timestamps = acceptedTimestamps[device.deviceId] ?? [];
      timestamps.push(answer.data.timestamp);
      acceptedTimestamps[device.deviceId] = timestamps;
    } catch (error) {
      failedPosts++;
      if (postErrors.length < MAX_ERRORS_KEPT) postErrors.push(String(error));
    }
  };

  const intervalMs = 1 / perMs;
  const startAt = performance.now();
  let firstMeasuredAt: number | undefined;
  let lastSentAt = startAt;
  let measuredPosted = 0;
  for (let index = 0; index < total; index++) {
    const due = startAt + dueAfter(index);
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight >= MAX_IN_FLIGHT) {
      stalls++;
      await new Promise<void>((resolve) => settled.push(resolve));
    }
    const measured = index >= rampReadings;
    lastSentAt = performance.now();
    if (measured && firstMeasuredAt === undefined) {
      firstMeasuredAt = lastSentAt;
      tell({ type: 'measure', edge: 'start' });
    }
    if (measured) measuredPosted++;
    inFlight++;
    void post(index, measured).finally(() => {
      inFlight--;
      settled.shift()?.();
    });
  }
  const loadEnded = performance.now();
  tell({ type: 'measure', edge: 'end' });
  // From the first measured post to one interval past the last: the rate the sender really held.
  const measuredSeconds =
    firstMeasuredAt === undefined ? 0 : (lastSentAt - firstMeasuredAt + intervalMs) / 1000;

  // Drain: every post answered and every push owed to an accepted reading read, or time is up.
  const drainUntil = loadEnded + spec.drainSeconds * 1000;
  const owed = () => {
    let count = 0;
    for (let i = 0; i < total; i++) count += accepted[i] ?? 0;
    return count * clients;
  };
  while (performance.now() < drainUntil) {
    if (inFlight === 0 && arrivals.received >= owed()) break;
    await sleep(20);
  }
  const drainMs = performance.now() - loadEnded;
  await closeAll(sockets);

  const acceptedCount = owed() / clients;
  const latencies: number[] = [];
  const sent: E2eResult['sent'] = [];
  let received = 0;
  let duplicated = 0;
  let repeated = 0;
  for (let reading = 0; reading < total; reading++) {
    const readingId = readingIds[reading];
    if (!accepted[reading] || readingId === undefined) continue;
    const sentAtMs = sentAt[reading] ?? Number.NaN;
    const measured = reading >= rampReadings;
    // On the clock every thread reads alike (the accounting's `sharedClockMs`), for the bus tap.
    const answeredAtMs = performance.timeOrigin + (answeredAt[reading] ?? Number.NaN);
    sent.push({ readingId, sentAtMs: performance.timeOrigin + sentAtMs, answeredAtMs, measured });
    for (let client = 0; client < clients; client++) {
      const slot = arrivals.slot(reading * clients + client);
      if (!slot) continue;
      received++;
      duplicated += slot.duplicated;
      repeated += slot.repeated;
      if (measured) latencies.push(slot.firstAt - sentAtMs);
    }
  }
  const expected = acceptedCount * clients;
  const enriched = {
    expected,
    received,
    lost: expected - received,
    duplicated,
    repeated,
    latency: percentilesOf(latencies),
  };

  return {
    posted: total,
    measuredPosted,
    achievedRatePerSec: measuredSeconds > 0 ? measuredPosted / measuredSeconds : 0,
    accepted: acceptedCount,
    failedPosts,
    postErrors,
    stalls,
    throttledPosts,
    throttledAnswers,
    postLatency: percentilesOf(postLatencies),
    sent,
    enriched,
    unexpectedPushes,
    drainMs,
    acceptedTimestamps,
    connectMs,
  };
};

try {
  tell({ type: 'result', result: await run() });
} catch (error) {
  tell({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
