import type { AlertRecord } from '../../../../schemas/alert-record.ts';

/** When the alerts of these tests were raised. */
export const RAISED = '2026-11-23T10:00:00.000Z';

/** An active threshold alert of boiler-1 raised at {@link RAISED}, with `more` over it. */
export const thresholdAlert = (more: Partial<AlertRecord> = {}): AlertRecord => ({
  alertId: 'alert-1',
  deviceId: 'boiler-1',
  kind: 'threshold',
  severity: 'critical',
  state: 'active',
  summary: 'boiler-1 t 95 above 90',
  raisedAt: RAISED,
  updatedAt: RAISED,
  metric: 't',
  value: 95,
  above: 90,
  timeline: [],
  ...more,
});
