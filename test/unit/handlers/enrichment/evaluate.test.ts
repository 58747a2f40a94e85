import { describe, expect, it } from 'vitest';
import { type EvaluateDeps, evaluate, MAX_CONFLICTS } from '../../../../handlers/enrichment/evaluate.ts';
import { alarmKeyOf, type DeviceItem } from '../../../../handlers/lib/devices-store.ts';
import { WorkflowErrors } from '../../../../handlers/lib/workflow-errors.ts';
import type { Alarm } from '../../../../schemas/device.ts';

const HOT: Alarm = { metric: 'temperature', above: 30, severity: 'critical' };

const device = (overrides: Partial<DeviceItem> = {}): DeviceItem => ({
  deviceId: 'd1',
  metrics: { temperature: { unit: '°C' } },
  alarms: [HOT],
  createdAt: '2026-11-23T09:00:00.000Z',
  updatedAt: '2026-11-23T09:00:00.000Z',
  apiKeyHash: 'hash',
  alarmStates: {},
  ...overrides,
});

/** An upload of one reading. */
const reading = (timestamp: string, temperature: number) => upload([[timestamp, temperature]]);

/** An upload of readings `[timestamp, temperature]`, in the order given. */
const upload = (readings: readonly [string, number][]) => ({
  deviceId: 'd1',
  readings: readings.map(([timestamp, temperature]) => ({ timestamp, metrics: { temperature } })),
});

/**
 * A devices table holding one item; `interferences` other evaluations change its alarm states
 * between our read and our conditional write.
 */
const devicesTable = (item: DeviceItem | undefined, interferences = 0) => {
  let stored = item;
  let pending = interferences;
  const deps: EvaluateDeps = {
    device: async () => stored,
    saveAlertStates: async (_deviceId, updates) => {
      if (!stored) return false;
      if (pending > 0) {
        pending--;
        return false;
      }
      const changed = updates.every(({ key, previous }) => stored?.alarmStates[key] === previous);
      if (!changed) return false;
      stored = {
        ...stored,
        alarmStates: { ...stored.alarmStates, ...Object.fromEntries(updates.map((u) => [u.key, u.next])) },
      };
      return true;
    },
    claimResolution: async () => true,
  };
  return { deps, stored: () => stored };
};

describe('evaluate', () => {
  it('raises an alert once when a reading breaches an alarm, and remembers the alarm is on', async () => {
    const { deps, stored } = devicesTable(device());

    const first = await evaluate(reading('2026-11-23T10:00:00.000Z', 31), deps);
    const second = await evaluate(reading('2026-11-23T10:01:00.000Z', 32), deps);

    expect(first.map((a) => a.detailType)).toEqual(['AlertRaised']);
    expect(first[0]?.data).toMatchObject({ deviceId: 'd1', severity: 'critical', kind: 'threshold' });
    expect(second).toEqual([]);
    expect(stored()?.alarmStates[alarmKeyOf(HOT)]?.state).toBe('ALARM');
  });

  it('evaluates an upload reading by reading in time order: raise, resolve and raise again, saved once', async () => {
    let saves = 0;
    const table = devicesTable(device());
    const deps: EvaluateDeps = {
      ...table.deps,
      saveAlertStates: (deviceId, updates) => {
        saves++;
        return table.deps.saveAlertStates(deviceId, updates);
      },
    };

    const alerts = await evaluate(
      upload([
        ['2026-11-23T10:02:00.000Z', 25],
        ['2026-11-23T10:00:00.000Z', 31],
        ['2026-11-23T10:03:00.000Z', 33],
        ['2026-11-23T10:01:00.000Z', 32],
      ]),
      deps,
    );

    expect(alerts.map((a) => [a.detailType, a.data.time])).toEqual([
      ['AlertRaised', '2026-11-23T10:00:00.000Z'],
      ['AlertResolved', '2026-11-23T10:02:00.000Z'],
      ['AlertRaised', '2026-11-23T10:03:00.000Z'],
    ]);
    expect(alerts[1]?.data.alertId).toBe(alerts[0]?.data.alertId);
    expect(alerts[2]?.data.alertId).not.toBe(alerts[0]?.data.alertId);
    expect(saves).toBe(1);
    expect(table.stored()?.alarmStates[alarmKeyOf(HOT)]).toMatchObject({
      state: 'ALARM',
      since: '2026-11-23T10:03:00.000Z',
    });
  });

  it('resolves the alert when the value is back in range', async () => {
    const { deps } = devicesTable(device());
    await evaluate(reading('2026-11-23T10:00:00.000Z', 31), deps);

    const alerts = await evaluate(reading('2026-11-23T10:01:00.000Z', 25), deps);

    expect(alerts.map((a) => a.detailType)).toEqual(['AlertResolved']);
  });

  it('evaluates again from a fresh read when another evaluation changed the states meanwhile', async () => {
    const { deps, stored } = devicesTable(device(), MAX_CONFLICTS - 1);

    const alerts = await evaluate(reading('2026-11-23T10:00:00.000Z', 31), deps);

    expect(alerts.map((a) => a.detailType)).toEqual(['AlertRaised']);
    expect(stored()?.alarmStates[alarmKeyOf(HOT)]?.state).toBe('ALARM');
  });

  it(`gives up as a transient error after ${MAX_CONFLICTS} conflicts, recording nothing`, async () => {
    const { deps, stored } = devicesTable(device(), MAX_CONFLICTS);

    await expect(evaluate(reading('2026-11-23T10:00:00.000Z', 31), deps)).rejects.toMatchObject({
      name: WorkflowErrors.Transient,
    });
    expect(stored()?.alarmStates).toEqual({});
  });

  it('fails as DeviceNotFound for a device that is not registered', async () => {
    const { deps } = devicesTable(undefined);

    await expect(evaluate(reading('2026-11-23T10:00:00.000Z', 31), deps)).rejects.toMatchObject({
      name: WorkflowErrors.DeviceNotFound,
    });
  });
});
