import { describe, expect, it } from 'vitest';
import { uploadShapeOf } from '../../../tools/cost/model.ts';
import { fleetMixOf, MEASURED_FLEET, measuredFleetMix } from '../../bench/fleet-mix.ts';

describe('the fleet mix the whole system is measured with', () => {
  it('is the fleet npm run cost prices by default: a tenth watched and streaming, the others uploading an hour of readings', () => {
    const mix = measuredFleetMix(16);

    expect(mix.shape).toEqual(uploadShapeOf(MEASURED_FLEET));
    expect(mix.shape.watchedFraction).toBe(0.1);
    expect(mix.shape.unwatchedUploadReadings).toBe(12);
    // 12 single uploads of watched devices for every 9 uploads of 12 readings: per hour, one watched
    // device uploads 12 times, nine unwatched ones once each.
    expect(mix).toMatchObject({ watchedDevices: 12, unwatchedDevices: 9 });
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
