import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PUSH_CONCURRENCY } from '../../handlers/push/push.ts';
import { STAGE_THROTTLE } from '../../infra/api.ts';
import { buses, tables } from '../../infra/topology.ts';
import { UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import {
  edgeClientConfig,
  edgeDynamo,
  startTestCloud,
  storedItems,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';

let t: TestCloud;
const open: WebSocket[] = [];

interface Client {
  socket: WebSocket;
  messages: Record<string, unknown>[];
  send(message: unknown): Promise<Record<string, unknown>>;
}

/** How often a client connects or sends again after a 429 or a `Too Many Requests` frame, as a dashboard does. */
const CONNECT_ATTEMPTS = 30;

/**
 * A real WebSocket client that keeps every message it receives. Like a dashboard it connects again
 * after a refused connect's `Retry-After` (the stage's throttle, or Lambda's at its concurrency).
 */
const connect = async (token: string, attempt = 1): Promise<Client> => {
  const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${encodeURIComponent(token)}`);
  open.push(socket);
  const messages: Record<string, unknown>[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
  const retryAfterMs = await new Promise<number | undefined>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) =>
      res.statusCode === 429 && attempt < CONNECT_ATTEMPTS
        ? resolve(1000 * Number(res.headers['retry-after'] ?? 1))
        : reject(new Error(`HTTP ${res.statusCode}`)),
    );
    socket.once('open', () => resolve(undefined));
  });
  if (retryAfterMs !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
    return connect(token, attempt + 1);
  }
  return {
    socket,
    messages,
    /** Sends a message and answers its answer; one refused with the `Too Many Requests` frame is sent again a second later. */
    async send(message) {
      for (let attempt = 1; ; attempt++) {
        const before = messages.length;
        socket.send(typeof message === 'string' ? message : JSON.stringify(message));
        const answer = await waitFor(() => messages[before], 'an answer', 30_000);
        if (answer.message !== 'Too Many Requests' || attempt >= CONNECT_ATTEMPTS) return answer;
        messages.splice(before, 1);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    },
  };
};

const pushes = (client: Client, type?: string) =>
  client.messages.filter(
    (m) =>
      ['ReadingRecorded', 'ReadingEnriched', 'AlertRaised', 'AlertResolved'].includes(String(m.type)) &&
      (!type || m.type === type),
  );

const postReading = (apiKey: string, deviceId: string, timestamp: string) =>
  t.api('/readings', { method: 'POST', apiKey, json: { deviceId, timestamp, metrics: { t: 1 } } });

let keyA: string;
let keyB: string;
beforeAll(async () => {
  // 200 dashboards connecting and subscribing at once are 400 requests, over the stage's burst of
  // 200: this suite is about fan-out, so its stage admits them (throttling.test.ts holds the throttle).
  t = await startTestCloud({
    stageThrottle: { rest: STAGE_THROTTLE.rest, websocket: { rateLimit: 1000, burstLimit: 1000 } },
  });
  keyA = await t.registerDevice('ws-a');
  keyB = await t.registerDevice('ws-b');
});
afterAll(async () => {
  for (const socket of open) socket.terminate();
  await t.stop();
});

describe('WebSocket API', () => {
  it('refuses a connection without a valid viewer token', async () => {
    await expect(connect('')).rejects.toThrow(/401/);
    await expect(connect('not-a-token')).rejects.toThrow(/401/);
  });

  it('subscribes to granted devices, refuses others with Forbidden, and answers bad messages with BadRequest', async () => {
    const client = await connect(await t.viewerToken(['ws-a']));

    expect(await client.send({ action: 'subscribe', deviceIds: ['ws-a'] })).toEqual({
      type: 'subscribed',
      deviceIds: ['ws-a'],
    });
    expect(await client.send({ action: 'subscribe', deviceIds: ['ws-a', 'ws-b'] })).toMatchObject({
      type: 'error',
      code: 'Forbidden',
      deviceIds: ['ws-b'],
    });
    expect(await client.send('not json')).toMatchObject({ type: 'error', code: 'BadRequest' });
    expect(await client.send({ action: 'dance' })).toMatchObject({
      type: 'error',
      code: 'BadRequest',
      details: [{ path: 'action' }],
    });
    expect(await client.send({ action: 'subscribe', deviceIds: [] })).toMatchObject({
      type: 'error',
      code: 'BadRequest',
      details: [{ path: 'deviceIds' }],
    });
  });

  it('pushes each reading once, as ReadingEnriched with its values, to the subscribers of its device and to nobody else', async () => {
    const a = await connect(await t.viewerToken(['ws-a']));
    const b = await connect(await t.viewerToken('*'));
    await a.send({ action: 'subscribe', deviceIds: ['ws-a'] });
    await b.send({ action: 'subscribe', deviceIds: ['ws-b'] });

    await postReading(keyA, 'ws-a', '2026-11-23T09:00:00Z');
    await postReading(keyB, 'ws-b', '2026-11-23T09:00:00Z');
    await waitFor(
      () => pushes(a, 'ReadingEnriched').length === 1 && pushes(b, 'ReadingEnriched').length === 1,
      'an enriched push for each',
      30_000, // the first enrichment starts its functions cold
    );

    expect(pushes(a)).toMatchObject([
      {
        type: 'ReadingEnriched',
        deviceId: 'ws-a',
        data: { deviceId: 'ws-a', readings: [{ metrics: { t: { value: 1 } } }] },
      },
    ]);
    expect(pushes(b)).toMatchObject([{ type: 'ReadingEnriched', deviceId: 'ws-b' }]);
    expect(typeof pushes(a)[0]?.eventId).toBe('string');
  });

  it('tells a device to stream while a dashboard subscribes to it, and that it may buffer before', async () => {
    const deviceId = 'ws-stream';
    const apiKey = await t.registerDevice(deviceId);
    const before = await (await postReading(apiKey, deviceId, '2026-11-23T08:00:00Z')).json();
    const client = await connect(await t.viewerToken([deviceId]));
    await client.send({ action: 'subscribe', deviceIds: [deviceId] });

    const watched = await (await postReading(apiKey, deviceId, '2026-11-23T08:01:00Z')).json();

    expect(before).toMatchObject({ duplicate: false, bufferSeconds: UNWATCHED_BUFFER_SECONDS });
    expect(watched).toMatchObject({ duplicate: false, bufferSeconds: 0 });
  });

  it('stops pushing after unsubscribe', async () => {
    const client = await connect(await t.viewerToken(['ws-a']));
    await client.send({ action: 'subscribe', deviceIds: ['ws-a'] });
    expect(await client.send({ action: 'unsubscribe', deviceIds: ['ws-a'] })).toEqual({
      type: 'unsubscribed',
      deviceIds: ['ws-a'],
    });
    const watcher = await connect(await t.viewerToken(['ws-a']));
    await watcher.send({ action: 'subscribe', deviceIds: ['ws-a'] });

    await postReading(keyA, 'ws-a', '2026-11-23T09:05:00Z');
    await waitFor(() => pushes(watcher, 'ReadingEnriched').length === 1, 'the watcher pushes', 30_000);

    expect(pushes(client)).toHaveLength(0);
  });

  it('pushes alerts, and an event delivered twice with the same eventId, which a dashboard drops', async () => {
    const client = await connect(await t.viewerToken(['ws-a']));
    await client.send({ action: 'subscribe', deviceIds: ['ws-a'] });
    const events = new EventBridgeClient(edgeClientConfig(t.cloud));
    const alert = {
      metadata: {
        eventId: 'f2c9a0a2-4b7e-5c1d-8e3f-9a0b1c2d3e4f',
        idempotencyKey: 'alert/ws-a/1',
        correlationId: 'c',
        schemaVersion: 1,
        producedAt: '2026-11-23T09:10:00.000Z',
      },
      data: {
        alertId: 'a1',
        summary: 't 9 is above 5',
        deviceId: 'ws-a',
        severity: 'warning',
        time: '2026-11-23T09:10:00.000Z',
        kind: 'threshold',
        metric: 't',
        value: 9,
        above: 5,
        readingTimestamp: '2026-11-23T09:10:00.000Z',
      },
    };
    const entry = {
      EventBusName: buses.telemetry.name,
      Source: 'sensorbus.enrichment',
      DetailType: 'AlertRaised',
      Detail: JSON.stringify(alert),
    };

    await events.send(new PutEventsCommand({ Entries: [entry] }));
    await waitFor(() => pushes(client, 'AlertRaised').length === 1, 'the alert push');
    await events.send(new PutEventsCommand({ Entries: [entry] }));
    await waitFor(() => pushes(client, 'AlertRaised').length === 2, 'the repeated push');

    expect(new Set(pushes(client, 'AlertRaised').map((m) => m.eventId))).toEqual(
      new Set([alert.metadata.eventId]),
    );
    expect(pushes(client, 'AlertRaised')[0]).toMatchObject({
      deviceId: 'ws-a',
      data: { alertId: 'a1', severity: 'warning' },
    });
  });

  it('forgets a connection that vanished at the first GoneException', async () => {
    const dynamo = edgeDynamo(t.cloud);
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await dynamo.send(
      new PutCommand({
        TableName: tables.connections.name,
        Item: {
          connectionId: 'ghost=',
          sk: 'connection',
          role: 'viewer',
          deviceIds: '*',
          connectedAt: new Date().toISOString(),
          expiresAt,
        },
      }),
    );
    await dynamo.send(
      new PutCommand({
        TableName: tables.connections.name,
        Item: { connectionId: 'ghost=', sk: 'device#ws-b', deviceId: 'ws-b', expiresAt },
      }),
    );
    const live = await connect(await t.viewerToken(['ws-b']));
    await live.send({ action: 'subscribe', deviceIds: ['ws-b'] });

    await postReading(keyB, 'ws-b', '2026-11-23T09:20:00Z');
    await waitFor(() => pushes(live, 'ReadingEnriched').length === 1, 'the live push');

    await waitFor(
      async () =>
        (await storedItems(t.cloud, tables.connections.name, 'connectionId', 'ghost=')).length === 0,
      'the ghost connection to be forgotten',
    );
  });

  // More connections than three rounds of the push handler's sends at once
  const FAN_OUT = 3 * PUSH_CONCURRENCY + 1;

  it(`delivers one push to each of ${FAN_OUT} connected clients`, async () => {
    const token = await t.viewerToken(['ws-a']);
    const clients = await Promise.all(Array.from({ length: FAN_OUT }, () => connect(token)));
    await Promise.all(clients.map((c) => c.send({ action: 'subscribe', deviceIds: ['ws-a'] })));

    await postReading(keyA, 'ws-a', '2026-11-23T09:30:00Z');

    await waitFor(
      () => clients.every((c) => pushes(c, 'ReadingEnriched').length === 1),
      `a push on all ${FAN_OUT} clients`,
      20_000,
    );
    expect(clients.filter((c) => pushes(c).length === 1)).toHaveLength(FAN_OUT);
  }, 120_000);
});
