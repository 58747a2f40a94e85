import { describe, expect, it } from 'vitest';
import { functionLimits } from '../../../infra/api.ts';
import {
  DEFAULT_FLEET,
  fleetLimits,
  fleetSize,
  MAX_SCAN_SEGMENTS,
  MIN_STAGE_THROTTLE,
  silenceScanSegments,
  stageThrottle,
} from '../../../infra/fleet.ts';
import { type FunctionName, functions } from '../../../infra/functions.ts';

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

  it('sizes a small stage’s functions exactly as the local cloud runs them', () => {
    for (const name of Object.keys(functions) as FunctionName[])
      expect(fleetLimits(name, DEFAULT_FLEET)).toEqual(functionLimits(name));
  });
});
