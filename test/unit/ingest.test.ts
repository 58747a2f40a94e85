import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { type IngestDeps, ingest } from '../../handlers/ingest/ingest.ts';
import { ForbiddenError, ValidationError } from '../../handlers/lib/errors.ts';
import type { PublishOutcome } from '../../handlers/lib/events.ts';
import type { ReadingItem } from '../../handlers/lib/readings-store.ts';

const NOW = new Date('2026-11-23T12:00:00.000Z');

/** In-memory fakes for the ingest ports, recording what happened. */
const fakes = (options: { failPublish?: boolean; failSaveOf?: string } = {}) => {
  const table = new Map<string, ReadingItem>();
  const published: PutEventsRequestEntry[] = [];
  const warnings: string[] = [];
  const deps: IngestDeps = {
    async saveIfAbsent(item) {
      if (item.timestamp === options.failSaveOf) throw new Error('throttled');
      const key = `${item.deviceId}|${item.timestamp}`;
      if (table.has(key)) return 'duplicate';
      table.set(key, item);
      return 'stored';
    },
    async clearOutboxMark({ deviceId, timestamp }) {
      const key = `${deviceId}|${timestamp}`;
      const item = table.get(key);
      if (item) {
        const { outboxAt: _a, outboxShard: _s, ...rest } = item;
        table.set(key, rest);
      }
    },
    async publish(entries): Promise<PublishOutcome> {
      if (options.failPublish)
        return { accepted: [], failed: entries.map((_, index) => ({ index, error: 'down' })) };
      published.push(...entries);
      return { accepted: entries.map((_, i) => i), failed: [] };
    },
    warn: (message) => warnings.push(message),
    busName: 'bus',
    now: () => NOW,
  };
  return { deps, table, published, warnings };
};

const reading = (timestamp: string, extra: Record<string, unknown> = {}) => ({
  deviceId: 'd1',
  timestamp,
  metrics: { t: 1 },
  ...extra,
});

describe('ingest', () => {
  it('stores a new reading, publishes ReadingRecorded with a deterministic event id and clears the mark', async () => {
    const { deps, table, published } = fakes();

    const answer = await ingest(reading('2026-11-23T11:00:00+02:00'), 'd1', 'corr-1', deps);

    expect(answer.statusCode).toBe(202);
    expect(answer.body).toMatchObject({
      deviceId: 'd1',
      timestamp: '2026-11-23T09:00:00.000Z',
      duplicate: false,
    });
    expect([...table.values()][0]).not.toHaveProperty('outboxAt');
    const detail = JSON.parse(published[0]?.Detail ?? '{}');
    expect(detail.metadata).toMatchObject({ correlationId: 'corr-1', schemaVersion: 1 });
    const again = fakes();
    await ingest(reading('2026-11-23T09:00:00Z'), 'd1', 'corr-2', again.deps);
    expect(JSON.parse(again.published[0]?.Detail ?? '{}').metadata.eventId).toBe(detail.metadata.eventId);
  });

  it('keeps the outbox mark and still acknowledges when the bus refuses', async () => {
    const { deps, table, warnings } = fakes({ failPublish: true });

    const answer = await ingest(reading('2026-11-23T11:00:00Z'), 'd1', 'c', deps);

    expect(answer.statusCode).toBe(202);
    expect([...table.values()][0]?.outboxAt).toBe(NOW.toISOString());
    expect(warnings).toHaveLength(1);
  });

  it('publishes nothing for a duplicate', async () => {
    const { deps, published } = fakes();
    await ingest(reading('2026-11-23T11:00:00Z'), 'd1', 'c', deps);

    const answer = await ingest(reading('2026-11-23T11:00:00.000Z'), 'd1', 'c', deps);

    expect(answer.body).toMatchObject({ duplicate: true });
    expect(published).toHaveLength(1);
  });

  it('answers a batch item whose store failed with 503 and the rest with 202, in a 207', async () => {
    const { deps, published } = fakes({ failSaveOf: '2026-11-23T10:00:01.000Z' });

    const answer = await ingest(
      { readings: [reading('2026-11-23T10:00:00Z'), reading('2026-11-23T10:00:01Z')] },
      'd1',
      'c',
      deps,
    );

    expect(answer.statusCode).toBe(207);
    expect((answer.body as { results: { status: number }[] }).results.map((r) => r.status)).toEqual([
      202, 503,
    ]);
    expect(published).toHaveLength(1);
  });

  it('refuses a reading of another device before validating anything', async () => {
    const { deps, table } = fakes();
    await expect(
      ingest({ readings: [reading('x'), { deviceId: 'd2' }] }, 'd1', 'c', deps),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(table.size).toBe(0);
  });

  it('rejects a reading from more than five minutes in the future, naming the timestamp', async () => {
    const { deps } = fakes();
    const ahead = new Date(NOW.getTime() + 5 * 60_000 + 1).toISOString();
    const atLimit = new Date(NOW.getTime() + 5 * 60_000).toISOString();

    await expect(ingest(reading(ahead), 'd1', 'c', deps)).rejects.toMatchObject({
      details: [{ path: 'timestamp' }],
    });
    await expect(ingest(reading(atLimit), 'd1', 'c', deps)).resolves.toMatchObject({ statusCode: 202 });
  });

  it('reports every bad field of every item when no reading of a batch is valid', async () => {
    const { deps } = fakes();
    const error = await ingest(
      { readings: [{ deviceId: 'd1' }, reading('2026-11-23T10:00:00Z', { x: 1 })] },
      'd1',
      'c',
      deps,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details?.map((d) => d.path)).toEqual([
      'readings.0.timestamp',
      'readings.0.metrics',
      'readings.1.x',
    ]);
  });
});
