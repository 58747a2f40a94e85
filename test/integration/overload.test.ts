import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorBody } from '../../schemas/error.ts';
import { startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

/** Holds each invocation until its gate file exists; one environment per function, one invocation waiting at most. */
const gated = { entry: 'test/support/gated-handler.ts', limits: { timeoutSeconds: 30, memoryMb: 128 } };

let t: TestCloud;
let dir: string;
let apiKey: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sensorbus-overload-'));
  t = await startTestCloud({
    // POST /readings and the WebSocket messages run the gated handler instead of theirs.
    lambda: {
      extraFunctions: { ingest: gated, websocketMessages: gated },
      maxEnvironmentsPerFunction: 1,
      maxWaitingPerFunction: 1,
    },
    // A waiting request is throttled after half of it: long enough to stay queued while the test looks.
    integrationTimeoutMs: 60_000,
  });
  apiKey = await t.registerDevice('overload-1');
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

const waitingFor = (fn: string) => t.cloud.lambda.stats()[fn]?.waiting ?? 0;
const busy = (fn: string) => t.cloud.lambda.stats()[fn]?.busy ?? 0;

describe('a function at the machine’s concurrency', () => {
  it('answers REST callers past its queue 429 TooManyRequests with Retry-After at once, and runs the ones it queued', async () => {
    const gate = join(dir, 'rest');
    const post = (json: unknown) => t.api('/readings', { method: 'POST', apiKey, json });
    const throttledBefore = t.cloud.stats().throttledRequests;

    const running = post({ holdUntil: gate });
    await waitFor(() => busy('ingest') === 1 || undefined, 'the held request to run');
    const queued = post({});
    await waitFor(() => waitingFor('ingest') === 1 || undefined, 'the second request to wait');
    const refused = [];
    for (let i = 0; i < 3; i++) refused.push(await post({}));
    const stillWaiting = waitingFor('ingest');
    writeFileSync(gate, '');
    const served = await Promise.all([running, queued]);

    expect(refused.map((response) => response.status)).toEqual([429, 429, 429]);
    for (const response of refused) {
      expect(response.headers.get('retry-after')).toBe('1');
      expect(ErrorBody.parse(await response.json()).error.code).toBe('TooManyRequests');
    }
    expect(stillWaiting).toBe(1);
    expect(served.map((response) => response.status)).toEqual([200, 200]);
    expect(t.cloud.stats().throttledRequests - throttledBefore).toBe(3);
  });

  it('answers a WebSocket message that waited past half the integration timeout with a Too Many Requests frame, and routes the one it ran', async () => {
    const gate = join(dir, 'ws');
    const token = await t.viewerToken('*');
    const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${encodeURIComponent(token)}`);
    const frames: Record<string, unknown>[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const throttledBefore = t.cloud.stats().throttledRequests;

    socket.send(JSON.stringify({ action: 'subscribe', holdUntil: gate }));
    await waitFor(() => busy('websocketMessages') === 1 || undefined, 'the held message to run');
    socket.send(JSON.stringify({ action: 'subscribe' }));
    const refused = await waitFor(() => frames[0], 'the refused message’s frame', 60_000);
    writeFileSync(gate, '');
    await waitFor(() => frames.length >= 2 || undefined, 'the held message’s answer');
    socket.close();

    expect(refused).toMatchObject({ message: 'Too Many Requests' });
    expect(frames.slice(1)).toEqual([{ ran: true }]);
    expect(t.cloud.stats().throttledRequests - throttledBefore).toBe(1);
  }, 90_000);
});
