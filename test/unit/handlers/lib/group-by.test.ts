import { describe, expect, it } from 'vitest';
import { groupBy } from '../../../../handlers/lib/group-by.ts';

describe('groupBy', () => {
  it('keeps each group in the order of the items, and the groups in the order their key first appears', () => {
    const groups = groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (item) => item[0]);
    expect([...groups]).toEqual([
      ['b', ['b1', 'b2']],
      ['a', ['a1', 'a2']],
      ['c', ['c1']],
    ]);
  });

  it('compares keys as a Map does: numbers and strings of the same digits are different keys', () => {
    const groups = groupBy<number | string, number | string>([1, '1', 1], (item) => item);
    expect([...groups.keys()]).toEqual([1, '1']);
    expect(groups.get(1)).toEqual([1, 1]);
  });

  it('answers no groups for no items', () => {
    expect(groupBy([], () => 'key').size).toBe(0);
  });
});
