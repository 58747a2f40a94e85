import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tables } from '../../infra/resources.ts';
import {
  edgeClientConfig,
  edgeDynamo,
  recordedReadings,
  startTestCloud,
  storedReadings,
  streamDrained,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';

let t: TestCloud;

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 20 });
});
afterAll(() => t.stop());

/** `count` readings a minute apart from `start`, of a device nobody watches. */
const minutes = (deviceId: string, start: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    deviceId,
    timestamp: new Date(Date.parse(start) + i * 60_000).toISOString(),
    metrics: { t: 20 + i / 10, h: 40 + i, p: 1013 },
  }));

const post = (apiKey: string, readings: readonly unknown[]) =>
  t.api('/readings', { method: 'POST', apiKey, json: { readings } });

/** The items of the readings table of a device, as they are stored. */
const rawItems = async (deviceId: string) =>
  (
    await edgeDynamo(t.cloud).send(
      new QueryCommand({
        TableName: tables.readings.name,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

/** The readings stream's records of a device's items. */
const streamRecords = async (deviceId: string) => {
  const streams = new DynamoDBStreamsClient(edgeClientConfig(t.cloud));
  const [stream] =
    (await streams.send(new ListStreamsCommand({ TableName: tables.readings.name }))).Streams ?? [];
  const described = await streams.send(new DescribeStreamCommand({ StreamArn: stream?.StreamArn }));
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: stream?.StreamArn,
      ShardId: described.StreamDescription?.Shards?.[0]?.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const { Records = [] } = await streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
  return Records.filter((record) => record.dynamodb?.Keys?.deviceId?.S === deviceId);
};

/** Each reading of a device announced, with the ids of the events that carried it. */
const announcedIds = (deviceId: string) => {
  const ids = new Map<string, Set<string>>();
  for (const { timestamp, eventId } of recordedReadings(t, deviceId))
    ids.set(timestamp, (ids.get(timestamp) ?? new Set()).add(eventId));
  return ids;
};

describe('readings packed by the hour', () => {
  it('stores an unwatched upload of 60 readings as one item written once, and serves them back', async () => {
    const deviceId = 'hour-sixty';
    const apiKey = await t.registerDevice(deviceId);
    const upload = minutes(deviceId, '2026-11-25T08:00:00.000Z', 60);

    const response = await post(apiKey, upload);

    expect(response.status).toBe(202);
    const items = await rawItems(deviceId);
    expect(items.map((item) => item.timestamp)).toEqual(['2026-11-25T08']);
    expect(Object.keys(items[0]?.r ?? {})).toHaveLength(60);
    expect((await streamRecords(deviceId)).map((record) => record.eventName)).toEqual(['INSERT']);
    const page = await t.api(`/devices/${deviceId}/readings?limit=100`, { token: t.adminToken });
    const { items: served } = (await page.json()) as { items: { timestamp: string; metrics: unknown }[] };
    expect(served.map(({ timestamp, metrics }) => ({ deviceId, timestamp, metrics }))).toEqual(upload);
    await streamDrained(t);
    expect([...announcedIds(deviceId).keys()].sort()).toEqual(upload.map((r) => r.timestamp));
  }, 60_000);

  it('stores and announces each reading once when the same upload races itself, and after a re-post of a partial 503', async () => {
    const deviceId = 'hour-race';
    const apiKey = await t.registerDevice(deviceId);
    // 30 readings over two hours, posted five times at once.
    const upload = minutes(deviceId, '2026-11-25T10:45:00.000Z', 30);

    const answers = await Promise.all(Array.from({ length: 5 }, () => post(apiKey, upload)));
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as {
      results: { status: number; duplicate?: boolean }[];
    }[];

    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    // Each reading was stored by exactly one of the five uploads, a duplicate for the four others.
    expect(
      upload.map((_, i) => bodies.filter((body) => body.results[i]?.duplicate === false).length),
    ).toEqual(upload.map(() => 1));

    // Then an upload over an hour already packed into (by two readings: a lone one would be a put)
    // and a new one, whose creation fails: part way.
    const opener = minutes(deviceId, '2026-11-25T12:48:00.000Z', 2);
    expect((await post(apiKey, opener)).status).toBe(202);
    const later = minutes(deviceId, '2026-11-25T12:50:00.000Z', 20);
    t.cloud.faults.inject({ service: 'dynamodb', operation: 'PutItem', mode: 'error', times: 1000 });
    const partial = await post(apiKey, later);
    t.cloud.faults.clear();
    const partialBody = (await partial.json()) as { results: { status: number }[] };
    const retried = await post(apiKey, later);
    const retriedBody = (await retried.json()) as { results: { status: number; duplicate?: boolean }[] };

    expect(partial.status).toBe(207);
    const failed = partialBody.results.map((r) => r.status === 503);
    expect(failed).toEqual(later.map((r) => r.timestamp >= '2026-11-25T13'));
    expect(retried.status).toBe(202);
    expect(retriedBody.results.map((r) => r.duplicate)).toEqual(failed.map((f) => !f));
    const stored = await storedReadings(t.cloud, deviceId);
    const everyReading = [...upload, ...opener, ...later].map((r) => r.timestamp);
    expect(stored.map((item) => item.timestamp)).toEqual(everyReading);
    await streamDrained(t);
    const ids = await waitFor(() => {
      const announced = announcedIds(deviceId);
      return announced.size === everyReading.length && announced;
    }, 'every reading announced');
    expect([...ids.keys()].sort()).toEqual(everyReading);
    expect([...ids.values()].every((eventIds) => eventIds.size === 1)).toBe(true);
  }, 90_000);

  it('pages through packed readings, reading items of a full hour and readings stored before hour items, in time order', async () => {
    const deviceId = 'hour-pages';
    const apiKey = await t.registerDevice(deviceId);
    // A reading stored before hour items, in the hour 09.
    const legacy = minutes(deviceId, '2026-11-25T09:30:30.000Z', 1)[0];
    await edgeDynamo(t.cloud).send(
      new PutCommand({
        TableName: tables.readings.name,
        Item: { ...legacy, receivedAt: '2026-11-25T09:31:00.000Z', readingId: 'legacy', correlationId: 'c' },
      }),
    );
    // Then an upload over 09:00–10:29: hour 09 is made full (it has a reading item), hour 10 packed.
    const upload = minutes(deviceId, '2026-11-25T09:00:00.000Z', 90);

    const answer = await post(apiKey, upload);

    expect(answer.status).toBe(202);
    const items = await rawItems(deviceId);
    expect(items.filter((item) => String(item.timestamp).length === 13)).toEqual([
      expect.objectContaining({ timestamp: '2026-11-25T09', full: true, r: {} }),
      expect.objectContaining({ timestamp: '2026-11-25T10' }),
    ]);
    const every = [...upload, legacy].map((r) => r?.timestamp ?? '').sort();
    const token = t.adminToken;
    const served: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `from=2026-11-25T09:15:00.000Z&to=2026-11-25T10:14:00.000Z&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await t.api(`/devices/${deviceId}/readings?${query}`, { token })).json()) as {
        items: { timestamp: string }[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(7);
      served.push(...page.items.map((item) => item.timestamp));
      cursor = page.nextCursor;
    } while (cursor);
    expect(served).toEqual(
      every.filter((ts) => ts >= '2026-11-25T09:15' && ts <= '2026-11-25T10:14:00.000Z'),
    );
  }, 60_000);
});
