import type { AlertRecord } from '../../schemas/alert-record.ts';
import { canSee, type Principal, requireDevice } from '../lib/auth.ts';

/** What `GET /alerts` may ask for; every filter given applies. */
export interface AlertsFilter {
  readonly deviceId?: string;
  readonly state?: 'active' | 'resolved';
  readonly acknowledged?: boolean;
  readonly severity?: 'warning' | 'critical';
  readonly limit: number;
}

/** Port of the alerts list: alert records newest first, of one device or in one state (all of them without a limit). */
export interface ListAlertsDeps {
  query(by: { deviceId: string } | { state: 'active' | 'resolved' }, limit?: number): Promise<AlertRecord[]>;
}

/** An alert as the API serves it: its record, whether it is acknowledged, and its timeline oldest first. */
export type Alert = Omit<AlertRecord, 'snoozeRequest'> & { readonly acknowledged: boolean };

export const toAlert = (record: AlertRecord): Alert => {
  const { snoozeRequest: _, ...alert } = record;
  return {
    ...alert,
    acknowledged: record.acknowledgedAt !== undefined,
    timeline: [...record.timeline].sort((a, b) => Date.parse(a.time) - Date.parse(b.time)),
  };
};

/**
 * The alerts the principal may see, newest first: of one device (if allowed) or of all it may
 * see, filtered by state, acknowledgement and severity.
 */
export const listAlerts = async (
  principal: Principal,
  filter: AlertsFilter,
  deps: ListAlertsDeps,
): Promise<Alert[]> => {
  const { deviceId, state, limit } = filter;
  // Filters the index cannot apply are applied after reading, so the read cannot stop at `limit`.
  const readLimit = filter.acknowledged !== undefined || filter.severity !== undefined ? undefined : limit;
  let items: AlertRecord[];
  if (deviceId) {
    requireDevice(principal, deviceId);
    items = (await deps.query({ deviceId }, readLimit)).filter((a) => !state || a.state === state);
  } else {
    const states = state ? [state] : (['active', 'resolved'] as const);
    items = (await Promise.all(states.map((s) => deps.query({ state: s }, readLimit))))
      .flat()
      .filter((a) => canSee(principal, a.deviceId));
  }
  return items
    .filter(
      (a) =>
        (filter.acknowledged === undefined || (a.acknowledgedAt !== undefined) === filter.acknowledged) &&
        (filter.severity === undefined || a.severity === filter.severity),
    )
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
    .slice(0, limit)
    .map(toAlert);
};
