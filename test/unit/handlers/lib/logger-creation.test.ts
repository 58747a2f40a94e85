import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { logger } from '../../../../handlers/lib/logger.ts';

/** Counts the Loggers made, each still a real Powertools Logger. */
vi.mock('@aws-lambda-powertools/logger', async (importActual) => {
  const actual = await importActual<typeof import('@aws-lambda-powertools/logger')>();
  class CountedLogger extends actual.Logger {
    static made = 0;
    constructor(...options: ConstructorParameters<typeof actual.Logger>) {
      super(...options);
      CountedLogger.made += 1;
    }
  }
  return { ...actual, Logger: CountedLogger };
});

const made = () => (Logger as unknown as { made: number }).made;

describe('the logger', () => {
  it('is made by the first line logged, not at init, and once', () => {
    const atInit = made();
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const first = logger();
    first.warn('Reading could not be stored');
    const second = logger();
    write.mockRestore();

    expect(atInit).toBe(0);
    expect(made()).toBe(1);
    expect(second).toBe(first);
  });
});
