import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type PostFailure, startSimulator } from '../../local-cloud/launcher/simulator.ts';
import { ErrorBody } from '../../schemas/error.ts';
import { startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

/** A bucket of two tokens that refills one per 100 s: the third request within a test is over it. */
const NARROW = { rateLimit: 0.01, burstLimit: 2 };

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud({ stageThrottle: { rest: NARROW, websocket: NARROW } });
});
afterAll(() => t.stop());

describe('the stage throttle', () => {
  it('answers a REST request over the rate and burst 429 in the error shape, with Retry-After, before any authorizer', async () => {
    const within = [await t.api('/devices', { token: t.adminToken }), await t.api('/devices')];
    const over = await t.api('/devices', { token: t.adminToken });

    expect(within.map((response) => response.status)).toEqual([200, 401]);
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    const body = ErrorBody.parse(await over.json());
    expect(body.error.code).toBe('TooManyRequests');
    expect(t.cloud.stats().throttledRequests).toBe(1);
  });

  it("throttles the devices' HTTP API route in a bucket of its own, as its own stage on AWS", async () => {
    // However much of the REST API's bucket is left, three calls empty it.
    const rest = [await t.api('/devices'), await t.api('/devices'), await t.api('/devices')];
    const device = [
      await t.api('/readings', { method: 'POST', apiKey: 'sbk_nope', json: {} }),
      await t.api('/readings', { method: 'POST', apiKey: 'sbk_nope', json: {} }),
      await t.api('/readings', { method: 'POST', apiKey: 'sbk_nope', json: {} }),
    ];

    expect(rest.at(-1)?.status).toBe(429);
    // The function answered the first two (a refused key), the stage's throttle the third.
    expect(device.map((response) => response.status)).toEqual([401, 401, 429]);
    expect(device[2]?.headers.get('retry-after')).toBe('1');
    expect(ErrorBody.parse(await device[2]?.json()).error.code).toBe('TooManyRequests');
  });

  it('refuses a WebSocket connect over it with 429 and Retry-After, and answers a message over it with a Too Many Requests frame', async () => {
    const token = await t.viewerToken('*');
    const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${encodeURIComponent(token)}`);
    const frames: Record<string, unknown>[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));

    socket.send(JSON.stringify({ action: 'subscribe', deviceIds: ['any'] }));
    const answered = await waitFor(() => frames[0], 'the subscribe answer');
    socket.send(JSON.stringify({ action: 'subscribe', deviceIds: ['any'] }));
    const throttled = await waitFor(() => frames[1], 'the throttled frame');
    const refused = await new Promise<{ status: number | undefined; retryAfter: unknown; body: string }>(
      (resolve) => {
        const late = new WebSocket(`${t.cloud.wsUrl}/?token=${encodeURIComponent(token)}`);
        late.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'], body }),
          );
        });
        late.once('error', () => {});
      },
    );
    socket.close();

    expect(answered.type).toBe('subscribed');
    expect(throttled).toMatchObject({ message: 'Too Many Requests' });
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('1');
    expect(ErrorBody.parse(JSON.parse(refused.body)).error.code).toBe('TooManyRequests');
  });
});

describe('the simulated fleet under the stage throttle', () => {
  it('reports each 429 as a throttle with its Retry-After, not as a failed post', async () => {
    // Whatever the tests above left in the devices' bucket, three posts empty it.
    for (let i = 0; i < 3; i++) await t.api('/readings', { method: 'POST', apiKey: 'sbk_nope', json: {} });
    const failures: PostFailure[] = [];
    const throttles: { deviceId: string; retryAfterMs: number }[] = [];
    const simulator = startSimulator({
      apiUrl: t.cloud.apiUrl,
      devices: [{ deviceId: 'throttled-1', apiKey: 'sbk_nope', metrics: { t: [20, 1, 5] } }],
      intervalMs: 50,
      onFailure: (failure) => failures.push(failure),
      onThrottle: (throttle) => throttles.push(throttle),
    });
    try {
      await waitFor(() => throttles.length >= 2, 'two throttled posts');
    } finally {
      await simulator.stop();
    }

    expect(failures).toEqual([]);
    // The answer's Retry-After is 1 s: the device waits it out before posting again.
    expect(throttles.slice(0, 2)).toEqual([
      { deviceId: 'throttled-1', retryAfterMs: 1000 },
      { deviceId: 'throttled-1', retryAfterMs: 1000 },
    ]);
  });
});
