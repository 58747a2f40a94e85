import { describe, expect, it } from 'vitest';
import type { AlertTransition, SilenceAlertData } from '../../../../handlers/enrichment/alert-state.ts';
import { checkSilence, type SilenceCheckDeps } from '../../../../handlers/enrichment/silence-check.ts';
import type { DeviceItem } from '../../../../handlers/lib/devices-store.ts';

const NOW = new Date('2026-11-23T12:00:00.000Z');

const device = (deviceId: string, lastReadingAt: string): DeviceItem => ({
  deviceId,
  metrics: {},
  alarms: [],
  expectedIntervalSeconds: 60,
  createdAt: '2026-11-23T09:00:00.000Z',
  updatedAt: '2026-11-23T09:00:00.000Z',
  apiKeyHash: 'hash',
  lastReading: { timestamp: lastReadingAt, metrics: { t: 1 }, receivedAt: lastReadingAt },
  alarmStates: {},
});

/** A devices table and a bus that refuses the events of `refused` devices. */
const fakes = (devices: DeviceItem[], refused: string[] = []) => {
  const announced: AlertTransition<SilenceAlertData>[] = [];
  const saved: string[] = [];
  const warnings: string[] = [];
  const deps: SilenceCheckDeps = {
    devices: async () => devices,
    publishAlerts: async (alerts) => {
      const failed = alerts.flatMap((alert, index) =>
        refused.includes(alert.data.deviceId) ? [{ index, error: 'InternalFailure' }] : [],
      );
      announced.push(...alerts.filter((alert) => !refused.includes(alert.data.deviceId)));
      return { accepted: alerts.flatMap((_, i) => (failed.some((f) => f.index === i) ? [] : [i])), failed };
    },
    saveAlertStates: async (deviceId) => {
      saved.push(deviceId);
      return true;
    },
    warn: (message) => {
      warnings.push(message);
    },
  };
  return { deps, announced, saved, warnings };
};

describe('checkSilence', () => {
  it('raises a silence alert for a device three intervals overdue and leaves a reporting one alone', async () => {
    const { deps, announced, saved } = fakes([
      device('quiet', '2026-11-23T11:50:00.000Z'),
      device('chatty', '2026-11-23T11:59:30.000Z'),
    ]);

    const report = await checkSilence(NOW, deps);

    expect(report).toEqual({ raised: 1, resolved: 0 });
    expect(announced.map((a) => [a.detailType, a.data.deviceId])).toEqual([['AlertRaised', 'quiet']]);
    expect(saved).toEqual(['quiet']);
  });

  it('keeps the state of a device whose alert the bus refused, so the next check raises it again', async () => {
    const { deps, saved, warnings } = fakes(
      [device('a', '2026-11-23T11:50:00.000Z'), device('b', '2026-11-23T11:50:00.000Z')],
      ['a'],
    );

    const report = await checkSilence(NOW, deps);

    expect(report).toEqual({ raised: 1, resolved: 0 });
    expect(saved).toEqual(['b']);
    expect(warnings).toEqual(['Some silence alerts were not published; the next check retries']);
  });
});
