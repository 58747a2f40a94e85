import { describe, expect, it } from 'vitest';
import {
  type AlertEntry,
  applyLifecycle,
  canActOnAlerts,
  parseAlertRecord,
  roleOfToken,
} from '../../../../../web/src/logic/alerts.ts';

const tokenOf = (claims: Record<string, unknown>) =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

const open: AlertEntry = {
  alertId: 'a1',
  deviceId: 'd1',
  severity: 'critical',
  kind: 'threshold',
  summary: 't 35 is above 30',
  raisedAt: Date.parse('2026-11-23T10:00:00Z'),
};

describe('alert actions in the dashboard', () => {
  it('lets operators and admins act, never viewers or an unreadable token', () => {
    expect(
      ['operator', 'admin', 'viewer'].map((role) => canActOnAlerts(roleOfToken(tokenOf({ role })))),
    ).toEqual([true, true, false]);
    expect(canActOnAlerts(roleOfToken('not-a-token'))).toBe(false);
  });

  it('applies an acknowledgement and a snooze once each, on the alert they name', () => {
    const acknowledged = { alertId: 'a1', by: 'operator/t1', time: '2026-11-23T10:05:00.000Z' };
    const snoozed = {
      alertId: 'a1',
      by: 'operator/t1',
      time: '2026-11-23T10:06:00.000Z',
      until: '2026-11-23T11:06:00.000Z',
    };

    const once = applyLifecycle([open], 'AlertAcknowledged', acknowledged, 0);
    const twice = applyLifecycle(once, 'AlertAcknowledged', acknowledged, 0);
    const after = applyLifecycle(twice, 'AlertSnoozed', snoozed, 0);

    expect(after[0]?.acknowledgedBy).toBe('operator/t1');
    expect(after[0]?.snoozedUntil).toBe(Date.parse('2026-11-23T11:06:00.000Z'));
    expect(after[0]?.timeline?.map((step) => step.type)).toEqual(['AlertAcknowledged', 'AlertSnoozed']);
    expect(applyLifecycle([open], 'AlertAcknowledged', { ...acknowledged, alertId: 'other' }, 0)).toEqual([
      open,
    ]);
  });

  it('reads an alert record with its acknowledgement, snooze and timeline, dropping a malformed step', () => {
    const alert = parseAlertRecord(
      {
        ...open,
        state: 'active',
        raisedAt: '2026-11-23T10:00:00.000Z',
        updatedAt: '2026-11-23T10:06:00.000Z',
        acknowledgedBy: 'admin/t2',
        snoozedUntil: '2026-11-23T11:00:00.000Z',
        timeline: [{ type: 'AlertRaised', time: '2026-11-23T10:00:00.000Z', eventId: 'e1' }, { type: 7 }],
        escalationPolicy: 'added by a later API',
      },
      0,
    );

    expect(alert).toMatchObject({
      acknowledgedBy: 'admin/t2',
      snoozedUntil: Date.parse('2026-11-23T11:00:00.000Z'),
    });
    expect(alert?.timeline).toEqual([{ type: 'AlertRaised', at: Date.parse('2026-11-23T10:00:00.000Z') }]);
  });
});
