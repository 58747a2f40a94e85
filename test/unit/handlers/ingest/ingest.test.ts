import { describe, expect, it } from 'vitest';
import { type AnnounceDeps, announce, insertedReadings } from '../../../../handlers/announce/announce.ts';
import { type AdviceDeps, adviseUploads } from '../../../../handlers/ingest/advice.ts';
import { answerOf } from '../../../../handlers/ingest/answer.ts';
import { type IngestDeps, ingest } from '../../../../handlers/ingest/ingest.ts';
import { parseIngestRequest } from '../../../../handlers/ingest/request.ts';
import { EVENT_BILLING_CHUNK_BYTES } from '../../../../handlers/lib/aws-limits.ts';
import { ForbiddenError, ValidationError } from '../../../../handlers/lib/errors.ts';
import { type EventEntry, entrySize, PublishError } from '../../../../handlers/lib/events.ts';
import { PACKED_HOUR_BYTES } from '../../../../handlers/lib/hour-items.ts';
import type { WatchingDeps } from '../../../../handlers/lib/watching.ts';
import { type FlushLimit, UNWATCHED_BUFFER_SECONDS } from '../../../../schemas/reading.ts';
import { fakeReadingsTable } from '../../../support/fake-readings-table.ts';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

/**
 * In-memory fakes for the ingest ports, recording what happened. The table's stream holds the
 * records its writes made; the announcer reads the readings they stored as the event source
 * mapping would, and a batch it could not announce stays in the stream, as a failed batch is
 * retried.
 */
const fakes = (
  options: {
    failPublish?: boolean;
    failHour?: string;
    watchedUntil?: string | Error;
    flushWhen?: FlushLimit[];
  } = {},
) => {
  const readingsTable = fakeReadingsTable(options.failHour ? { hour: options.failHour } : {});
  const { stream } = readingsTable;
  const published: EventEntry[] = [];
  const warnings: { message: string; context: Record<string, unknown> }[] = [];
  const watching: WatchingDeps = {
    warn: (message, context) => warnings.push({ message, context }),
    async watchedUntil() {
      if (options.watchedUntil instanceof Error) throw options.watchedUntil;
      return options.watchedUntil;
    },
  };
  const advising: AdviceDeps = {
    warn: watching.warn,
    async uploadView(deviceId) {
      const watchedUntil = await watching.watchedUntil(deviceId);
      return { ...(watchedUntil ? { watchedUntil } : {}), flushWhen: options.flushWhen ?? [] };
    },
  };
  const deps: IngestDeps & AdviceDeps = { ...advising, ...readingsTable.ports };
  const announcer: AnnounceDeps = {
    ...watching,
    busName: 'bus',
    now: () => NOW,
    async publishAll(entries) {
      if (options.failPublish) throw new PublishError(entries.map((_, index) => ({ index, error: 'down' })));
      published.push(...entries);
    },
  };
  /** Announces what the stream holds; a batch the bus refused stays for the next try. */
  const announceStream = async () => {
    try {
      await announce(insertedReadings(stream, watching.warn), announcer);
      stream.length = 0;
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
    }
  };
  /** The stored readings (hour items flattened) by `deviceId|timestamp`, as they are when asked. */
  const table = {
    get: (key: string) => readingsTable.readings().get(key),
    values: () => readingsTable.readings().values(),
    get size() {
      return readingsTable.readings().size;
    },
  };
  return {
    deps,
    table,
    uploads: new Set<string>(),
    readingsTable,
    stream,
    published,
    warnings,
    announceStream,
  };
};

const reading = (timestamp: string, extra: Record<string, unknown> = {}) => ({
  deviceId: 'd1',
  timestamp,
  metrics: { t: 1 },
  ...extra,
});

/**
 * What the handler does with a body, as of `NOW`: validate at the edge, ingest, answer; then what
 * the readings stream does with the new items: the announcer publishes them.
 */
const post = async (
  body: unknown,
  callerDeviceId: string,
  correlationId: string,
  fake: ReturnType<typeof fakes>,
  uploadId = fake.uploads.has(`upload-of-${correlationId}`)
    ? `upload-of-${correlationId}-${fake.uploads.size}`
    : `upload-of-${correlationId}`,
) => {
  const { deps } = fake;
  fake.uploads.add(uploadId);
  const request = parseIngestRequest(body, callerDeviceId, { now: NOW, retentionDays: RETENTION_DAYS });
  const { watched, advice } = await adviseUploads(callerDeviceId, NOW, deps);
  const context = { correlationId, uploadId, receivedAt: NOW, retentionDays: RETENTION_DAYS, watched };
  const answer = answerOf(request, await ingest(request.valid, context, deps), advice);
  await fake.announceStream();
  return answer;
};

const detailOf = (entry: EventEntry | undefined) => JSON.parse(entry?.Detail ?? '{}');

describe('ingest', () => {
  it('announces the new readings of an upload in one ReadingRecorded, oldest first, duplicates left out', async () => {
    const fake = fakes({
      watchedUntil: new Date(NOW.getTime() + 60_000).toISOString(),
    });
    const { table, published } = fake;
    await post(reading('2026-11-23T10:00:01Z'), 'd1', 'first', fake);

    const answer = await post(
      {
        readings: [
          reading('2026-11-23T10:00:02Z', { sequence: 3 }),
          reading('2026-11-23T10:00:01Z'),
          reading('2026-11-23T10:00:00Z'),
        ],
      },
      'd1',
      'second',
      fake,
    );

    expect(answer.statusCode).toBe(202);
    expect(published).toHaveLength(2);
    const { data } = detailOf(published[1]);
    expect(data).toMatchObject({ deviceId: 'd1', uploadId: 'upload-of-second', watched: true });
    expect(data.readings.map((r: { timestamp: string }) => r.timestamp)).toEqual([
      '2026-11-23T10:00:00.000Z',
      '2026-11-23T10:00:02.000Z',
    ]);
    expect(data.readings[1]).toMatchObject({ sequence: 3, metrics: { t: 1 } });
    expect(table.get('d1|2026-11-23T10:00:00.000Z')).toMatchObject({ uploadId: 'upload-of-second' });
  });

  it('splits an upload too large for one billed 64 KB chunk into several events, each reading in exactly one', async () => {
    const fake = fakes();
    const { published } = fake;
    const metrics = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`metric_name_${i}`, 1000.125 + i]),
    );
    const readings = Array.from({ length: 100 }, (_, i) =>
      reading(new Date(Date.parse('2026-11-23T10:00:00Z') + i * 1000).toISOString(), { metrics }),
    );

    const answer = await post({ readings }, 'd1', 'big', fake);

    expect(answer.statusCode).toBe(202);
    expect(published.length).toBeGreaterThan(1);
    for (const entry of published) expect(entrySize(entry)).toBeLessThanOrEqual(EVENT_BILLING_CHUNK_BYTES);
    const carried = published.flatMap((entry) =>
      detailOf(entry).data.readings.map((r: { timestamp: string }) => r.timestamp),
    );
    expect(carried).toEqual(readings.map((r) => new Date(r.timestamp).toISOString()));
    expect(new Set(published.map((entry) => detailOf(entry).metadata.eventId)).size).toBe(published.length);
    expect(new Set(published.map((entry) => detailOf(entry).data.uploadId))).toEqual(
      new Set(['upload-of-big']),
    );
  });

  it('stores a new reading, which is announced as ReadingRecorded with a deterministic event id', async () => {
    const fake = fakes();
    const { published } = fake;

    const answer = await post(reading('2026-11-23T11:00:00+02:00'), 'd1', 'corr-1', fake);

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toMatchObject({
      deviceId: 'd1',
      timestamp: '2026-11-23T09:00:00.000Z',
      duplicate: false,
    });
    const detail = JSON.parse(published[0]?.Detail ?? '{}');
    expect(detail.metadata).toMatchObject({ correlationId: 'corr-1', schemaVersion: 2 });
    const again = fakes();
    await post(reading('2026-11-23T09:00:00Z'), 'd1', 'corr-2', again, 'another-upload');
    expect(JSON.parse(again.published[0]?.Detail ?? '{}').metadata.eventId).toBe(detail.metadata.eventId);
  });

  it('tells a device nobody watches that it may buffer, and a watched one to stream', async () => {
    const later = new Date(NOW.getTime() + 60_000).toISOString();
    const earlier = new Date(NOW.getTime() - 1).toISOString();
    const body = (watchedUntil?: string | Error) =>
      post(reading('2026-11-23T11:00:00Z'), 'd1', 'c', fakes({ watchedUntil })).then((a) => a.body);

    const never = await body(undefined);
    const watched = await body(later);
    const left = await body(earlier);
    const unknown = await body(new Error('throttled'));
    const batch = await post({ readings: [reading('2026-11-23T11:00:00Z')] }, 'd1', 'c', fakes());

    expect(never).toMatchObject({ duplicate: false, bufferSeconds: UNWATCHED_BUFFER_SECONDS });
    expect(watched).toMatchObject({ bufferSeconds: 0 });
    expect(left).toMatchObject({ bufferSeconds: UNWATCHED_BUFFER_SECONDS });
    expect(unknown).toMatchObject({ bufferSeconds: 0 });
    expect(batch.body).toMatchObject({ accepted: 1, bufferSeconds: UNWATCHED_BUFFER_SECONDS });
  });

  it("tells a buffering device its alarms' limits to post at once on, and a streaming one none", async () => {
    const flushWhen = [
      { metric: 't', above: 30 },
      { metric: 'h', below: 10, above: 90 },
    ];
    const later = new Date(NOW.getTime() + 60_000).toISOString();
    const answer = (
      watchedUntil: string | Error | undefined,
      body: unknown = reading('2026-11-23T11:00:00Z'),
    ) => post(body, 'd1', 'c', fakes({ watchedUntil, flushWhen })).then((a) => a.body);

    const buffering = await answer(undefined);
    const batch = await answer(undefined, { readings: [reading('2026-11-23T11:00:00Z')] });
    const watched = await answer(later);
    const unknown = await answer(new Error('throttled'));

    expect(buffering).toMatchObject({ bufferSeconds: UNWATCHED_BUFFER_SECONDS, flushWhen });
    expect(batch).toMatchObject({ accepted: 1, bufferSeconds: UNWATCHED_BUFFER_SECONDS, flushWhen });
    expect(watched).toEqual(expect.not.objectContaining({ flushWhen: expect.anything() }));
    expect(watched).toMatchObject({ bufferSeconds: 0 });
    expect(unknown).toEqual(expect.not.objectContaining({ flushWhen: expect.anything() }));
  });

  it('acknowledges a stored reading while the bus refuses; it stays on the stream until announced', async () => {
    const fake = fakes({ failPublish: true });

    const answer = await post(reading('2026-11-23T11:00:00Z'), 'd1', 'c', fake);

    expect(answer.statusCode).toBe(202);
    expect(fake.published).toHaveLength(0);
    expect(insertedReadings(fake.stream, () => {}).map((item) => item.timestamp)).toEqual([
      '2026-11-23T11:00:00.000Z',
    ]);
  });

  it('publishes nothing for a duplicate', async () => {
    const fake = fakes();
    const { published } = fake;
    await post(reading('2026-11-23T11:00:00Z'), 'd1', 'c', fake);

    const answer = await post(reading('2026-11-23T11:00:00.000Z'), 'd1', 'c', fake);

    expect(answer.body).toMatchObject({ duplicate: true });
    expect(published).toHaveLength(1);
  });

  it('answers a batch item whose store failed with 503 and the rest with 202, in a 207', async () => {
    const fake = fakes({ failHour: '2026-11-23T10' });
    const { published } = fake;

    const answer = await post(
      { readings: [reading('2026-11-23T09:59:59Z'), reading('2026-11-23T10:00:01Z')] },
      'd1',
      'c',
      fake,
    );

    expect(answer.statusCode).toBe(207);
    expect((answer.body as { results: { status: number }[] }).results.map((r) => r.status)).toEqual([
      202, 503,
    ]);
    expect(published).toHaveLength(1);
  });

  it('refuses a reading of another device before validating anything', async () => {
    const fake = fakes();
    const { table } = fake;
    await expect(
      post({ readings: [reading('x'), { deviceId: 'd2' }] }, 'd1', 'c', fake),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(table.size).toBe(0);
  });

  it('rejects a reading from more than five minutes in the future, naming the timestamp', async () => {
    const fake = fakes();
    const ahead = new Date(NOW.getTime() + 5 * 60_000 + 1).toISOString();
    const atLimit = new Date(NOW.getTime() + 5 * 60_000).toISOString();

    await expect(post(reading(ahead), 'd1', 'c', fake)).rejects.toMatchObject({
      details: [{ path: 'timestamp' }],
    });
    await expect(post(reading(atLimit), 'd1', 'c', fake)).resolves.toMatchObject({ statusCode: 202 });
  });

  it('refuses a reading older than the retention, naming the timestamp, and stores the others with their expiry', async () => {
    const fake = fakes();
    const { table } = fake;
    const tooOld = new Date(NOW.getTime() - RETENTION_DAYS * DAY_MS - 1).toISOString();
    const oldest = new Date(NOW.getTime() - RETENTION_DAYS * DAY_MS).toISOString();

    const single = post(reading('0000-01-01T00:00:00Z'), 'd1', 'c', fake);
    const batch = await post({ readings: [reading(tooOld), reading(oldest)] }, 'd1', 'c', fake);

    await expect(single).rejects.toMatchObject({
      details: [{ path: 'timestamp', message: expect.stringContaining('30 days in the past') }],
    });
    expect(batch.statusCode).toBe(207);
    expect(batch.body).toMatchObject({
      accepted: 1,
      rejected: 1,
      results: [
        { index: 0, status: 400, error: { details: [{ path: 'readings.0.timestamp' }] } },
        { index: 1, status: 202, duplicate: false },
      ],
    });
    // A lone reading, it is an item of its own and expires the retention after its timestamp.
    expect([...table.values()]).toEqual([
      expect.objectContaining({ timestamp: oldest, expiresAt: NOW.getTime() / 1000 }),
    ]);
  });

  it('reports every bad field of every item when no reading of a batch is valid', async () => {
    const fake = fakes();
    const error = await post(
      { readings: [{ deviceId: 'd1' }, reading('2026-11-23T10:00:00Z', { x: 1 })] },
      'd1',
      'c',
      fake,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details?.map((d) => d.path)).toEqual([
      'readings.0.timestamp',
      'readings.0.metrics',
      'readings.1.x',
    ]);
  });

  it('answers a repeat with other metrics or sequence 409 Conflict naming the timestamp, changing nothing', async () => {
    const fake = fakes();
    const { table, published } = fake;
    await post(reading('2026-11-23T11:00:00Z', { sequence: 7 }), 'd1', 'c', fake);

    const answers = await Promise.all([
      post(reading('2026-11-23T11:00:00Z', { metrics: { t: 2 }, sequence: 7 }), 'd1', 'c', fake),
      post(reading('2026-11-23T11:00:00Z', { metrics: { t: 1, h: 1 }, sequence: 7 }), 'd1', 'c', fake),
      post(reading('2026-11-23T11:00:00Z', { sequence: 8 }), 'd1', 'c', fake),
      post(reading('2026-11-23T11:00:00Z'), 'd1', 'c', fake),
      post(reading('2026-11-23T13:00:00+02:00', { metrics: { t: 1.0 }, sequence: 7 }), 'd1', 'c', fake),
    ]);

    expect(answers.map((a) => a.statusCode)).toEqual([409, 409, 409, 409, 202]);
    expect(answers[0]?.body).toEqual({
      error: {
        code: 'Conflict',
        message: expect.stringContaining('2026-11-23T11:00:00.000Z'),
        details: [{ path: 'timestamp', message: expect.stringContaining('other metrics or sequence') }],
      },
    });
    expect(answers[4]?.body).toMatchObject({ duplicate: true });
    expect([...table.values()].map((item) => [item.metrics, item.sequence])).toEqual([[{ t: 1 }, 7]]);
    expect(published).toHaveLength(1);
  });

  it('compares metric values as numbers: -0 repeats 0', async () => {
    const fake = fakes();
    await post(reading('2026-11-23T11:00:00Z', { metrics: { t: 0 } }), 'd1', 'c', fake);

    const answer = await post(reading('2026-11-23T11:00:00Z', { metrics: { t: -0 } }), 'd1', 'c', fake);

    expect(answer).toMatchObject({ statusCode: 202, body: { duplicate: true } });
  });

  it('answers in a 207 a later batch item repeating an earlier one: 202 duplicate when equal, 409 when not', async () => {
    const fake = fakes();
    const { table, published } = fake;
    await post(reading('2026-11-23T09:00:00Z'), 'd1', 'c', fake);

    const answer = await post(
      {
        readings: [
          reading('2026-11-23T10:00:00Z'),
          reading('2026-11-23T10:00:00Z', { metrics: { t: 5 } }),
          reading('2026-11-23T12:00:00+02:00'),
          reading('2026-11-23T09:00:00Z', { metrics: { t: 9 } }),
          reading('2026-11-23T09:00:00Z', { metrics: { t: 9 } }),
        ],
      },
      'd1',
      'c',
      fake,
    );

    expect(answer.statusCode).toBe(207);
    const { results, accepted, rejected } = answer.body as {
      accepted: number;
      rejected: number;
      results: { status: number; duplicate?: boolean; error?: { details: { path: string }[] } }[];
    };
    expect(results.map((r) => r.status)).toEqual([202, 409, 202, 409, 409]);
    expect(results.map((r) => r.duplicate)).toEqual([false, undefined, true, undefined, undefined]);
    expect(results[1]?.error?.details).toEqual([
      {
        path: 'readings.1.timestamp',
        message: 'repeats the timestamp of readings.0 with other metrics or sequence',
      },
    ]);
    expect(results[3]?.error?.details).toEqual([
      {
        path: 'readings.3.timestamp',
        message: 'already names a stored reading with other metrics or sequence',
      },
    ]);
    expect(results[4]?.error?.details).toEqual([
      {
        path: 'readings.4.timestamp',
        message: 'already names a stored reading with other metrics or sequence',
      },
    ]);
    expect([accepted, rejected]).toEqual([2, 3]);
    expect(table.size).toBe(2);
    expect(published).toHaveLength(2);
  });
});

describe('readings packed by the hour', () => {
  const minutes = (hourStart: string, count: number, metrics: (i: number) => Record<string, number>) =>
    Array.from({ length: count }, (_, i) =>
      reading(new Date(Date.parse(hourStart) + i * 60_000).toISOString(), { metrics: metrics(i) }),
    );
  const statuses = (answer: { body: unknown }) =>
    (answer.body as { results: { status: number; duplicate?: boolean }[] }).results.map((r) =>
      r.status === 202 && r.duplicate ? 'duplicate' : r.status,
    );
  const announced = (fake: ReturnType<typeof fakes>) =>
    fake.published.flatMap((entry) =>
      detailOf(entry).data.readings.map((r: { timestamp: string }) => r.timestamp),
    );

  it('stores an unwatched upload of an hour of readings a minute as one hour item, announced once', async () => {
    const fake = fakes();
    const upload = minutes('2026-11-23T10:00:00Z', 60, (i) => ({ t: i, h: 40 + i / 10, p: 1013 }));

    const answer = await post({ readings: upload }, 'd1', 'c', fake);

    expect(answer.statusCode).toBe(202);
    expect(fake.readingsTable.items()).toHaveLength(1);
    expect(fake.readingsTable.hours()).toEqual([
      expect.objectContaining({ timestamp: '2026-11-23T10', u: { uploadof: expect.any(Object) } }),
    ]);
    expect(fake.readingsTable.hours()[0]).not.toHaveProperty('full');
    // The upload's first hour is tried as an append first (it most often continues the previous upload's).
    expect(fake.readingsTable.writes).toEqual([
      'append 2026-11-23T10 60',
      'probe 2026-11-23T10',
      'create 2026-11-23T10',
    ]);
    expect(fake.table.get('d1|2026-11-23T10:59:00.000Z')).toMatchObject({
      metrics: { t: 59, h: 45.9, p: 1013 },
      receivedAt: NOW.toISOString(),
      uploadId: 'upload-of-c',
      correlationId: 'c',
    });
    expect(fake.published).toHaveLength(1);
    expect(announced(fake)).toEqual(upload.map((r) => new Date(r.timestamp).toISOString()));
  });

  it('answers repeats packed in the hour item as duplicate or conflict, and packs and announces only the new', async () => {
    const fake = fakes();
    await post({ readings: minutes('2026-11-23T10:00:00Z', 3, (i) => ({ t: i })) }, 'd1', 'first', fake);

    const answer = await post(
      { readings: minutes('2026-11-23T10:00:00Z', 4, (i) => ({ t: i === 1 ? 99 : i })) },
      'd1',
      'second',
      fake,
    );

    expect(statuses(answer)).toEqual(['duplicate', 409, 'duplicate', 202]);
    expect(fake.readingsTable.items()).toHaveLength(1);
    expect(fake.table.get('d1|2026-11-23T10:01:00.000Z')?.metrics).toEqual({ t: 1 });
    expect(fake.table.get('d1|2026-11-23T10:03:00.000Z')?.uploadId).toBe('upload-of-second');
    expect(announced(fake)).toEqual([
      '2026-11-23T10:00:00.000Z',
      '2026-11-23T10:01:00.000Z',
      '2026-11-23T10:02:00.000Z',
      '2026-11-23T10:03:00.000Z',
    ]);
  });

  it('writes an upload spanning two hours to the item of each hour, and answers 503 only the hour that failed', async () => {
    const fake = fakes({ failHour: '2026-11-23T11' });
    const upload = minutes('2026-11-23T10:58:00Z', 4, (i) => ({ t: i }));

    const answer = await post({ readings: upload }, 'd1', 'c', fake);

    expect(statuses(answer)).toEqual([202, 202, 503, 503]);
    expect(fake.readingsTable.hours().map((item) => item.timestamp)).toEqual(['2026-11-23T10']);
    expect(announced(fake)).toEqual(['2026-11-23T10:58:00.000Z', '2026-11-23T10:59:00.000Z']);

    const retried = fakes();
    await post({ readings: upload }, 'd1', 'c', retried);
    expect(
      retried.readingsTable
        .hours()
        .map((item) => item.timestamp)
        .sort(),
    ).toEqual(['2026-11-23T10', '2026-11-23T11']);
  });

  it('packs what fits the byte budget, sets the hour full and stores the rest as reading items; a repeat is a duplicate either way', async () => {
    const fake = fakes();
    const wide = (i: number) =>
      Object.fromEntries(Array.from({ length: 12 }, (_, m) => [`metric_${m}`, i + m / 7]));
    const upload = Array.from({ length: 100 }, (_, i) =>
      reading(new Date(Date.parse('2026-11-23T10:00:00Z') + i * 30_000).toISOString(), { metrics: wide(i) }),
    );

    const first = await post({ readings: upload }, 'd1', 'first', fake);
    const again = await post({ readings: upload }, 'd1', 'again', fake);

    expect(first.statusCode).toBe(202);
    const [hour] = fake.readingsTable.hours();
    const packed = Object.keys(hour?.r ?? {}).length;
    expect(hour).toMatchObject({ full: true });
    expect(packed).toBeGreaterThan(0);
    expect(packed).toBeLessThan(100);
    expect(hour?.bytes).toBeLessThanOrEqual(PACKED_HOUR_BYTES);
    expect(fake.readingsTable.items()).toHaveLength(1 + 100 - packed);
    expect(fake.table.size).toBe(100);
    expect(statuses(again)).toEqual(upload.map(() => 'duplicate'));
    expect(announced(fake)).toHaveLength(100);
    expect(new Set(announced(fake)).size).toBe(100);
  });

  it('stores the readings of a full hour as reading items, after the packed ones are answered from the item', async () => {
    const fake = fakes();
    fake.readingsTable.seed({
      deviceId: 'd1',
      timestamp: '2026-11-23T10',
      r: { '00:00.000': { m: { t: 1 }, u: 'aaaaaaaa' } },
      u: { aaaaaaaa: { id: 'aaaaaaaa-0', at: NOW.toISOString(), c: 'c0' } },
      bytes: 100,
      full: true,
    });

    const answer = await post(
      { readings: minutes('2026-11-23T10:00:00Z', 2, () => ({ t: 1 })) },
      'd1',
      'c',
      fake,
    );

    expect(statuses(answer)).toEqual(['duplicate', 202]);
    expect(fake.readingsTable.writes).toEqual(['append 2026-11-23T10 2', 'put 2026-11-23T10:01:00.000Z']);
    expect(announced(fake)).toEqual(['2026-11-23T10:01:00.000Z']);
  });

  it('creates the hour item full when the hour has reading items from before, so their repeats stay duplicates', async () => {
    const fake = fakes();
    fake.readingsTable.seed({
      deviceId: 'd1',
      timestamp: '2026-11-23T10:00:00.000Z',
      metrics: { t: 0 },
      receivedAt: NOW.toISOString(),
      readingId: 'legacy',
      correlationId: 'c0',
    });

    const answer = await post(
      { readings: minutes('2026-11-23T10:00:00Z', 3, (i) => ({ t: i === 2 ? 5 : i })) },
      'd1',
      'c',
      fake,
    );

    expect(statuses(answer)).toEqual(['duplicate', 202, 202]);
    expect(fake.readingsTable.hours()).toEqual([expect.objectContaining({ full: true, r: {} })]);
    expect(fake.readingsTable.items()).toHaveLength(4);
    expect(announced(fake)).toEqual(['2026-11-23T10:01:00.000Z', '2026-11-23T10:02:00.000Z']);
  });

  it('stores a watched device reading by reading: a full marker once an hour, then one put a reading', async () => {
    const fake = fakes({ watchedUntil: new Date(NOW.getTime() + 60_000).toISOString() });

    await post(reading('2026-11-23T10:00:00Z'), 'd1', 'a', fake);
    await post(reading('2026-11-23T10:01:00Z'), 'd1', 'b', fake);
    const repeat = await post(reading('2026-11-23T10:01:00Z'), 'd1', 'c', fake);

    expect(repeat.body).toMatchObject({ duplicate: true });
    expect(fake.readingsTable.writes).toEqual([
      'create 2026-11-23T10 full',
      'put 2026-11-23T10:00:00.000Z',
      'put 2026-11-23T10:01:00.000Z',
      'put 2026-11-23T10:01:00.000Z',
    ]);
    expect(fake.readingsTable.hours()).toEqual([expect.objectContaining({ full: true, r: {} })]);
    expect(announced(fake)).toEqual(['2026-11-23T10:00:00.000Z', '2026-11-23T10:01:00.000Z']);
  });

  it('appends to the first hour of an upload straight away, and reads a later one before creating it', async () => {
    const fake = fakes();
    const upload = (start: string, count: number, uploadId: string) =>
      post({ readings: minutes(start, count, (i) => ({ t: i })) }, 'd1', 'c', fake, uploadId);
    await upload('2026-11-23T10:00:00Z', 30, '11111111-1111-4111-8111-111111111111');
    fake.readingsTable.writes.length = 0;

    const answer = await upload('2026-11-23T10:30:00Z', 60, '22222222-2222-4222-8222-222222222222');

    expect(answer.statusCode).toBe(202);
    expect(fake.readingsTable.writes.sort()).toEqual([
      'append 2026-11-23T10 30',
      'create 2026-11-23T11',
      'probe 2026-11-23T11',
    ]);
    expect(fake.table.size).toBe(90);
  });

  it('stores a lone reading of an unwatched device as a reading item behind a full marker, unless its hour item is open', async () => {
    const fake = fakes();

    const lone = await post(reading('2026-11-23T10:00:00Z'), 'd1', 'a', fake);
    await post(reading('2026-11-23T10:01:00Z'), 'd1', 'b', fake);
    const buffered = await post(
      { readings: minutes('2026-11-23T10:02:00Z', 2, (i) => ({ t: i })) },
      'd1',
      'c',
      fake,
    );
    await post({ readings: minutes('2026-11-23T11:00:00Z', 2, (i) => ({ t: i })) }, 'd1', 'd', fake);
    await post(reading('2026-11-23T11:05:00Z'), 'd1', 'e', fake);

    expect(lone.body).toMatchObject({ duplicate: false, bufferSeconds: UNWATCHED_BUFFER_SECONDS });
    expect(statuses(buffered)).toEqual([202, 202]);
    // The hour that began with lone readings streams for good; the one a buffered upload opened takes them in.
    expect(fake.readingsTable.writes).toEqual([
      'create 2026-11-23T10 full',
      'put 2026-11-23T10:00:00.000Z',
      'put 2026-11-23T10:01:00.000Z',
      'append 2026-11-23T10 2',
      'put 2026-11-23T10:02:00.000Z',
      'put 2026-11-23T10:03:00.000Z',
      'append 2026-11-23T11 2',
      'probe 2026-11-23T11',
      'create 2026-11-23T11',
      'append 2026-11-23T11 1',
    ]);
    expect(fake.readingsTable.hours()).toEqual([
      expect.objectContaining({ timestamp: '2026-11-23T10', full: true, r: {} }),
      expect.objectContaining({ timestamp: '2026-11-23T11', r: expect.any(Object) }),
    ]);
    expect(Object.keys(fake.readingsTable.hours()[1]?.r ?? {})).toHaveLength(3);
    expect(announced(fake)).toEqual(
      ['10:00', '10:01', '10:02', '10:03', '11:00', '11:01', '11:05'].map((m) => `2026-11-23T${m}:00.000Z`),
    );
  });

  it('sets an hour a device packed into full once the device is watched, and answers its packed readings from it', async () => {
    const fake = fakes();
    await post(
      { readings: [reading('2026-11-23T10:00:00Z'), reading('2026-11-23T10:01:00Z')] },
      'd1',
      'a',
      fake,
    );
    const watched = fakes({ watchedUntil: new Date(NOW.getTime() + 60_000).toISOString() });
    for (const item of fake.readingsTable.items()) watched.readingsTable.seed(item);

    const answer = await post(
      { readings: [reading('2026-11-23T10:00:00Z'), reading('2026-11-23T10:05:00Z')] },
      'd1',
      'b',
      watched,
    );

    expect(statuses(answer)).toEqual(['duplicate', 202]);
    expect(watched.readingsTable.writes).toEqual(['full 2026-11-23T10', 'put 2026-11-23T10:05:00.000Z']);
    expect(announced(watched)).toEqual(['2026-11-23T10:05:00.000Z']);
  });
});
