import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../../../../local-cloud/emulators/shared/bounded-cache.ts';

describe('BoundedCache', () => {
  it('stays at its bound under 100,000 unique keys and still answers the recent ones right', () => {
    const cache = new BoundedCache<number>(1000);

    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      cache.set(`key-${i}`, i, 60_000);
      largest = Math.max(largest, cache.size);
    }

    expect(largest).toBe(1000);
    expect(cache.size).toBe(1000);
    expect(cache.get('key-99999')).toBe(99_999);
    expect(cache.get('key-99000')).toBe(99_000);
    expect(cache.get('key-98999')).toBeUndefined();
  });

  it('evicts the least recently used entry, not the oldest inserted', () => {
    const cache = new BoundedCache<string>(2);
    cache.set('a', 'A', 60_000);
    cache.set('b', 'B', 60_000);

    cache.get('a');
    cache.set('c', 'C', 60_000);

    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['A', undefined, 'C']);
  });

  it('never answers an expired entry and drops expired entries when pruned', () => {
    let now = 0;
    const cache = new BoundedCache<string>(10, () => now);
    cache.set('short', 'S', 100);
    cache.set('long', 'L', 10_000);

    now = 100;
    expect(cache.get('short')).toBeUndefined();
    cache.set('brief', 'B', 50);
    now = 200;
    cache.prune();

    expect(cache.size).toBe(1);
    expect(cache.get('long')).toBe('L');
  });
});
