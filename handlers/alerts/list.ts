import { canSee, type Principal, requireDevice } from '../lib/auth.ts';
import type { AlertRecord } from './records.ts';

/** What `GET /alerts` may ask for. */
export interface AlertsFilter {
  readonly deviceId?: string;
  readonly state?: 'active' | 'resolved';
  readonly limit: number;
}

/** Port of the alerts list: alert records newest first, of one device or in one state. */
export interface ListAlertsDeps {
  query(by: { deviceId: string } | { state: 'active' | 'resolved' }, limit: number): Promise<AlertRecord[]>;
}

/** The alert records the principal may see, newest first: of one device (if allowed) or of all it may see. */
export const listAlerts = async (
  principal: Principal,
  filter: AlertsFilter,
  deps: ListAlertsDeps,
): Promise<AlertRecord[]> => {
  const { deviceId, state, limit } = filter;
  let items: AlertRecord[];
  if (deviceId) {
    requireDevice(principal, deviceId);
    items = (await deps.query({ deviceId }, limit)).filter((a) => !state || a.state === state);
  } else {
    const states = state ? [state] : (['active', 'resolved'] as const);
    items = (await Promise.all(states.map((s) => deps.query({ state: s }, limit))))
      .flat()
      .filter((a) => canSee(principal, a.deviceId));
  }
  items.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  return items.slice(0, limit);
};
