import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../handlers/lib/auth.ts';
import { tables } from '../../infra/topology.ts';
import { ErrorBody } from '../../schemas/error.ts';
import { IngestBatchAnswer, IngestReadingAnswer, UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import {
  edgeDynamo,
  recordedEvents,
  recordedReadings,
  startTestCloud,
  storedReadings,
  streamDrained,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';

let t: TestCloud;
let key: string;
const deviceId = 'ingest-1';
const reading = (timestamp: string, metrics: Record<string, number> = { temperature: 21.5 }) => ({
  deviceId,
  timestamp,
  metrics,
});

beforeAll(async () => {
  t = await startTestCloud({ retryBaseDelayMs: 20 });
  key = await t.registerDevice(deviceId);
});
afterAll(() => t.stop());

const post = (body: unknown, init: { apiKey?: string; headers?: Record<string, string> } = {}) =>
  t.api('/readings', {
    method: 'POST',
    apiKey: init.apiKey ?? key,
    json: body,
    ...(init.headers ? { headers: init.headers } : {}),
  });

describe('POST /readings', () => {
  it('stores a reading once and emits ReadingRecorded once', async () => {
    // Act
    const response = await post(reading('2026-11-01T10:00:00+01:00'));
    const body = await response.json();

    // Assess
    expect(response.status).toBe(202);
    expect(IngestReadingAnswer.safeParse(body).error).toBeUndefined();
    expect(body).toMatchObject({
      deviceId,
      timestamp: '2026-11-01T09:00:00.000Z',
      duplicate: false,
      bufferSeconds: UNWATCHED_BUFFER_SECONDS,
    });
    const stored = await storedReadings(t.cloud, deviceId);
    expect(stored.filter((item) => item.timestamp === '2026-11-01T09:00:00.000Z')).toHaveLength(1);
    await streamDrained(t);
    const events = recordedEvents(t, deviceId).filter((e) =>
      (e.event.detail.data as { readings: { timestamp: string }[] }).readings.some(
        (r) => r.timestamp === '2026-11-01T09:00:00.000Z',
      ),
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.event.detail).toMatchObject({
      metadata: { schemaVersion: 2 },
      data: {
        deviceId,
        readings: [{ readingId: (body as { readingId: string }).readingId, metrics: { temperature: 21.5 } }],
      },
    });
  });

  it("reads the key, the device and a lone reading's hour in one BatchGetItem, and answers a refused key 401 whatever the body", async () => {
    const timestamp = '2026-11-01T15:00:00.000Z';
    // Every GetItem through the edge fails: the reads the upload needs come in its BatchGetItem.
    t.cloud.faults.inject({ service: 'dynamodb', operation: 'GetItem', mode: 'error' });
    const stored = await post(reading(timestamp)).finally(() => t.cloud.faults.clear());

    expect(stored.status).toBe(202);
    expect(await stored.json()).toMatchObject({ timestamp, duplicate: false });
    expect((await storedReadings(t.cloud, deviceId)).map((item) => item.timestamp)).toContain(timestamp);
    const refused = await Promise.all(
      [JSON.stringify(reading(timestamp)), '{"deviceId": ', JSON.stringify({ readings: 'x' })].map((body) =>
        t.api('/readings', {
          method: 'POST',
          apiKey: 'sb_not-a-key',
          body,
          headers: { 'content-type': 'application/json' },
        }),
      ),
    );
    expect(refused.map((response) => response.status)).toEqual([401, 401, 401]);
  });

  it("answers a device nobody watches with its alarms' limits to post at once on, as they are now", async () => {
    const alarmed = 'ingest-flush-1';
    const apiKey = await t.registerDevice(alarmed, {
      alarms: [
        { metric: 'temperature', above: 30, severity: 'critical', escalateAfterMinutes: 5 },
        { metric: 'humidity', below: 10, above: 90, severity: 'warning' },
      ],
    });
    const postOne = (timestamp: string) =>
      post({ deviceId: alarmed, timestamp, metrics: { temperature: 21 } }, { apiKey });

    const first = await postOne('2026-11-01T10:00:00Z');
    const changed = await t.api(`/devices/${alarmed}`, {
      method: 'PUT',
      token: t.adminToken,
      json: { alarms: [{ metric: 'temperature', below: -5, severity: 'warning' }] },
    });
    const batch = await post(
      { readings: [{ deviceId: alarmed, timestamp: '2026-11-01T10:05:00Z', metrics: { temperature: 21 } }] },
      { apiKey },
    );

    expect(first.status).toBe(202);
    const body = await first.json();
    expect(IngestReadingAnswer.safeParse(body).error).toBeUndefined();
    expect(body).toMatchObject({
      bufferSeconds: UNWATCHED_BUFFER_SECONDS,
      flushWhen: [
        { metric: 'temperature', above: 30 },
        { metric: 'humidity', below: 10, above: 90 },
      ],
    });
    expect(changed.status).toBe(200);
    expect(batch.status).toBe(202);
    const batchBody = await batch.json();
    expect(IngestBatchAnswer.safeParse(batchBody).error).toBeUndefined();
    expect(batchBody).toMatchObject({ flushWhen: [{ metric: 'temperature', below: -5 }] });
  });

  it('answers a repeated reading with duplicate: true, storing and emitting nothing more', async () => {
    const first = await (await post(reading('2026-11-01T11:00:00Z'))).json();
    await streamDrained(t);
    const before = recordedEvents(t, deviceId).length;

    const again = await post(reading('2026-11-01T12:00:00+01:00', { temperature: 21.5 }));
    const againBody = await again.json();
    await streamDrained(t);

    expect(again.status).toBe(202);
    expect(againBody).toEqual({ ...(first as object), duplicate: true });
    expect(recordedEvents(t, deviceId)).toHaveLength(before);
    const stored = (await storedReadings(t.cloud, deviceId)).filter(
      (i) => i.timestamp === '2026-11-01T11:00:00.000Z',
    );
    expect(stored).toHaveLength(1);
  });

  it('answers 409 Conflict naming the timestamp when a repeat carries other values, in a batch per item, storing nothing', async () => {
    await post({ ...reading('2026-11-01T13:00:00Z', { temperature: 20 }), sequence: 4 });
    await streamDrained(t);
    const before = recordedEvents(t, deviceId).length;

    const changed = await post({ ...reading('2026-11-01T13:00:00Z', { temperature: 99 }), sequence: 4 });
    const resequenced = await post({
      ...reading('2026-11-01T14:00:00+01:00', { temperature: 20 }),
      sequence: 5,
    });
    const same = await post({ ...reading('2026-11-01T13:00:00.000Z', { temperature: 20.0 }), sequence: 4 });
    const batch = await post({
      readings: [
        reading('2026-11-01T13:00:00Z', { temperature: 21 }),
        reading('2026-11-01T13:30:00Z', { temperature: 1 }),
        reading('2026-11-01T13:30:00Z', { temperature: 2 }),
      ],
    });

    expect([changed.status, resequenced.status, same.status, batch.status]).toEqual([409, 409, 202, 207]);
    for (const response of [changed, resequenced]) {
      const body = ErrorBody.parse(await response.json());
      expect(body.error.code).toBe('Conflict');
      expect(body.error.details.map((d) => d.path)).toEqual(['timestamp']);
    }
    expect(await same.json()).toMatchObject({ duplicate: true });
    const answer = IngestBatchAnswer.parse(await batch.json());
    expect(answer.results.map((r) => r.status)).toEqual([409, 202, 409]);
    expect(answer.results.flatMap((r) => ('error' in r ? r.error.details.map((d) => d.path) : []))).toEqual([
      'readings.0.timestamp',
      'readings.2.timestamp',
    ]);
    const stored = await storedReadings(t.cloud, deviceId);
    expect(stored.find((i) => i.timestamp === '2026-11-01T13:00:00.000Z')).toMatchObject({
      metrics: { temperature: 20 },
      sequence: 4,
    });
    expect(stored.find((i) => i.timestamp === '2026-11-01T13:30:00.000Z')?.metrics).toEqual({
      temperature: 1,
    });
    await streamDrained(t);
    expect(recordedEvents(t, deviceId)).toHaveLength(before + 1);
  });

  it('answers a body nested 100,000 levels deep 400 naming the path, while another device keeps being served', async () => {
    // Prepare
    const neighbour = 'ingest-neighbour';
    const neighbourKey = await t.registerDevice(neighbour);
    const depth = 100_000;
    const deep = `{"deviceId":"${deviceId}","timestamp":"2026-11-02T00:00:00Z","metrics":{"t":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const answered: string[] = [];

    // Act: the deep post first, then the neighbour's posts one after another
    const deepAnswer = t
      .api('/readings', {
        method: 'POST',
        apiKey: key,
        headers: { 'content-type': 'application/json' },
        body: deep,
      })
      .then(async (response) => {
        answered.push('deep');
        return { status: response.status, body: ErrorBody.parse(await response.json()) };
      });
    const neighbourStatuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await t.api('/readings', {
        method: 'POST',
        apiKey: neighbourKey,
        json: {
          deviceId: neighbour,
          timestamp: new Date(Date.UTC(2026, 10, 2, 0, i)).toISOString(),
          metrics: { t: i },
        },
      });
      neighbourStatuses.push(response.status);
      answered.push('neighbour');
    }
    const refused = await deepAnswer;

    // Assess
    expect(neighbourStatuses).toEqual(Array(10).fill(202));
    expect(answered.filter((who) => who === 'neighbour')).toHaveLength(10);
    expect(answered.filter((who) => who === 'deep')).toHaveLength(1);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toHaveLength(1);
    expect(refused.body.error.details[0]?.path).toMatch(/^metrics\.t(\.0)+$/);
    expect(refused.body.error.message).toMatch(/^Request nests too deeply at metrics\.t\.0\.0\.…/);
    expect(
      (await storedReadings(t.cloud, deviceId)).some((i) => i.timestamp === '2026-11-02T00:00:00.000Z'),
    ).toBe(false);
  });

  it('accepts a batch of 100, announces each new reading once under its upload, and dedupes repeats inside the batch', async () => {
    const readings = Array.from({ length: 99 }, (_, i) =>
      reading(new Date(Date.UTC(2026, 9, 1, 0, i)).toISOString()),
    );
    readings.push(readings[0] as (typeof readings)[number]);
    await streamDrained(t);
    const before = recordedEvents(t, deviceId).length;
    const readingsBefore = recordedReadings(t, deviceId).length;

    const response = await post({ readings });
    const body = (await response.json()) as { accepted: number; results: { duplicate: boolean }[] };

    expect(response.status).toBe(202);
    expect(body.accepted).toBe(100);
    expect(body.results.filter((r) => r.duplicate)).toHaveLength(1);
    await streamDrained(t);
    // The stream batches the upload's records as they arrive: one event, or a few when its puts
    // straddle a batch; every reading in exactly one of them, all under the one upload.
    const events = recordedEvents(t, deviceId).slice(before);
    const announced = recordedReadings(t, deviceId).slice(readingsBefore);
    expect(new Set(events.map((e) => (e.event.detail.data as { uploadId: string }).uploadId)).size).toBe(1);
    expect(announced).toHaveLength(99);
    expect(new Set(announced.map((r) => r.timestamp)).size).toBe(99);
  });

  it('answers 207 with per-item results when some readings are rejected, storing only the valid ones', async () => {
    const response = await post({
      readings: [
        reading('2026-10-02T00:00:00Z'),
        { deviceId, timestamp: 'yesterday', metrics: { t: 1 } },
        reading('2026-10-02T00:01:00Z', { 'bad-name': 1 }),
      ],
    });
    const body = (await response.json()) as {
      accepted: number;
      rejected: number;
      results: { status: number; error?: { details: { path: string }[] } }[];
    };

    expect(response.status).toBe(207);
    expect(IngestBatchAnswer.safeParse(body).error).toBeUndefined();
    expect(body).toMatchObject({ accepted: 1, rejected: 2 });
    expect(body.results.map((r) => r.status)).toEqual([202, 400, 400]);
    expect(body.results[1]?.error?.details[0]?.path).toBe('readings.1.timestamp');
    expect(body.results[2]?.error?.details[0]?.path).toBe('readings.2.metrics.bad-name');
    const stored = await storedReadings(t.cloud, deviceId);
    expect(stored.some((i) => i.timestamp === '2026-10-02T00:01:00.000Z')).toBe(false);
  });

  it.each([
    ['malformed JSON', '{"deviceId": ', 400, ''],
    ['a reading with no metrics', reading('2026-10-03T00:00:00Z', {}), 400, 'metrics'],
    [
      'a non-finite number',
      '{"deviceId":"ingest-1","timestamp":"2026-10-03T00:00:00Z","metrics":{"t":1e999}}',
      400,
      'metrics.t',
    ],
    ['an unknown field', { ...reading('2026-10-03T00:00:00Z'), extra: true }, 400, 'extra'],
    ['a timestamp 10 minutes ahead', reading(new Date(Date.now() + 600_000).toISOString()), 400, 'timestamp'],
    ['an empty batch', { readings: [] }, 400, 'readings'],
    [
      'a batch of 101',
      {
        readings: Array.from({ length: 101 }, (_, i) =>
          reading(new Date(Date.UTC(2026, 8, 1, 0, i)).toISOString()),
        ),
      },
      400,
      'readings',
    ],
    ['a batch with only bad readings', { readings: [{ deviceId }] }, 400, 'readings.0.timestamp'],
    [
      'a number DynamoDB cannot store exactly',
      '{"deviceId":"ingest-1","timestamp":"2026-10-03T00:00:00Z","metrics":{"t":1e308}}',
      400,
      'metrics.t',
    ],
    [
      'a number too small for DynamoDB',
      '{"deviceId":"ingest-1","timestamp":"2026-10-03T00:00:00Z","metrics":{"t":5e-324}}',
      400,
      'metrics.t',
    ],
    [
      'a metric named __proto__',
      '{"deviceId":"ingest-1","timestamp":"2026-10-03T00:00:00Z","metrics":{"__proto__":1,"t":2}}',
      400,
      'metrics.__proto__',
    ],
    ['a time before year 0000 in UTC', reading('0000-01-01T00:30:00+01:00'), 400, 'timestamp'],
  ])('rejects %s with a 4xx naming the field, storing nothing', async (_, body, status, path) => {
    const before = (await storedReadings(t.cloud, deviceId)).length;
    await streamDrained(t);
    const events = recordedEvents(t, deviceId).length;

    const response = await t.api('/readings', {
      method: 'POST',
      apiKey: key,
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const answer = (await response.json()) as { error: { code: string; details: { path: string }[] } };

    expect(response.status).toBe(status);
    expect(answer.error.details.map((d) => d.path)).toContain(path);
    expect(await storedReadings(t.cloud, deviceId)).toHaveLength(before);
    await streamDrained(t);
    expect(recordedEvents(t, deviceId)).toHaveLength(events);
  });

  it('answers 401 without a key or with a bad one, 403 for another device, 413 past 256 KiB, 415 when not JSON', async () => {
    const other = await t.registerDevice('ingest-other');
    const body = reading('2026-10-04T00:00:00Z');

    const noKey = await t.api('/readings', { method: 'POST', json: body });
    const badKey = await post(body, { apiKey: 'sbk_nope' });
    const foreign = await post(body, { apiKey: other });
    const huge = await post({ ...body, metrics: { t: 1 }, padding: 'x'.repeat(300 * 1024) });
    const text = await t.api('/readings', {
      method: 'POST',
      apiKey: key,
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });

    expect([noKey.status, badKey.status, foreign.status, huge.status, text.status]).toEqual([
      401, 401, 403, 413, 415,
    ]);
    for (const response of [noKey, badKey, foreign, huge, text]) {
      const answer = (await response.json()) as { error: { code: string; message: string } };
      expect(answer.error.message).not.toBe('');
    }
    expect(
      (await storedReadings(t.cloud, deviceId)).some((i) => i.timestamp === '2026-10-04T00:00:00.000Z'),
    ).toBe(false);
  });

  it("lets in a key issued before keys had records while it is its live device's current key, and refuses it once the device is deleted", async () => {
    // Prepare: a device whose key has no record of its own, as before key records existed.
    const legacyId = 'ingest-legacy';
    const legacyKey = await t.registerDevice(legacyId);
    const dynamo = edgeDynamo(t.cloud);
    await dynamo.send(
      new DeleteCommand({ TableName: tables.deviceKeys.name, Key: { apiKeyHash: hashApiKey(legacyKey) } }),
    );
    const legacyReading = (timestamp: string) => ({ deviceId: legacyId, timestamp, metrics: { t: 1 } });

    // Act
    const live = await post(legacyReading('2026-10-05T00:00:00Z'), { apiKey: legacyKey });
    await dynamo.send(
      new UpdateCommand({
        TableName: tables.devices.name,
        Key: { deviceId: legacyId },
        UpdateExpression: 'SET deletedAt = :t',
        ExpressionAttributeValues: { ':t': new Date().toISOString() },
      }),
    );
    const deleted = await post(legacyReading('2026-10-05T00:01:00Z'), { apiKey: legacyKey });

    // Assess
    expect([live.status, deleted.status]).toEqual([202, 401]);
  });

  it('checks the key before it reads the body: a refused key is 401 naming x-api-key, whatever the body', async () => {
    const unreadable = await t.api('/readings', {
      method: 'POST',
      apiKey: 'sbk_nope',
      headers: { 'content-type': 'text/plain' },
      body: 'not json',
    });
    const noKeyHuge = await t.api('/readings', {
      method: 'POST',
      json: { ...reading('2026-10-04T00:00:01Z'), padding: 'x'.repeat(300 * 1024) },
    });

    for (const response of [unreadable, noKeyHuge]) {
      expect(response.status).toBe(401);
      const answer = (await response.json()) as {
        error: { code: string; message: string; details: { path: string }[] };
      };
      expect(answer.error).toMatchObject({ code: 'Unauthorized', message: 'Missing or invalid credentials' });
      expect(answer.error.details.map((detail) => detail.path)).toEqual(['x-api-key']);
    }
  });

  it("keeps the newest reading by timestamp as the device's last reading, whatever the arrival order", async () => {
    await t.registerDevice('ingest-last');
    const lastKey = await t.registerDevice('ingest-last-2');
    const devicePost = (timestamp: string) =>
      t.api('/readings', {
        method: 'POST',
        apiKey: lastKey,
        json: { deviceId: 'ingest-last-2', timestamp, metrics: { t: 1 } },
      });

    await devicePost('2026-11-05T10:00:00Z');
    await devicePost('2026-11-05T09:00:00Z');
    // Recorded by the enrichment workflow, off the request path: wait for both readings' workflows.
    await waitFor(
      () => t.cloud.stepFunctions.executions().filter((e) => e.input.includes('ingest-last-2')).length === 2,
      'both workflows to start',
    );
    await t.cloud.stepFunctions.idle();

    const device = (await (await t.api('/devices/ingest-last-2', { token: t.adminToken })).json()) as {
      device: { lastReading: { timestamp: string } };
    };
    expect(device.device.lastReading.timestamp).toBe('2026-11-05T10:00:00.000Z');
  });
});

describe('readings that once broke the store', () => {
  it('stores a metric named constructor, and tells readings apart by millisecond even with long fractions', async () => {
    const first = await post(reading('2026-09-09T00:00:00.999Z', { constructor: 1 }));
    const second = await post(reading('2026-09-09T00:00:00.0009999999999Z', { constructor: 2 }));

    expect(first.status).toBe(202);
    expect(await second.json()).toMatchObject({ timestamp: '2026-09-09T00:00:00.000Z', duplicate: false });
    const stored = (await storedReadings(t.cloud, deviceId)).filter((i) =>
      String(i.timestamp).startsWith('2026-09-09'),
    );
    expect(stored.map((i) => i.metrics)).toEqual([{ constructor: 2 }, { constructor: 1 }]);
  });
});

describe('GET /devices/{id}/readings', () => {
  it('pages through a time range oldest first with an opaque cursor', async () => {
    const historyKey = await t.registerDevice('history-1');
    const readings = Array.from({ length: 25 }, (_, i) => ({
      deviceId: 'history-1',
      timestamp: new Date(Date.UTC(2026, 10, 10, 0, 24 - i)).toISOString(),
      metrics: { t: 24 - i },
    }));
    await t.api('/readings', { method: 'POST', apiKey: historyKey, json: { readings } });

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({
        from: '2026-11-10T00:05:00Z',
        to: '2026-11-10T00:20:00Z',
        limit: '4',
        ...(cursor ? { cursor } : {}),
      });
      const page = (await (
        await t.api(`/devices/history-1/readings?${query}`, { token: t.adminToken })
      ).json()) as {
        items: { metrics: { t: number } }[];
        nextCursor: string | null;
      };
      seen.push(...page.items.map((i) => i.metrics.t));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);

    expect(seen).toEqual(Array.from({ length: 16 }, (_, i) => i + 5));
    expect(pages).toBe(4);
  });

  it('rejects a bad query naming the field', async () => {
    const bad = async (query: string) =>
      (
        (await (await t.api(`/devices/history-1/readings?${query}`, { token: t.adminToken })).json()) as {
          error: { details: { path: string }[] };
        }
      ).error.details[0]?.path;
    expect(await bad('limit=1001')).toBe('limit');
    expect(await bad('from=yesterday')).toBe('from');
    expect(await bad('cursor=zzz')).toBe('cursor');
    expect(await bad('from=2026-11-10T00:00:00Z&to=2026-11-09T00:00:00Z')).toBe('from');
    expect((await t.api('/devices/nobody/readings', { token: t.adminToken })).status).toBe(404);
  });
});

describe('a failing bus', () => {
  it('acknowledges every reading while PutEvents fails, and the announcer emits each exactly once after recovery', async () => {
    const busKey = await t.registerDevice('bus-down');
    // Nothing else puts events meanwhile, so every injected failure is the announcer's.
    await streamDrained(t, 60_000);
    await t.cloud.stepFunctions.idle();
    await waitFor(() => !t.cloud.events.busy() && t.cloud.events.pendingCount() === 0, 'deliveries done');
    // PutEvents fails until lifted, counting its failures (an announcer invocation makes at most 9).
    const untilLifted = 1_000_000;
    t.cloud.faults.inject({ service: 'events', operation: 'PutEvents', mode: 'error', times: untilLifted });
    const failed = () => untilLifted - (t.cloud.faults.list()[0]?.remaining ?? untilLifted);
    const timestamps = Array.from({ length: 12 }, (_, i) =>
      new Date(Date.UTC(2026, 10, 12, 0, i)).toISOString(),
    );

    // One after another: twelve at once could meet the gateway's refusal past 8 waiting invocations (429)
    const answers: Awaited<ReturnType<typeof t.api>>[] = [];
    for (const timestamp of timestamps)
      answers.push(
        await t.api('/readings', {
          method: 'POST',
          apiKey: busKey,
          json: { deviceId: 'bus-down', timestamp, metrics: { t: 1 } },
        }),
      );
    // Counted while the bus still fails, once the mapping has retried the announcer's batch.
    const whileDown = await waitFor(
      () => failed() >= 18 && { announced: recordedReadings(t, 'bus-down').length },
      '18 failed PutEvents calls',
      60_000,
    );
    const stored = await storedReadings(t.cloud, 'bus-down');
    t.cloud.faults.clear();
    await streamDrained(t, 60_000);

    expect(answers.map((a) => a.status)).toEqual(timestamps.map(() => 202));
    expect(stored).toHaveLength(12);
    expect(whileDown).toEqual({ announced: 0 });
    // Twelve uploads of one reading each: each reading announced once, in its upload's event.
    const announced = recordedReadings(t, 'bus-down');
    expect(new Set(announced.map((r) => r.readingId)).size).toBe(12);
    expect(announced).toHaveLength(12);
    expect(new Set(announced.map((r) => r.eventId)).size).toBe(12);
  });

  it('retries entries the bus rejected one by one, within one announcer invocation', async () => {
    const retryKey = await t.registerDevice('bus-flaky');
    t.cloud.faults.inject({ service: 'events', operation: 'PutEvents', mode: 'fail-entries', times: 1 });

    const response = await t.api('/readings', {
      method: 'POST',
      apiKey: retryKey,
      json: { deviceId: 'bus-flaky', timestamp: '2026-11-13T00:00:00Z', metrics: { t: 1 } },
    });

    expect(response.status).toBe(202);
    await waitFor(() => recordedEvents(t, 'bus-flaky').length === 1, 'the retried event');
    await streamDrained(t);
    expect(recordedEvents(t, 'bus-flaky')).toHaveLength(1);
  });
});
