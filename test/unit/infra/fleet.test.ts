import { describe, expect, it } from 'vitest';
import { SILENCE_FACTOR } from '../../../handlers/enrichment/silence.ts';
import { functionLimits } from '../../../infra/api.ts';
import {
  DEFAULT_FLEET,
  fleetLimits,
  fleetSchedules,
  fleetSize,
  MAX_SCAN_SEGMENTS,
  MIN_STAGE_THROTTLE,
  SILENCE_CHECKS_PER_SILENCE,
  silenceCheckMinutes,
  silenceScanSegments,
  stageThrottle,
} from '../../../infra/fleet.ts';
import { type FunctionName, functions } from '../../../infra/functions.ts';
import { schedules } from '../../../infra/topology.ts';

describe('fleet sizing', () => {
  it('keeps the minimum throttle for a small fleet', () => {
    expect(stageThrottle(DEFAULT_FLEET)).toEqual(MIN_STAGE_THROTTLE);
  });

  it('sizes the stage throttle at three times a large fleet’s average upload rate', () => {
    expect(stageThrottle({ devices: 1_000_000, uploadSeconds: 300 })).toEqual({
      rateLimit: 10_000,
      burstLimit: 20_000,
    });
  });

  it('reads the context values, refusing what is not a positive number and naming the key', () => {
    expect(fleetSize('1_000_000', '300')).toEqual({ devices: 1_000_000, uploadSeconds: 300 });
    expect(fleetSize(undefined, undefined)).toEqual(DEFAULT_FLEET);
    expect(() => fleetSize('many', undefined)).toThrow(/fleetDevices/);
    expect(() => fleetSize(10, 0)).toThrow(/fleetUploadSeconds/);
  });

  it('reads a small fleet with one Scan segment and a million devices with forty, never more than the cap', () => {
    expect(silenceScanSegments(DEFAULT_FLEET.devices)).toBe(1);
    expect(silenceScanSegments(25_001)).toBe(2);
    expect(silenceScanSegments(1_000_000)).toBe(40);
    expect(silenceScanSegments(100_000_000)).toBe(MAX_SCAN_SEGMENTS);
  });

  it('runs the silence check a tenth of the shortest silence apart, in whole minutes, at least every minute', () => {
    expect((SILENCE_FACTOR * 60) / SILENCE_CHECKS_PER_SILENCE).toBeLessThan(60);
    for (const [uploadSeconds, minutes] of [
      [60, 1],
      [300, 1],
      [400, 2],
      [600, 3],
      [900, 4],
      [3_600, 18],
    ] as const)
      expect([uploadSeconds, silenceCheckMinutes({ devices: 1_000_000, uploadSeconds })]).toEqual([
        uploadSeconds,
        minutes,
      ]);
  });

  it('keeps the topology’s schedules for the default fleet, as the local cloud runs them, and only the silence check’s follows the fleet', () => {
    expect(fleetSchedules(DEFAULT_FLEET)).toEqual(schedules);
    expect(fleetSchedules({ devices: 1_000_000, uploadSeconds: 900 })).toEqual({
      ...schedules,
      silenceCheck: { ...schedules.silenceCheck, everyMinutes: 4 },
    });
  });

  it('sizes a small stage’s functions exactly as the local cloud runs them', () => {
    for (const name of Object.keys(functions) as FunctionName[])
      expect(fleetLimits(name, DEFAULT_FLEET)).toEqual(functionLimits(name));
  });
});
