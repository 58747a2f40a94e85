import { describe, expect, it } from 'vitest';
import { type AlertHistoryDeps, recordAlertEvent } from '../../../../handlers/alerts/history.ts';
import type { AlertEventRecord } from '../../../../handlers/alerts/records.ts';
import type { EventEntry } from '../../../../handlers/lib/events.ts';
import type { AlertData } from '../../../../schemas/events.ts';
import { RAISED, thresholdAlert } from './alert-records.ts';

const raisedData: AlertData = {
  alertId: 'alert-1',
  deviceId: 'boiler-1',
  kind: 'threshold',
  severity: 'critical',
  summary: 'boiler-1 t 95 above 90',
  time: RAISED,
  metric: 't',
  value: 95,
  above: 90,
  readingTimestamp: RAISED,
};
const event = (detailType: string): AlertEventRecord => ({
  detailType,
  eventId: `${detailType}-1`,
  data: { alertId: 'alert-1', time: RAISED },
});

/** The history's ports, faked in memory: `deleted` maps a deleted device to who deleted it. */
const fakes = (deleted: Record<string, string> = {}) => {
  const recorded: { detailType: string; alert?: AlertData }[] = [];
  const resolvedBy: string[] = [];
  const published: EventEntry[] = [];
  const deps: AlertHistoryDeps = {
    record: async (record, alert) =>
      void recorded.push({ detailType: record.detailType, ...(alert ? { alert } : {}) }),
    deletedBy: async (deviceId) => deleted[deviceId],
    lifecycle: {
      busName: 'telemetry',
      now: () => new Date('2026-11-23T10:05:00.000Z'),
      alerts: {
        get: async (alertId) =>
          recorded.some((r) => r.alert?.alertId === alertId) ? thresholdAlert({ alertId }) : undefined,
        acknowledge: async () => undefined,
        snooze: async () => undefined,
        resolveByHand: async (alertId, at, by) => {
          resolvedBy.push(by);
          return thresholdAlert({ alertId, state: 'resolved', resolvedAt: at, resolvedBy: by });
        },
      },
      releaseAlertState: async () => false,
      publish: async (entries) => void published.push(...entries),
    },
  };
  return { deps, recorded, resolvedBy, published };
};

describe('recordAlertEvent', () => {
  it('records every alert event on the timeline, raised and resolved with the alert’s data', async () => {
    const f = fakes();

    await recordAlertEvent(event('AlertRaised'), raisedData, f.deps);
    await recordAlertEvent(event('AlertAcknowledged'), undefined, f.deps);

    expect(f.recorded).toEqual([
      { detailType: 'AlertRaised', alert: raisedData },
      { detailType: 'AlertAcknowledged' },
    ]);
    expect(f.resolvedBy).toEqual([]);
    expect(f.published).toEqual([]);
  });

  it('resolves a raise that lands after its device was deleted, in the name of who deleted it', async () => {
    const f = fakes({ 'boiler-1': 'admin/admin-1' });

    await recordAlertEvent(event('AlertRaised'), raisedData, f.deps);

    expect(f.resolvedBy).toEqual(['admin/admin-1']);
    expect(f.published.map((entry) => entry.DetailType)).toEqual(['AlertResolved']);
  });
});
