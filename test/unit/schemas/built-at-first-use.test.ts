import { describe, expect, it } from 'vitest';
import { builtAtFirstUse } from '../../../schemas/built-at-first-use.ts';

describe('builtAtFirstUse', () => {
  it('makes the value at the first call, not before, and once', () => {
    let made = 0;
    const logger = builtAtFirstUse(() => {
      made += 1;
      return { name: `logger ${made}` };
    });

    const before = made;
    const first = logger();
    const second = logger();

    expect(before).toBe(0);
    expect(made).toBe(1);
    expect(second).toBe(first);
  });

  it('keeps a value that is undefined rather than making it again', () => {
    let made = 0;
    const nothing = builtAtFirstUse(() => {
      made += 1;
      return undefined;
    });

    nothing();
    nothing();

    expect(made).toBe(1);
  });
});
