import { describe, expect, it } from 'vitest';
import {
  coldStartSlots,
  failWaitingAfterInitTimeouts,
  INIT_PHASE_LIMIT_MS,
  initLimitMs,
  recentInitMs,
  SLOW_INIT_MS,
} from '../../../../../local-cloud/emulators/lambda/cold-starts.ts';

describe('cold starts on a slow machine', () => {
  it("gives an init Lambda's init phase and then the function's timeout, as Lambda's retried (suppressed) init has", () => {
    expect(initLimitMs(10)).toBe(INIT_PHASE_LIMIT_MS + 10_000);
    expect(initLimitMs(60)).toBe(INIT_PHASE_LIMIT_MS + 60_000);
  });

  it('runs as many cold starts at once as the machine has cores while inits are quick', () => {
    expect(coldStartSlots(2, undefined)).toBe(2);
    expect(coldStartSlots(2, 800)).toBe(2);
    expect(coldStartSlots(8, SLOW_INIT_MS)).toBe(8);
  });

  it('runs one cold start at a time once inits are slow, so they do not push each other past the limit', () => {
    expect(coldStartSlots(2, SLOW_INIT_MS + 1)).toBe(1);
    expect(coldStartSlots(8, initLimitMs(10))).toBe(1);
  });

  it('always allows one cold start, whatever the cores said', () => {
    expect(coldStartSlots(0, undefined)).toBe(1);
  });

  it('paces by recent inits: one slow init after quick ones moves the pace halfway, two in a row settle it', () => {
    const quick = recentInitMs(undefined, 1000);
    const once = recentInitMs(quick, 20_000);
    const twice = recentInitMs(once, 20_000);
    const recovered = recentInitMs(recentInitMs(twice, 1000), 1000);

    expect(quick).toBe(1000);
    expect(coldStartSlots(2, once)).toBe(1);
    expect(twice).toBeGreaterThan(once);
    expect(coldStartSlots(2, recovered)).toBe(2);
  });

  it('keeps invocations waiting after one init timed out, and fails them once inits time out twice in a row', () => {
    expect(failWaitingAfterInitTimeouts(1)).toBe(false);
    expect(failWaitingAfterInitTimeouts(2)).toBe(true);
    expect(failWaitingAfterInitTimeouts(3)).toBe(true);
  });
});
