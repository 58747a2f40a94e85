import { describe, expect, it } from 'vitest';
import { type EscalationDeps, escalate, escalationPeriodOf } from '../../../../handlers/alerts/escalation.ts';
import type { EventEntry } from '../../../../handlers/lib/events.ts';
import type { AlertRecord } from '../../../../schemas/alert-record.ts';
import type { Alarm } from '../../../../schemas/device.ts';
import { RAISED, thresholdAlert } from './alert-records.ts';

const at = (minutes: number) => new Date(Date.parse(RAISED) + minutes * 60_000);
const ALARM: Alarm = { metric: 't', above: 90, severity: 'critical', escalateAfterMinutes: 15 };

const alert = (more: Partial<AlertRecord> = {}): AlertRecord => thresholdAlert({ ...more });

/** The escalation check's ports in memory: the record remembers the last period marked, only forward. */
const fakes = (alerts: AlertRecord[], alarms: Record<string, readonly Alarm[]> = { 'boiler-1': [ALARM] }) => {
  const records = new Map(alerts.map((a) => [a.alertId, { ...a }]));
  const published: EventEntry[] = [];
  const deps: EscalationDeps = {
    busName: 'telemetry',
    activeAlerts: async () =>
      [...records.values()].filter((a) => a.state === 'active').map((a) => ({ ...a })),
    alarmsOf: async (deviceId) => alarms[deviceId] ?? [],
    publish: async (entries) => {
      published.push(...entries);
    },
    markEscalated: async (alertId, escalation) => {
      const record = records.get(alertId);
      if (!record || (record.escalation ?? 0) >= escalation) return false;
      record.escalation = escalation;
      return true;
    },
  };
  const escalations = () =>
    published.map((entry) => {
      const detail = JSON.parse(entry.Detail ?? '{}') as {
        metadata: { eventId: string };
        data: { escalation: number; time: string };
      };
      return { type: entry.DetailType, eventId: detail.metadata.eventId, ...detail.data };
    });
  return { deps, records, escalations };
};

describe('escalation periods', () => {
  it('counts whole periods since the raise', () => {
    expect([0, 14, 15, 29, 30, 61].map((m) => escalationPeriodOf(RAISED, 15, at(m)))).toEqual([
      0, 0, 1, 1, 2, 4,
    ]);
  });
});

describe('escalate', () => {
  it('notifies once per period, at the time it fell due, under repeated checks', async () => {
    const { deps, escalations } = fakes([alert()]);

    const early = await escalate(at(14), deps);
    const due = await escalate(at(15), deps);
    const repeated = await escalate(at(20), deps);
    const next = await escalate(at(31), deps);

    expect([early, due, repeated, next].map((r) => r.escalated)).toEqual([0, 1, 0, 1]);
    expect(escalations()).toEqual([
      expect.objectContaining({ type: 'AlertEscalated', escalation: 1, time: at(15).toISOString() }),
      expect.objectContaining({ type: 'AlertEscalated', escalation: 2, time: at(30).toISOString() }),
    ]);
  });

  it('a late check announces only the current period, not every one it missed', async () => {
    const { deps, escalations } = fakes([alert()]);

    await escalate(at(64), deps);

    expect(escalations().map((e) => e.escalation)).toEqual([4]);
  });

  it('a concurrent check publishes the same event id for the period, and only one marks it', async () => {
    const { deps, escalations } = fakes([alert()]);

    const [a, b] = await Promise.all([escalate(at(16), deps), escalate(at(16), deps)]);

    expect(a.escalated + b.escalated).toBe(1);
    expect(new Set(escalations().map((e) => e.eventId)).size).toBe(1);
  });

  it.each([
    ['acknowledged', alert({ acknowledgedAt: at(5).toISOString(), acknowledgedBy: 'operator/op-1' })],
    ['snoozed past now', alert({ snoozedAt: at(5).toISOString(), snoozedUntil: at(60).toISOString() })],
    ['a silence alert', alert({ kind: 'silence', metric: undefined, above: undefined, value: undefined })],
    ['resolved', alert({ state: 'resolved', resolvedAt: at(10).toISOString() })],
  ])('leaves an alert %s alone', async (_, record) => {
    const { deps, escalations } = fakes([record]);

    await escalate(at(45), deps);

    expect(escalations()).toEqual([]);
  });

  it('escalates once a snooze has ended', async () => {
    const { deps, escalations } = fakes([
      alert({ snoozedAt: at(5).toISOString(), snoozedUntil: at(40).toISOString() }),
    ]);

    await escalate(at(35), deps);
    await escalate(at(41), deps);

    expect(escalations().map((e) => e.escalation)).toEqual([2]);
  });

  it('needs the alarm to set escalateAfterMinutes, and a device that still has it', async () => {
    const noEscalation = fakes([alert()], { 'boiler-1': [{ ...ALARM, escalateAfterMinutes: undefined }] });
    const deleted = fakes([alert()], {});

    await escalate(at(45), noEscalation.deps);
    await escalate(at(45), deleted.deps);

    expect(noEscalation.escalations()).toEqual([]);
    expect(deleted.escalations()).toEqual([]);
  });
});
