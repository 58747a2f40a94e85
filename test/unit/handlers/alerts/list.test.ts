import { describe, expect, it } from 'vitest';
import { type ListAlertsDeps, listAlerts } from '../../../../handlers/alerts/list.ts';
import type { Principal } from '../../../../handlers/lib/auth.ts';
import { ForbiddenError } from '../../../../handlers/lib/errors.ts';
import type { AlertRecord } from '../../../../schemas/alert-record.ts';

const record = (
  deviceId: string,
  state: 'active' | 'resolved',
  updatedAt: string,
  more: Partial<AlertRecord> = {},
): AlertRecord => ({
  alertId: `${deviceId}-${updatedAt}`,
  deviceId,
  kind: 'silence',
  severity: 'critical',
  state,
  summary: `${deviceId} is silent`,
  updatedAt,
  timeline: [],
  ...more,
});

const TABLE = [
  record('d1', 'active', '2026-11-23T10:00:00.000Z'),
  record('d1', 'resolved', '2026-11-23T09:00:00.000Z'),
  record('d2', 'active', '2026-11-23T11:00:00.000Z', {
    severity: 'warning',
    acknowledgedAt: '2026-11-23T11:05:00.000Z',
    acknowledgedBy: 'operator/t1',
  }),
];

/** The alerts table's two indexes: by device and by state, newest first. */
const alertsTable: ListAlertsDeps = {
  query: async (by, limit) =>
    TABLE.filter((r) => ('deviceId' in by ? r.deviceId === by.deviceId : r.state === by.state))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, limit),
};

const viewerOf = (deviceIds: string[]): Principal => ({ role: 'viewer', deviceIds });

describe('listAlerts', () => {
  it('shows a viewer only the alerts of devices its token grants, newest first', async () => {
    const items = await listAlerts(viewerOf(['d1']), { limit: 100 }, alertsTable);

    expect(items.map((a) => [a.deviceId, a.state])).toEqual([
      ['d1', 'active'],
      ['d1', 'resolved'],
    ]);
  });

  it('filters one device by state and refuses a device outside the grant', async () => {
    const items = await listAlerts(
      viewerOf(['d1']),
      { deviceId: 'd1', state: 'resolved', limit: 100 },
      alertsTable,
    );

    expect(items.map((a) => a.state)).toEqual(['resolved']);
    await expect(
      listAlerts(viewerOf(['d1']), { deviceId: 'd2', limit: 100 }, alertsTable),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('filters by acknowledgement and severity together with state', async () => {
    const all = viewerOf(['d1', 'd2']);

    const acknowledged = await listAlerts(all, { acknowledged: true, limit: 100 }, alertsTable);
    const unacknowledgedActive = await listAlerts(
      all,
      { state: 'active', acknowledged: false, limit: 100 },
      alertsTable,
    );
    const critical = await listAlerts(all, { severity: 'critical', limit: 1 }, alertsTable);

    expect(acknowledged.map((a) => [a.deviceId, a.acknowledged, a.acknowledgedBy])).toEqual([
      ['d2', true, 'operator/t1'],
    ]);
    expect(unacknowledgedActive.map((a) => [a.deviceId, a.state, a.acknowledged])).toEqual([
      ['d1', 'active', false],
    ]);
    expect(critical.map((a) => a.alertId)).toEqual(['d1-2026-11-23T10:00:00.000Z']);
  });

  it('answers at most `limit` alerts across both states', async () => {
    const items = await listAlerts(viewerOf(['d1', 'd2']), { limit: 2 }, alertsTable);

    expect(items.map((a) => a.updatedAt)).toEqual(['2026-11-23T11:00:00.000Z', '2026-11-23T10:00:00.000Z']);
  });
});
