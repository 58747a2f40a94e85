import { describe, expect, it } from 'vitest';
import { claimOf } from '../../../../handlers/ingest/read-ahead.ts';

describe('what a body claims before it is validated', () => {
  const reading = { deviceId: 'd1', timestamp: '2026-11-23T10:59:59.999+01:00', metrics: { t: 1 } };

  it("names a lone reading's device and its UTC hour, as the ingest keys it", () => {
    expect(claimOf(reading)).toEqual({ deviceId: 'd1', hour: '2026-11-23T09' });
    expect(claimOf({ readings: [reading] })).toEqual({ deviceId: 'd1', hour: '2026-11-23T09' });
  });

  it("names a batch's device, by its first reading, and no hour", () => {
    expect(claimOf({ readings: [reading, { ...reading, deviceId: 'd2' }] })).toEqual({ deviceId: 'd1' });
  });

  it('names no hour for a timestamp the ingest refuses, and nothing without a well-formed device id', () => {
    expect(claimOf({ ...reading, timestamp: 'yesterday' })).toEqual({ deviceId: 'd1' });
    expect(claimOf({ ...reading, timestamp: '-000001-01-01T00:00:00Z' })).toEqual({ deviceId: 'd1' });
    for (const body of [
      { ...reading, deviceId: '' },
      { ...reading, deviceId: 'x'.repeat(65) },
      { ...reading, deviceId: 7 },
      { readings: 'x' },
      { readings: [] },
      [reading],
      null,
      'd1',
    ])
      expect(claimOf(body), JSON.stringify(body)).toBeUndefined();
  });
});
