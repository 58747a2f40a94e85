import { describe, expect, it } from 'vitest';
import {
  PartitionWrites,
  partitionOf,
} from '../../../../../local-cloud/emulators/dynamodb/partition-writes.ts';

const keySchema = [
  { AttributeName: 'device', KeyType: 'HASH' as const },
  { AttributeName: 'n', KeyType: 'RANGE' as const },
];
const partition = (device: string) => partitionOf('t', { device: { S: device }, n: { N: '1' } }, keySchema);

describe('the writes in flight to each partition', () => {
  it('names a partition by its table and partition key alone, not the sort key', () => {
    const first = partitionOf('t', { device: { S: 'a' }, n: { N: '1' } }, keySchema);
    const second = partitionOf('t', { device: { S: 'a' }, n: { N: '2' } }, keySchema);

    expect(first).toBe(second);
    expect(partitionOf('u', { device: { S: 'a' }, n: { N: '1' } }, keySchema)).not.toBe(first);
    expect(partition('b')).not.toBe(first);
  });

  it('holds a partition while a write is in flight, then for the quiet period after the last one ended', () => {
    let now = 1_000;
    const writes = new PartitionWrites(() => now);
    const ended: string[] = [];
    writes.onEnd(() => ended.push('ended'));
    const first = writes.begin([partition('a')]);
    const second = writes.begin([partition('a')]);

    first();
    first(); // a second call ends nothing more
    const whileOneIsInFlight = writes.waitFor([partition('a')], 10);
    now += 4;
    second();
    const afterTheLast = writes.waitFor([partition('a')], 10);
    now += 10;

    expect(whileOneIsInFlight).toBe(Number.POSITIVE_INFINITY);
    expect(afterTheLast).toBe(10);
    expect(writes.waitFor([partition('a')], 10)).toBe(0);
    expect(writes.waitFor([partition('b')], 10)).toBe(0);
    expect(ended).toEqual(['ended', 'ended']);
  });

  it('forgets partitions idle for a minute, so a long run of devices does not grow it', () => {
    let now = 0;
    const writes = new PartitionWrites(() => now);
    for (let device = 0; device < 5_000; device++) {
      writes.begin([partition(`device-${device}`)])();
      now += 100;
    }
    const held = writes.begin([partition('held')]);
    now += 120_000;
    for (let device = 0; device < 1_024; device++) writes.begin([partition('again')])();

    expect(writes.size()).toBe(2); // the one in flight, and the one just written
    held();
  });
});
