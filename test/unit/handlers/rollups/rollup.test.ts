import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { aggregateReadings, storedSizeFor } from '../../../../handlers/lib/rollups.ts';
import { type BucketContribution, rollupItem } from '../../../../handlers/lib/rollups-store.ts';
import { applyBatch, contributionsOf } from '../../../../handlers/rollups/rollup.ts';

const record = (
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  sequence: number,
  reading: { deviceId: string; timestamp: string; metrics: Record<string, number> },
) => ({
  eventName,
  dynamodb: {
    SequenceNumber: String(sequence),
    NewImage:
      eventName === 'REMOVE'
        ? undefined
        : marshall({ ...reading, receivedAt: reading.timestamp, readingId: 'r', correlationId: 'c' }),
  },
});

const reading = (deviceId: string, timestamp: string, t: number) => ({ deviceId, timestamp, metrics: { t } });

/** A rollups store double that records each write, failing the buckets `failing` names. */
const storeFailing = (failing: (contribution: BucketContribution) => boolean = () => false) => {
  const applied: BucketContribution[] = [];
  return {
    applied,
    rollups: {
      async apply(contribution: BucketContribution) {
        if (failing(contribution)) throw new Error('ProvisionedThroughputExceededException');
        applied.push(contribution);
        return 'applied' as const;
      },
    },
  };
};

describe('the rollups stream consumer', () => {
  it('writes once per stored bucket of a batch, not once per reading, and only for inserted readings', async () => {
    const store = storeFailing();
    const records = [
      record('INSERT', 1, reading('a', '2026-11-24T10:00:05.000Z', 1)),
      record('INSERT', 2, reading('a', '2026-11-24T10:00:40.000Z', 2)),
      record('MODIFY', 3, reading('a', '2026-11-24T10:00:05.000Z', 1)),
      record('REMOVE', 4, reading('a', '2026-11-20T10:00:00.000Z', 9)),
      record('INSERT', 5, reading('b', '2026-11-24T10:00:10.000Z', 3)),
    ];

    const answer = await applyBatch(records, { ...store, retentionDays: 400 });

    expect(answer).toEqual({ batchItemFailures: [] });
    expect(store.applied.map((c) => [c.deviceId, c.size, c.start, c.readings.length]).sort()).toEqual(
      [
        ['a', '1h', '2026-11-24T10:00:00.000Z', 2],
        ['a', '6h', '2026-11-24T06:00:00.000Z', 2],
        ['b', '1h', '2026-11-24T10:00:00.000Z', 1],
        ['b', '6h', '2026-11-24T06:00:00.000Z', 1],
      ].sort(),
    );
  });

  it('takes the readings an hour item gained: all of an INSERT, those a MODIFY added, none when only set full', async () => {
    const store = storeFailing();
    const hour = (r: Record<string, number>) => ({
      deviceId: 'a',
      timestamp: '2026-11-24T10',
      r: Object.fromEntries(Object.entries(r).map(([slot, t]) => [slot, { m: { t }, u: 'up' }])),
      u: { up: { id: 'up-1', at: '2026-11-24T11:00:00.000Z', c: 'c' } },
      bytes: 10,
    });
    const change = (sequence: number, before: object | undefined, after: object) => ({
      eventName: before ? 'MODIFY' : 'INSERT',
      dynamodb: {
        SequenceNumber: String(sequence),
        NewImage: marshall(after),
        ...(before ? { OldImage: marshall(before) } : {}),
      },
    });
    const first = hour({ '00:05.000': 1, '30:00.000': 2 });
    const second = hour({ '00:05.000': 1, '30:00.000': 2, '45:00.000': 4 });
    const records = [
      change(1, undefined, first),
      change(2, first, second),
      change(3, second, { ...second, full: true }),
    ];

    await applyBatch(records, { ...store, retentionDays: 400 });

    const hourly = store.applied.find((c) => c.size === '1h');
    expect(hourly?.readings.map((r) => [r.timestamp, r.metrics.t, Number(r.sequence)])).toEqual([
      ['2026-11-24T10:00:05.000Z', 1, 1],
      ['2026-11-24T10:30:00.000Z', 2, 1],
      ['2026-11-24T10:45:00.000Z', 4, 2],
    ]);
  });

  it('answers the earliest record of the buckets it could not write, so Lambda retries from there', async () => {
    const store = storeFailing((c) => c.deviceId === 'b' && c.size === '1h');
    const records = [
      record('INSERT', 7, reading('a', '2026-11-24T10:00:05.000Z', 1)),
      record('INSERT', 8, reading('b', '2026-11-24T10:00:05.000Z', 1)),
      record('INSERT', 9, reading('b', '2026-11-24T10:20:05.000Z', 1)),
    ];

    const answer = await applyBatch(records, { ...store, retentionDays: 400 });

    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: '8' }] });
  });

  it('keeps 1h buckets a quarter and 6h buckets the whole retention, never past it', () => {
    const start = '2026-11-24T06:00:00.000Z';
    const metrics = aggregateReadings([{ timestamp: start, metrics: { t: 1 } }]);
    const daysKept = (size: '1h' | '6h', retentionDays: number) =>
      (rollupItem({ deviceId: 'a', size, start }, metrics, '1', retentionDays).expiresAt -
        Date.parse(start) / 1000) /
      86_400;

    expect(daysKept('1h', 400)).toBe(90);
    expect(daysKept('6h', 400)).toBe(400);
    expect(daysKept('1h', 30)).toBe(30);
  });

  it('skips a record that is not a reading instead of failing the batch on it for ever', () => {
    const contributions = contributionsOf([
      { eventName: 'INSERT', dynamodb: { SequenceNumber: '1', NewImage: marshall({ deviceId: 'a' }) } },
    ]);

    expect(contributions).toEqual([]);
  });
});

describe('rollup sizes', () => {
  it('answers every bucket size from a stored size that divides it, at most 4 stored items a bucket, and 1m, 5m and 15m from the readings', () => {
    expect({
      '1m': storedSizeFor('1m'),
      '5m': storedSizeFor('5m'),
      '15m': storedSizeFor('15m'),
      '1h': storedSizeFor('1h'),
      '6h': storedSizeFor('6h'),
      '1d': storedSizeFor('1d'),
    }).toEqual({ '1m': undefined, '5m': undefined, '15m': undefined, '1h': '1h', '6h': '6h', '1d': '6h' });
  });
});
