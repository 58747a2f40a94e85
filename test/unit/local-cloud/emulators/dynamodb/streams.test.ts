import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ITERATOR_LIFETIME_MS,
  type Item,
  RETENTION_MS,
  StreamStore,
  sameItem,
} from '../../../../../local-cloud/emulators/dynamodb/streams.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const KEY_SCHEMA = [{ AttributeName: 'id', KeyType: 'HASH' as const }];
const item = (id: string, n: number): Item => ({ id: { S: id }, n: { N: String(n) } });

/** A store on a clock the test moves. */
const storeAt = (clock: { now: number }, dir?: string, recordsInMemory?: number) =>
  new StreamStore({
    region: 'us-east-1',
    accountId: '123456789012',
    now: () => clock.now,
    ...(dir ? { dir } : {}),
    ...(recordsInMemory !== undefined ? { recordsInMemory } : {}),
  });

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'streams-store-'));
  dirs.push(dir);
  return dir;
};

/** Every record from an iterator on, page by page, as a consumer reads them. */
const readAll = (store: StreamStore, ShardIterator: string | undefined) => {
  const ids: string[] = [];
  for (let next = ShardIterator; next !== undefined; ) {
    const page = records(store, next);
    ids.push(...page.Records.map((r) => r.eventID));
    next = page.Records.length === 0 ? undefined : page.NextShardIterator;
  }
  return ids;
};

const change = (id: string, n: number) => ({
  eventId: `${id}-${n}`,
  keys: { id: { S: id } },
  oldImage: undefined,
  newImage: item(id, n),
});

const iterator = (store: StreamStore, arn: string, type: string, SequenceNumber?: string) => {
  const answer = store.handle('GetShardIterator', {
    StreamArn: arn,
    ShardId: store.shardOf(arn),
    ShardIteratorType: type,
    ...(SequenceNumber ? { SequenceNumber } : {}),
  });
  return (answer as { ShardIterator: string }).ShardIterator;
};

const records = (store: StreamStore, ShardIterator: string) =>
  store.handle('GetRecords', { ShardIterator }) as {
    Records: { eventID: string; dynamodb: { SequenceNumber: string } }[];
    NextShardIterator?: string;
  };

describe('the local DynamoDB Streams store', () => {
  it('expires a shard iterator 15 minutes after it was issued, as AWS does', () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = storeAt(clock);
    const { arn } = store.enable('t', 'NEW_IMAGE', KEY_SCHEMA);
    const issued = iterator(store, arn, 'TRIM_HORIZON');

    clock.now += ITERATOR_LIFETIME_MS + 1;

    expect(() => records(store, issued)).toThrow(
      expect.objectContaining({ type: 'ExpiredIteratorException' }),
    );
  });

  it('trims records after 24 hours: TRIM_HORIZON starts after them, a sequence number among them is refused', () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = storeAt(clock);
    const { arn } = store.enable('t', 'NEW_IMAGE', KEY_SCHEMA);
    const [old] = store.append('t', [change('a', 1)]);
    clock.now += RETENTION_MS - ITERATOR_LIFETIME_MS / 2;
    store.append('t', [change('b', 1)]);

    clock.now += ITERATOR_LIFETIME_MS / 2 + 1000;

    expect(records(store, iterator(store, arn, 'TRIM_HORIZON')).Records.map((r) => r.eventID)).toEqual([
      'b-1',
    ]);
    expect(() => iterator(store, arn, 'AT_SEQUENCE_NUMBER', old?.dynamodb.SequenceNumber)).toThrow(
      expect.objectContaining({ type: 'TrimmedDataAccessException' }),
    );
  });

  it('keeps records and sequence numbers across a restart, and drops a torn last line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streams-store-'));
    dirs.push(dir);
    const clock = { now: Date.UTC(2026, 0, 1) };
    const first = storeAt(clock, dir);
    const { arn } = first.enable('t', 'NEW_AND_OLD_IMAGES', KEY_SCHEMA);
    const written = first.append('t', [change('a', 1), change('b', 1)]);
    first.close();

    const second = storeAt(clock, dir);
    const [next] = second.append('t', [change('c', 1)]);
    const all = records(second, iterator(second, arn, 'TRIM_HORIZON')).Records;

    expect(all.map((r) => r.eventID)).toEqual(['a-1', 'b-1', 'c-1']);
    expect(BigInt(next?.dynamodb.SequenceNumber ?? '0')).toBeGreaterThan(
      BigInt(written[1]?.dynamodb.SequenceNumber ?? '0'),
    );
    expect(second.hasEvent('t', 'b-1')).toBe(true);
  });

  it('pages GetRecords by Limit and hands the next iterator on; a closed shard read to its end has none', () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = storeAt(clock);
    const { arn } = store.enable('t', 'KEYS_ONLY', KEY_SCHEMA);
    store.append('t', [change('a', 1), change('b', 1), change('c', 1)]);

    const first = store.handle('GetRecords', {
      ShardIterator: iterator(store, arn, 'TRIM_HORIZON'),
      Limit: 2,
    }) as {
      Records: { eventID: string }[];
      NextShardIterator: string;
    };
    store.disable('t');
    const rest = records(store, first.NextShardIterator);

    expect(first.Records.map((r) => r.eventID)).toEqual(['a-1', 'b-1']);
    expect(rest.Records.map((r) => r.eventID)).toEqual(['c-1']);
    expect(rest.NextShardIterator).toBeUndefined();
    expect(() => store.handle('GetRecords', { ShardIterator: first.NextShardIterator, Limit: 1001 })).toThrow(
      expect.objectContaining({ type: 'ValidationException' }),
    );
  });

  it('holds only the newest records in memory; GetRecords reads the older ones back from the file, in order', () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = storeAt(clock, tempDir(), 3);
    const { arn } = store.enable('t', 'NEW_IMAGE', KEY_SCHEMA);
    const written = Array.from({ length: 10 }, (_, n) => store.append('t', [change('a', n)])).flat();

    const fromHorizon = readAll(store, iterator(store, arn, 'TRIM_HORIZON'));
    const fromThird = readAll(
      store,
      iterator(store, arn, 'AT_SEQUENCE_NUMBER', written[2]?.dynamodb.SequenceNumber),
    );

    expect(store.recordsInMemory()).toBe(3);
    expect(fromHorizon).toEqual(written.map((r) => r.eventID));
    expect(fromThird).toEqual(written.slice(2).map((r) => r.eventID));
    expect(store.recordsAfter(arn, '0', 4).map((r) => r.eventID)).toEqual(['a-0', 'a-1', 'a-2', 'a-3']);
  });

  it('after a restart keeps every record readable while holding only the newest in memory', () => {
    const dir = tempDir();
    const clock = { now: Date.UTC(2026, 0, 1) };
    const first = storeAt(clock, dir, 3);
    const { arn } = first.enable('t', 'NEW_IMAGE', KEY_SCHEMA);
    const written = Array.from({ length: 10 }, (_, n) => first.append('t', [change('a', n)])).flat();
    first.close();

    const second = storeAt(clock, dir, 3);
    const [next] = second.append('t', [change('b', 0)]);

    expect(second.recordsInMemory()).toBe(3);
    expect(readAll(second, iterator(second, arn, 'TRIM_HORIZON'))).toEqual([
      ...written.map((r) => r.eventID),
      'b-0',
    ]);
    expect(BigInt(next?.dynamodb.SequenceNumber ?? '0')).toBeGreaterThan(
      BigInt(written.at(-1)?.dynamodb.SequenceNumber ?? '0'),
    );
    expect(second.hasEvent('t', 'a-0')).toBe(true);
    expect(second.hasEvent('t', 'z-0')).toBe(false);
  });

  it('trims records past 24 hours that are only in the file: TRIM_HORIZON starts after them, a sequence number among them is refused', () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = storeAt(clock, tempDir(), 50);
    const { arn } = store.enable('t', 'KEYS_ONLY', KEY_SCHEMA);
    const old = Array.from({ length: 700 }, (_, n) => store.append('t', [change('a', n)])).flat();
    clock.now += RETENTION_MS / 2;
    const kept = Array.from({ length: 300 }, (_, n) => store.append('t', [change('b', n)])).flat();

    clock.now += RETENTION_MS / 2 + 1000;

    const describe = store.handle('DescribeStream', { StreamArn: arn }) as {
      StreamDescription: { Shards: { SequenceNumberRange: { StartingSequenceNumber: string } }[] };
    };
    expect(readAll(store, iterator(store, arn, 'TRIM_HORIZON'))).toEqual(kept.map((r) => r.eventID));
    expect(describe.StreamDescription.Shards[0]?.SequenceNumberRange.StartingSequenceNumber).toBe(
      kept[0]?.dynamodb.SequenceNumber,
    );
    expect(() => iterator(store, arn, 'AT_SEQUENCE_NUMBER', old[400]?.dynamodb.SequenceNumber)).toThrow(
      expect.objectContaining({ type: 'TrimmedDataAccessException' }),
    );
    expect(store.recordsAfter(arn, '0', 2).map((r) => r.eventID)).toEqual(['b-0', 'b-1']);
  });
});

describe('sameItem: whether a write changed an item (no stream record when it did not)', () => {
  const hour: Item = {
    deviceId: { S: 'd1' },
    timestamp: { S: '2026-12-03T10' },
    r: { M: { '00:00.000': { M: { m: { M: { t: { N: '21.5' } } }, u: { S: 'a' } } } } },
    tags: { L: [{ S: 'x' }, { N: '1' }] },
  };

  it('finds an item equal to itself written again, its attributes and map members in another order', () => {
    const reordered: Item = {
      tags: { L: [{ S: 'x' }, { N: '1' }] },
      r: { M: { '00:00.000': { M: { u: { S: 'a' }, m: { M: { t: { N: '21.5' } } } } } } },
      timestamp: { S: '2026-12-03T10' },
      deviceId: { S: 'd1' },
    };
    expect(sameItem(hour, structuredClone(hour))).toBe(true);
    expect(sameItem(hour, reordered)).toBe(true);
    expect(sameItem(undefined, undefined)).toBe(true);
  });

  it('takes a member whose value is undefined as absent', () => {
    expect(sameItem({ ...hour, gone: undefined } as unknown as Item, hour)).toBe(true);
  });

  it('finds every difference, however deep', () => {
    const withReading = structuredClone(hour);
    withReading.r = { M: { ...hour.r?.M, '01:00.000': { M: { u: { S: 'a' } } } } };
    const otherValue = structuredClone(hour);
    otherValue.r = { M: { '00:00.000': { M: { m: { M: { t: { N: '21.6' } } }, u: { S: 'a' } } } } };
    const otherOrder: Item = { ...hour, tags: { L: [{ N: '1' }, { S: 'x' }] } };
    const otherType: Item = { ...hour, deviceId: { N: '1' } };
    const listForMap: Item = { ...hour, r: { L: [] } };
    for (const changed of [withReading, otherValue, otherOrder, otherType, listForMap]) {
      expect(sameItem(hour, changed)).toBe(false);
      expect(sameItem(changed, hour)).toBe(false);
    }
    expect(sameItem(hour, undefined)).toBe(false);
    expect(sameItem(undefined, hour)).toBe(false);
  });
});
