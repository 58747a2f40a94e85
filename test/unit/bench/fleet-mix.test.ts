import { describe, expect, it } from 'vitest';
import { uploadShapeOf } from '../../../tools/cost/model.ts';
import { fleetMixOf, MEASURED_FLEET, measuredFleetMix } from '../../bench/fleet-mix.ts';

describe('the fleet mix the whole system is measured with', () => {
  it('is the fleet npm run cost prices by default: a tenth watched and streaming, the others uploading an hour of readings', () => {
    const mix = measuredFleetMix(16);

    expect(mix.shape).toEqual(uploadShapeOf(MEASURED_FLEET));
    expect(mix.shape.watchedFraction).toBe(0.1);
    // An hour of readings every 5 minutes is 12; the two uploads a day an alert's crossings add
    // bring the average to 288 / 26 ≈ 11.
    expect(mix.shape.unwatchedUploadReadings).toBeCloseTo(288 / 26, 9);
    expect(mix.unwatchedUploadReadings).toBe(11);
    // Watched : unwatched devices = 0.1 × 11 : 0.9 ≈ 1.22: 6 single uploads for every 5 of 11
    // readings is within 2 % of it, doubled for 16 requests in flight.
    expect(mix).toMatchObject({ watchedDevices: 12, unwatchedDevices: 10 });
  });

  it('keeps the ratio of uploads, with at least as many devices as requests in flight', () => {
    const shape = {
      watchedUploadReadings: 1,
      unwatchedUploadReadings: 6,
      watchedFraction: 0.25,
      uploadsPerReading: 0,
    };

    // watched : unwatched = 0.25 × 6 : 0.75 = 2 : 1
    expect(fleetMixOf(shape, 1)).toMatchObject({ watchedDevices: 2, unwatchedDevices: 1 });
    expect(fleetMixOf(shape, 16)).toMatchObject({ watchedDevices: 12, unwatchedDevices: 6 });
  });

  it('refuses a fleet with nobody watched or everybody watched', () => {
    const shape = {
      watchedUploadReadings: 1,
      unwatchedUploadReadings: 12,
      watchedFraction: 0,
      uploadsPerReading: 0,
    };

    expect(() => fleetMixOf(shape, 16)).toThrow(RangeError);
    expect(() => fleetMixOf({ ...shape, watchedFraction: 1 }, 16)).toThrow(RangeError);
  });
});
