import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { type AnnounceDeps, announceStreamBatch } from '../../../../handlers/announce/announce.ts';
import {
  chunkEntries,
  type EventEntry,
  PublishError,
  publishEntries,
} from '../../../../handlers/lib/events.ts';
import { readingRecordedEntries } from '../../../../handlers/lib/reading-events.ts';
import type { ReadingItem } from '../../../../handlers/lib/readings-store.ts';

const entry = (n: number, bytes = 10): EventEntry => ({
  EventBusName: 'b',
  Source: 's',
  DetailType: 'd',
  Detail: JSON.stringify({ n, pad: 'x'.repeat(bytes) }),
});

/** A PutEvents client double that fails the entries `failing` says, call by call. */
const clientFailing = (failing: (call: number, n: number) => boolean | 'throw') => {
  const calls: number[][] = [];
  const client = {
    async send(command: { input: { Entries: EventEntry[] } }) {
      const ns = command.input.Entries.map((e) => JSON.parse(e.Detail ?? '{}').n as number);
      calls.push(ns);
      if (ns.some((n) => failing(calls.length, n) === 'throw')) throw new Error('socket hang up');
      return {
        Entries: ns.map((n) =>
          failing(calls.length, n) ? { ErrorCode: 'InternalFailure' } : { EventId: `e${n}` },
        ),
      };
    },
  } as unknown as EventBridgeClient;
  return { client, calls };
};

describe('publishEntries', () => {
  it('splits into calls of at most 10 entries and 256 KiB', () => {
    expect(
      chunkEntries(
        Array.from({ length: 25 }, (_, i) => entry(i)),
        (e) => e,
      ).map((c) => c.length),
    ).toEqual([10, 10, 5]);
    expect(
      chunkEntries(
        Array.from({ length: 3 }, (_, i) => entry(i, 100 * 1024)),
        (e) => e,
      ).map((c) => c.length),
    ).toEqual([2, 1]);
  });

  it('retries only the entries that failed', async () => {
    const { client, calls } = clientFailing((call, n) => call === 1 && n % 2 === 0);

    const outcome = await publishEntries(client, [entry(0), entry(1), entry(2), entry(3)], {
      baseDelayMs: 1,
    });

    expect(outcome).toEqual({ accepted: [0, 1, 2, 3], failed: [] });
    expect(calls).toEqual([
      [0, 1, 2, 3],
      [0, 2],
    ]);
  });

  it('reports what never got through instead of throwing', async () => {
    const { client, calls } = clientFailing(() => 'throw');

    const outcome = await publishEntries(client, [entry(0)], { attempts: 3, baseDelayMs: 1 });

    expect(outcome.accepted).toEqual([]);
    expect(outcome.failed).toEqual([{ index: 0, error: 'Error: socket hang up' }]);
    expect(calls).toHaveLength(3);
  });
});

const item = (minute: number, uploadId = 'u1', deviceId = 'd1'): ReadingItem => ({
  deviceId,
  timestamp: `2026-11-23T10:${String(minute).padStart(2, '0')}:00.000Z`,
  metrics: { t: minute },
  receivedAt: '2026-11-23T10:00:00.000Z',
  readingId: `00000000-0000-5000-8000-0000000000${String(minute).padStart(2, '0')}`,
  correlationId: 'c',
  uploadId,
});

/** A stream batch as Lambda delivers it: the INSERT of each item, with other records between. */
const batchOf = (items: readonly ReadingItem[]) => ({
  Records: [
    ...items.map((i, n) => ({
      eventName: 'INSERT',
      dynamodb: { NewImage: marshall(i), SequenceNumber: String(100 + n) },
    })),
    { eventName: 'INSERT', dynamodb: { NewImage: marshall({ deviceId: 'd9' }), SequenceNumber: '900' } },
  ],
});

/** The announcer over an in-memory bus that refuses every call while `down.now` is set. */
const announcer = (watched: Record<string, string | Error> = {}) => {
  const published: EventEntry[] = [];
  const warnings: string[] = [];
  const lookups: string[] = [];
  const down = { now: false };
  const deps: AnnounceDeps = {
    busName: 'bus',
    now: () => new Date('2026-11-23T10:05:00Z'),
    warn: (message) => warnings.push(message),
    async watchedUntil(deviceId) {
      lookups.push(deviceId);
      const until = watched[deviceId];
      if (until instanceof Error) throw until;
      return until;
    },
    async publishAll(entries) {
      if (down.now) throw new PublishError(entries.map((_, index) => ({ index, error: 'down' })));
      published.push(...entries);
    },
  };
  return {
    handler: (event: unknown) => announceStreamBatch(event, deps),
    published,
    warnings,
    lookups,
    down,
  };
};

const detailsOf = (published: readonly EventEntry[]) =>
  published.map((entry) => JSON.parse(entry.Detail ?? ''));

describe('the announcer', () => {
  it("announces a batch's readings grouped by upload, oldest first, with the ids the same readings always make", async () => {
    const { handler, published, warnings, lookups } = announcer({ d2: '2026-11-23T11:00:00.000Z' });

    const report = await handler(batchOf([item(2), item(3, 'u2'), item(1), item(4, 'u3', 'd2')]));

    expect(report).toEqual({ uploads: 3, readings: 4, events: 3 });
    const details = detailsOf(published);
    expect(
      details.map((d) => [
        d.data.deviceId,
        d.data.uploadId,
        d.data.watched,
        d.data.readings.map((r: { metrics: { t: number } }) => r.metrics.t),
      ]),
    ).toEqual([
      ['d1', 'u1', false, [1, 2]],
      ['d1', 'u2', false, [3]],
      ['d2', 'u3', true, [4]],
    ]);
    const [same] = readingRecordedEntries([item(1), item(2)], {
      busName: 'bus',
      producedAt: new Date(),
      watched: true,
    });
    expect(details[0]?.metadata.eventId).toBe(JSON.parse(same?.entry.Detail ?? '').metadata.eventId);
    expect(lookups.sort()).toEqual(['d1', 'd2']);
    expect(warnings).toEqual(['A new item of the readings table is not a reading; not announced']);
  });

  it('fails the batch while the bus refuses, and announces the same events, with the same ids, when it is retried', async () => {
    const { handler, published, down } = announcer();
    const batch = batchOf([item(1), item(2, 'u2')]);
    down.now = true;

    await expect(handler(batch)).rejects.toBeInstanceOf(PublishError);
    down.now = false;
    await handler(batch);
    await handler(batch);

    const ids = detailsOf(published).map((d) => d.metadata.eventId);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(2);
  });

  it('marks an upload watched when the device cannot be looked up, and passes over changes and deletions', async () => {
    const { handler, published } = announcer({ d1: new Error('throttled') });
    const batch = batchOf([item(1)]);

    await handler({
      Records: [
        ...batch.Records,
        { eventName: 'MODIFY', dynamodb: { NewImage: marshall(item(5)), SequenceNumber: '901' } },
        { eventName: 'REMOVE', dynamodb: { SequenceNumber: '902' } },
      ],
    });

    expect(detailsOf(published).map((d) => [d.data.watched, d.data.readings.length])).toEqual([[true, 1]]);
  });
});
