import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { chunkEntries, publishEntries } from '../../../../handlers/lib/events.ts';
import { readingRecordedEntry } from '../../../../handlers/lib/reading-events.ts';
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

describe('outbox relay', () => {
  it('publishes only what it claimed, so two runs never both publish a reading', async () => {
    const published: PutEventsRequestEntry[] = [];
    const claimed = new Set<string>();
    const run = () =>
      relay<PutEventsRequestEntry>({
        pendingOutbox: async () => [item(1), item(2)],
        claimOutbox: async (i) => {
          if (claimed.has(i.readingId)) return false;
          claimed.add(i.readingId);
          return true;
        },
        clearOutboxMark: async () => {},
        publish: async (entries) => {
          published.push(...entries);
          return { accepted: entries.map((_, i) => i), failed: [] };
        },
        entryOf: (i, at) => readingRecordedEntry(i, 'bus', at),
        warn: () => {},
        now: () => new Date('2026-11-23T10:05:00Z'),
        minAgeSeconds: 30,
      });

    const reports = await Promise.all([run(), run()]);

    expect(published).toHaveLength(2);
    expect(reports.map((r) => r.republished).sort()).toEqual([0, 2]);
  });

  const item = (minute: number): ReadingItem => ({
    deviceId: 'd1',
    timestamp: `2026-11-23T10:${String(minute).padStart(2, '0')}:00.000Z`,
    metrics: { t: minute },
    receivedAt: '2026-11-23T10:00:00.000Z',
    readingId: `00000000-0000-5000-8000-0000000000${String(minute).padStart(2, '0')}`,
    correlationId: 'c',
    outboxShard: 'outbox-0',
    outboxAt: '2026-11-23T10:00:00.000Z',
  });

  it('re-publishes marked readings with the same event id as ingest would, and clears their marks', async () => {
    const marked = new Map([item(1), item(2)].map((i) => [i.timestamp, i]));
    const published: PutEventsRequestEntry[] = [];

    const report = await relay<PutEventsRequestEntry>({
      pendingOutbox: async () => [...marked.values()],
      claimOutbox: async () => true,
      clearOutboxMark: async ({ timestamp }) => void marked.delete(timestamp),
      publish: async (entries) => {
        published.push(...entries);
        return { accepted: entries.map((_, i) => i), failed: [] };
      },
      entryOf: (i, at) => readingRecordedEntry(i, 'bus', at),
      warn: () => {},
      now: () => new Date('2026-11-23T10:05:00Z'),
      minAgeSeconds: 30,
    });

    expect(report).toEqual({ republished: 2, failed: 0 });
    expect(marked.size).toBe(0);
    const ingestEntry = readingRecordedEntry(item(1), 'bus', new Date());
    expect(JSON.parse(published[0]?.Detail ?? '').metadata.eventId).toBe(
      JSON.parse(ingestEntry.Detail ?? '').metadata.eventId,
    );
  });

  it('leaves what the bus refused marked for the next run, without looping on it', async () => {
    let queries = 0;
    const report = await relay<PutEventsRequestEntry>({
      pendingOutbox: async () => {
        queries++;
        return [item(1)];
      },
      claimOutbox: async () => true,
      clearOutboxMark: async () => {},
      publish: async () => ({ accepted: [], failed: [{ index: 0, error: 'down' }] }),
      entryOf: (i, at) => readingRecordedEntry(i, 'bus', at),
      warn: () => {},
      now: () => new Date('2026-11-23T10:05:00Z'),
      minAgeSeconds: 30,
    });

    expect(report).toEqual({ republished: 0, failed: 1 });
    expect(queries).toBe(1);
  });
});
