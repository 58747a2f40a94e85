import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../../../local-cloud/emulators/shared/token-bucket.ts';

const clock = () => {
  let now = 0;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

describe('TokenBucket', () => {
  it('lets a full burst through at once, then throttles', () => {
    const time = clock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 3 }, time.now);

    const taken = [bucket.take(), bucket.take(), bucket.take(), bucket.take()];

    expect(taken).toEqual([true, true, true, false]);
  });

  it('refills at the rate, never past the burst', () => {
    const time = clock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 3 }, time.now);
    for (let i = 0; i < 3; i++) bucket.take();

    time.advance(100);
    const afterOneTenth = [bucket.take(), bucket.take()];
    time.advance(60_000);
    const afterAMinute = Array.from({ length: 4 }, () => bucket.take());

    expect(afterOneTenth).toEqual([true, false]);
    expect(afterAMinute).toEqual([true, true, true, false]);
  });

  it('refuses settings that could never admit a request, naming them', () => {
    expect(() => new TokenBucket({ rateLimit: 0, burstLimit: 5 })).toThrow(/rateLimit > 0/);
    expect(() => new TokenBucket({ rateLimit: 5, burstLimit: 0 })).toThrow(/burstLimit >= 1/);
  });
});
