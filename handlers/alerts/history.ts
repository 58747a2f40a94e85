import { type AlertData, AlertRaised } from '../../schemas/events.ts';
import { type AlertLifecycleDeps, resolveByHand } from './lifecycle.ts';
import type { AlertEventRecord } from './records.ts';

/** Ports of the alert history; adapters live in `history-handler.ts`. */
export interface AlertHistoryDeps {
  /** Records one alert event (raised and resolved also carry the alert's data). */
  record(event: AlertEventRecord, alert?: AlertData): Promise<void>;
  /** Who deleted the device, when it is deleted (its item is a tombstone); undefined for a live or unknown one. */
  deletedBy(deviceId: string): Promise<string | undefined>;
  /** What resolving an alert by hand needs, for the alerts of a device deleted before their raise arrived. */
  readonly lifecycle: AlertLifecycleDeps;
}

/**
 * Keeps the record of every alert that `GET /alerts` serves, with each step of its life (raised,
 * acknowledged, snoozed, escalated, resolved) on its timeline.
 *
 * A raise may still be on its way when its device is deleted (the deletion resolves the alerts
 * it finds, and this one is not there yet); recorded after the deletion, it is resolved at once
 * in the name of who deleted the device, as the deletion would have, so no alert of a deleted
 * device stays active. A redelivered raise finds it resolved and announces the same event again.
 */
export const recordAlertEvent = async (
  event: AlertEventRecord,
  alert: AlertData | undefined,
  deps: AlertHistoryDeps,
): Promise<void> => {
  await deps.record(event, alert);
  if (event.detailType !== AlertRaised.detailType || !alert) return;
  const deletedBy = await deps.deletedBy(alert.deviceId);
  if (deletedBy === undefined) return;
  const recorded = await deps.lifecycle.alerts.get(alert.alertId);
  if (recorded) await resolveByHand(recorded, deletedBy, deps.lifecycle);
};
