import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { dynamoDevices } from '../../handlers/lib/devices-store.ts';
import { isHourKey } from '../../handlers/lib/hour-items.ts';
import { tables } from '../../infra/topology.ts';
import { AggregatesPage } from '../../schemas/reading.ts';
import { edgeDynamo, startTestCloud, storedItems, type TestCloud, waitFor } from '../support/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud({
    ttlSweepIntervalMs: 100,
    websocketIdleTimeoutMs: 400,
    readingsRetentionDays: 1,
  });
});
afterAll(() => t.stop());

describe('expiry', () => {
  it('deletes items whose TTL has passed, as DynamoDB TTL does, and keeps the others', async () => {
    const dynamo = edgeDynamo(t.cloud);
    const now = Math.floor(Date.now() / 1000);
    const put = (connectionId: string, expiresAt: number) =>
      dynamo.send(
        new PutCommand({
          TableName: tables.connections.name,
          Item: { connectionId, sk: 'device#x', deviceId: 'x', expiresAt },
        }),
      );
    await put('abandoned=', now - 10);
    await put('alive=', now + 3600);

    await waitFor(
      async () =>
        (await storedItems(t.cloud, tables.connections.name, 'connectionId', 'abandoned=')).length === 0,
      'the expired item to be swept',
    );

    expect(await storedItems(t.cloud, tables.connections.name, 'connectionId', 'alive=')).toHaveLength(1);
  });

  it('keeps a reading for the retention after its timestamp, then lets it expire; an older one is refused naming timestamp', async () => {
    const deviceId = 'retained-1';
    const apiKey = await t.registerDevice(deviceId);
    const day = 86_400_000;
    // Watched, the device's readings are reading items, each expiring the retention after its
    // timestamp (a reading packed in its hour's item expires with the item, after the hour's end).
    await dynamoDevices(edgeDynamo(t.cloud), tables.devices.name).markWatched(
      deviceId,
      new Date(Date.now() + 3_600_000).toISOString(),
      new Date().toISOString(),
    );
    const readingItems = async () =>
      (await storedItems(t.cloud, tables.readings.name, 'deviceId', deviceId)).filter(
        (item) => !isHourKey(String(item.timestamp)),
      );
    const post = (timestamp: string) =>
      t.api('/readings', { method: 'POST', apiKey, json: { deviceId, timestamp, metrics: { t: 1 } } });
    // The functions start cold on a loaded machine: warm them so the next post answers promptly.
    const warm = await post(new Date().toISOString());
    expect(warm.status).toBe(202);
    const expiring = new Date(Date.now() - day + 10_000).toISOString();
    const tooOld = new Date(Date.now() - day - 60_000).toISOString();

    const kept = await post(expiring);
    const refused = await post(tooOld);

    expect(kept.status).toBe(202);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { code: 'ValidationError', details: [{ path: 'timestamp' }] },
    });
    const stored = await readingItems();
    expect(stored.map((item) => item.timestamp)).toEqual([expiring, expect.any(String)]);
    expect(stored[0]).toMatchObject({ expiresAt: Math.floor(Date.parse(expiring) / 1000) + 86_400 });
    await waitFor(
      async () => (await readingItems()).every((item) => item.timestamp !== expiring),
      'the reading to expire',
      30_000,
    );
    // Buckets of an hour and more are stored and outlive the reading; 1m, 5m and 15m are computed
    // from the readings, so they end with them.
    const around = `from=${new Date(Date.parse(expiring) - 3_600_000).toISOString()}&to=${new Date(Date.parse(expiring) + 3_600_000).toISOString()}`;
    const buckets = async (size: string) => {
      const response = await t.api(`/devices/${deviceId}/readings?${around}&bucket=${size}`, {
        token: await t.viewerToken([deviceId]),
      });
      expect(response.status).toBe(200);
      return AggregatesPage.parse(await response.json()).items;
    };
    const hours = await waitFor(
      async () => {
        const items = await buckets('1h');
        return items.length === 1 && items;
      },
      'the stored rollup of the expired reading',
      30_000,
    );
    expect(hours[0]?.metrics.t?.count).toBe(1);
    expect((await buckets('6h')).map((bucket) => bucket.metrics.t?.count)).toEqual([1]);
    expect(await buckets('1m')).toEqual([]);
    expect(await buckets('5m')).toEqual([]);
    expect(await buckets('15m')).toEqual([]);
  }, 90_000);

  it('closes an idle WebSocket connection and forgets it, as API Gateway does', async () => {
    const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${await t.viewerToken('*')}`);
    await new Promise((resolve) => socket.once('open', resolve));

    const code = await new Promise<number>((resolve) =>
      socket.once('close', (closeCode) => resolve(closeCode)),
    );

    expect(code).toBe(1001);
    await waitFor(() => t.cloud.websocket.connectionCount === 0, 'the connection to be dropped');
  });

  it('closes a connection whose frame exceeds 128 KiB with 1009', async () => {
    const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${await t.viewerToken('*')}`);
    await new Promise((resolve) => socket.once('open', resolve));

    const closed = new Promise<number>((resolve) => socket.once('close', (closeCode) => resolve(closeCode)));
    socket.send('x'.repeat(128 * 1024 + 1));

    expect(await closed).toBe(1009);
  });
});
