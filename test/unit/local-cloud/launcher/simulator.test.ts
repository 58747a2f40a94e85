import { describe, expect, it } from 'vitest';
import {
  crossesALimit,
  isUploadDue,
  retryAfterMs,
  THROTTLE_BACKOFF_MS,
} from '../../../../local-cloud/launcher/simulator.ts';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const INTERVAL_MS = 60_000;

/** Readings taken every `spacingMs` (a minute) from 10:00 on. */
const held = (count: number, spacingMs = INTERVAL_MS) =>
  Array.from({ length: count }, (_, i) => ({ timestamp: new Date(T0 + i * spacingMs).toISOString() }));

describe('isUploadDue', () => {
  it('posts each reading as it comes while told to stream', () => {
    expect(isUploadDue({ held: held(1), bufferMs: 0 }, T0, INTERVAL_MS)).toBe(true);
  });

  it('has nothing to post without readings', () => {
    expect(isUploadDue({ held: [], bufferMs: 0 }, T0, INTERVAL_MS)).toBe(false);
  });

  it('holds a buffer’s worth of readings: 5 min at one a minute is an upload of 5', () => {
    const told = 300_000;

    expect(isUploadDue({ held: held(4), bufferMs: told }, T0 + 3 * INTERVAL_MS, INTERVAL_MS)).toBe(false);
    expect(isUploadDue({ held: held(5), bufferMs: told }, T0 + 4 * INTERVAL_MS, INTERVAL_MS)).toBe(true);
  });

  it('posts a full upload of 100 readings at once, whatever the buffer', () => {
    // A reading a second: 99 of them are 99 s old, far inside the hour they may wait.
    expect(isUploadDue({ held: held(99, 1000), bufferMs: 3_600_000 }, T0 + 99_000, 1000)).toBe(false);
    expect(isUploadDue({ held: held(100, 1000), bufferMs: 3_600_000 }, T0 + 99_000, 1000)).toBe(true);
  });

  it('posts at once what it holds when a reading crossed one of its limits, whatever the buffer', () => {
    expect(isUploadDue({ held: held(2), bufferMs: 3_600_000, crossed: true }, T0, INTERVAL_MS)).toBe(true);
    expect(isUploadDue({ held: held(2), bufferMs: 3_600_000, crossed: false }, T0, INTERVAL_MS)).toBe(false);
  });
});

describe('crossesALimit', () => {
  const limits = [
    { metric: 't', above: 30 },
    { metric: 'h', below: 10, above: 90 },
  ];

  it('crosses going beyond a limit the last posted reading was within, and coming back', () => {
    expect(crossesALimit(limits, { t: 31 }, { t: 20 })).toBe(true);
    expect(crossesALimit(limits, { t: 20 }, { t: 31 })).toBe(true);
    expect(crossesALimit(limits, { h: 9 }, { h: 50 })).toBe(true);
    expect(crossesALimit(limits, { h: 91 }, { h: 9 })).toBe(false);
  });

  it('does not cross staying on one side, sitting on a limit, or without the metric', () => {
    expect(crossesALimit(limits, { t: 35 }, { t: 31 })).toBe(false);
    expect(crossesALimit(limits, { t: 30 }, { t: 20 })).toBe(false);
    expect(crossesALimit(limits, { x: 99 }, { t: 31 })).toBe(false);
    expect(crossesALimit([], { t: 99 }, undefined)).toBe(false);
  });

  it('takes a device that posted nothing yet as within every limit', () => {
    expect(crossesALimit(limits, { t: 31 }, undefined)).toBe(true);
    expect(crossesALimit(limits, { t: 20 }, undefined)).toBe(false);
  });
});

describe('retryAfterMs', () => {
  const answer = (headers: Record<string, string> = {}) => ({ headers: new Headers(headers) });

  it("waits the answer's Retry-After when it has one, however often the device was throttled", () => {
    expect(retryAfterMs(answer({ 'retry-after': '1' }))).toBe(1000);
    expect(retryAfterMs(answer({ 'retry-after': '3' }), 5, () => 0)).toBe(3000);
  });

  it('backs off with full jitter when the answer has none, as an HTTP API throttle answers', () => {
    const throttled = answer({ 'content-type': 'application/json' });
    // The ceiling doubles with each throttle in a row, up to the maximum; the wait is a random share of it.
    expect(retryAfterMs(throttled, 0, () => 0.5)).toBe(THROTTLE_BACKOFF_MS.base / 2);
    expect(retryAfterMs(throttled, 3, () => 0.5)).toBe((THROTTLE_BACKOFF_MS.base * 8) / 2);
    expect(retryAfterMs(throttled, 20, () => 0.999)).toBeLessThan(THROTTLE_BACKOFF_MS.max);
    expect(retryAfterMs(throttled, 20, () => 0.999)).toBeGreaterThan(THROTTLE_BACKOFF_MS.max * 0.99);
    // Two devices throttled together do not come back together.
    expect(retryAfterMs(throttled, 2, () => 0.1)).not.toBe(retryAfterMs(throttled, 2, () => 0.9));
  });

  it('treats a Retry-After that is not a positive number as absent', () => {
    expect(retryAfterMs(answer({ 'retry-after': 'soon' }), 0, () => 0.25)).toBe(THROTTLE_BACKOFF_MS.base / 4);
    expect(retryAfterMs(answer({ 'retry-after': '0' }), 1, () => 0.25)).toBe(THROTTLE_BACKOFF_MS.base / 2);
  });
});
