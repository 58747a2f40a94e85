import { describe, expect, it } from 'vitest';
import { DEFAULT_FLEET, fleetSize, MIN_STAGE_THROTTLE, stageThrottle } from '../../../infra/fleet.ts';

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
});
