import { describe, expect, it } from 'vitest';
import { isUploadDue } from '../../../../local-cloud/launcher/simulator.ts';

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
});
