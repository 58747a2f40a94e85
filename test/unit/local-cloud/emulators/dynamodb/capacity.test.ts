import { describe, expect, it } from 'vitest';
import { itemSize, writeUnitsOf } from '../../../../../local-cloud/emulators/dynamodb/capacity.ts';

const SHAPE = {
  keys: ['deviceId', 'timestamp'],
  indexes: [
    { name: 'outbox', keys: ['outboxShard', 'outboxAt'], projected: undefined },
    { name: 'byKey', keys: ['keyHash'], projected: ['deviceId', 'timestamp', 'keyHash'] },
  ],
};
const reading = { deviceId: { S: 'd1' }, timestamp: { S: '2026-11-23T09:00:00.000Z' } };
const marked = { ...reading, outboxShard: { S: '3' }, outboxAt: { N: '1700000000000' } };

describe('DynamoDB write units', () => {
  it('sizes items as DynamoDB does: names plus values, numbers by significant digits', () => {
    expect(itemSize({ a: { S: 'xyz' } })).toBe(4);
    expect(itemSize({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemSize({ m: { M: { k: { BOOL: true } } } })).toBe(1 + 3 + 1 + 1 + 1);
  });

  it('charges a new item once and each sparse index it enters once', () => {
    expect(writeUnitsOf(SHAPE, undefined, marked)).toEqual({ table: 1, indexes: { outbox: 1 } });
    expect(writeUnitsOf(SHAPE, undefined, reading)).toEqual({ table: 1, indexes: {} });
  });

  it('charges an index delete when an update removes its keys, and a delete + put when it changes them', () => {
    expect(writeUnitsOf(SHAPE, marked, reading)).toEqual({ table: 1, indexes: { outbox: 1 } });
    const moved = { ...marked, outboxShard: { S: '4' } };
    expect(writeUnitsOf(SHAPE, marked, moved)).toEqual({ table: 1, indexes: { outbox: 2 } });
  });

  it('leaves an index alone when no attribute it projects changes', () => {
    const keyed = { ...reading, keyHash: { S: 'h' } };
    expect(writeUnitsOf(SHAPE, keyed, { ...keyed, other: { S: 'x' } })).toEqual({ table: 1, indexes: {} });
  });

  it('rounds each write up to whole KB of the larger image', () => {
    const big = { ...reading, blob: { S: 'x'.repeat(1500) } };
    expect(writeUnitsOf(SHAPE, big, reading).table).toBe(2);
  });
});
