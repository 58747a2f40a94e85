import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { chunkEntries, publishEntries } from '../../../../handlers/lib/events.ts';
import { readingRecordedEntries } from '../../../../handlers/lib/reading-events.ts';
import type { ReadingItem } from '../../../../handlers/lib/readings-store.ts';
import { relay } from '../../../../handlers/outbox-relay/relay.ts';

const entry = (n: number, bytes = 10): PutEventsRequestEntry => ({
  Source: 's',
  DetailType: 'd',
  Detail: JSON.stringify({ n, pad: 'x'.repeat(bytes) }),
});

/** A PutEvents client double that fails the entries `failing` says, call by call. */
const clientFailing = (failing: (call: number, n: number) => boolean | 'throw') => {
  const calls: number[][] = [];
  const client = {
    async send(command: { input: { Entries: PutEventsRequestEntry[] } }) {
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

/** The relay's announce port over an in-memory bus: every upload announced as the ingest would. */
const announceInto = (published: PutEventsRequestEntry[]) => async (items: readonly ReadingItem[]) => {
  const runs = readingRecordedEntries(items, { busName: 'bus', producedAt: new Date(), watched: false });
  published.push(...runs.map((run) => run.entry));
  return { accepted: items.map((_, i) => i), failed: [] };
};

describe('outbox relay', () => {
  it('publishes only what it claimed, so two runs never both publish a reading', async () => {
    const published: PutEventsRequestEntry[] = [];
    const claimed = new Set<string>();
    const run = () =>
      relay({
        pendingOutbox: async () => [item(1), item(2)],
        claimOutbox: async (i) => {
          if (claimed.has(i.readingId)) return false;
          claimed.add(i.readingId);
          return true;
        },
        clearOutboxMark: async () => {},
        announce: announceInto(published),
        warn: () => {},
        now: () => new Date('2026-11-23T10:05:00Z'),
        minAgeSeconds: 30,
      });

    const reports = await Promise.all([run(), run()]);

    expect(published).toHaveLength(1);
    expect(reports.map((r) => r.republished).sort()).toEqual([0, 2]);
  });

  const item = (minute: number, uploadId = 'u1'): ReadingItem => ({
    deviceId: 'd1',
    timestamp: `2026-11-23T10:${String(minute).padStart(2, '0')}:00.000Z`,
    metrics: { t: minute },
    receivedAt: '2026-11-23T10:00:00.000Z',
    readingId: `00000000-0000-5000-8000-0000000000${String(minute).padStart(2, '0')}`,
    correlationId: 'c',
    uploadId,
    outboxShard: 'outbox-0',
    outboxAt: '2026-11-23T10:00:00.000Z',
  });

  it('re-publishes marked readings grouped by upload, with the event ids ingest would have, and clears their marks', async () => {
    const marked = new Map([item(2), item(3, 'u2'), item(1)].map((i) => [i.timestamp, i]));
    const published: PutEventsRequestEntry[] = [];

    const report = await relay({
      pendingOutbox: async () => [...marked.values()],
      claimOutbox: async () => true,
      clearOutboxMark: async ({ timestamp }) => void marked.delete(timestamp),
      announce: announceInto(published),
      warn: () => {},
      now: () => new Date('2026-11-23T10:05:00Z'),
      minAgeSeconds: 30,
    });

    expect(report).toEqual({ republished: 3, failed: 0 });
    expect(marked.size).toBe(0);
    const details = published.map((entry) => JSON.parse(entry.Detail ?? ''));
    expect(
      details.map((d) => [
        d.data.uploadId,
        d.data.readings.map((r: { metrics: { t: number } }) => r.metrics.t),
      ]),
    ).toEqual([
      ['u1', [1, 2]],
      ['u2', [3]],
    ]);
    const [ingestRun] = readingRecordedEntries([item(1), item(2)], {
      busName: 'bus',
      producedAt: new Date(),
      watched: true,
    });
    expect(details[0]?.metadata.eventId).toBe(JSON.parse(ingestRun?.entry.Detail ?? '').metadata.eventId);
  });

  it('leaves what the bus refused marked for the next run, without looping on it', async () => {
    let queries = 0;
    const report = await relay({
      pendingOutbox: async () => {
        queries++;
        return [item(1)];
      },
      claimOutbox: async () => true,
      clearOutboxMark: async () => {},
      announce: async () => ({ accepted: [], failed: [{ index: 0, error: 'down' }] }),
      warn: () => {},
      now: () => new Date('2026-11-23T10:05:00Z'),
      minAgeSeconds: 30,
    });

    expect(report).toEqual({ republished: 0, failed: 1 });
    expect(queries).toBe(1);
  });
});
