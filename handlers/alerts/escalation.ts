import type { AlertRecord } from '../../schemas/alert-record.ts';
import type { Alarm } from '../../schemas/device.ts';
import { AlertEscalated } from '../../schemas/events.ts';
import { alarmKeyOf } from '../lib/devices-store.ts';
import type { EventEntry } from '../lib/events.ts';
import { buildEntry } from '../lib/events.ts';
import { stateKeyOf } from './lifecycle.ts';

/** Ports of the escalation check; adapters live in `escalation-handler.ts`. */
export interface EscalationDeps {
  activeAlerts(): Promise<AlertRecord[]>;
  /** The alarms of a live device (none for a deleted one). */
  alarmsOf(deviceId: string): Promise<readonly Alarm[]>;
  /** Publishes on the telemetry bus; throws unless every entry was accepted. */
  publish(entries: EventEntry[]): Promise<void>;
  /** Records period `escalation` as notified; `false` when it (or a later one) already was. */
  markEscalated(alertId: string, escalation: number, at: string): Promise<boolean>;
  readonly busName: string;
}

/**
 * The escalation period an alert is in at `now`: how many whole `escalateAfterMinutes` have
 * passed since it was raised (0: not yet due).
 */
export const escalationPeriodOf = (raisedAt: string, escalateAfterMinutes: number, now: Date): number =>
  Math.max(0, Math.floor((now.getTime() - Date.parse(raisedAt)) / (escalateAfterMinutes * 60_000)));

/** Whether nobody has taken the alert on at `now`: not acknowledged, and not snoozed past `now`. */
const unattended = (alert: AlertRecord, now: Date): boolean =>
  alert.acknowledgedAt === undefined &&
  (alert.snoozedUntil === undefined || Date.parse(alert.snoozedUntil) <= now.getTime());

/**
 * Escalates each active, unacknowledged, unsnoozed threshold alert whose alarm sets
 * `escalateAfterMinutes`, once per period: period n is due n × that long after the raise. A check
 * that runs late announces only the current period, never one per period missed.
 *
 * Nothing is sent twice for one period: the event's id derives from the alert and the period, so
 * a retried or concurrent check publishes the same event id (which the notifier sends once), and
 * the record remembers the last period announced (only after the bus accepted it, so a crash in
 * between re-sends the same event rather than losing it).
 */
export const escalate = async (now: Date, deps: EscalationDeps): Promise<{ escalated: number }> => {
  let escalated = 0;
  const alarmsByDevice = new Map<string, readonly Alarm[]>();
  for (const alert of await deps.activeAlerts()) {
    if (alert.kind !== 'threshold' || alert.raisedAt === undefined || !unattended(alert, now)) continue;
    if (!alarmsByDevice.has(alert.deviceId))
      alarmsByDevice.set(alert.deviceId, await deps.alarmsOf(alert.deviceId));
    const key = stateKeyOf(alert);
    const alarm = alarmsByDevice.get(alert.deviceId)?.find((candidate) => alarmKeyOf(candidate) === key);
    if (alarm?.escalateAfterMinutes === undefined) continue;
    const period = escalationPeriodOf(alert.raisedAt, alarm.escalateAfterMinutes, now);
    if (period < 1 || period <= (alert.escalation ?? 0)) continue;
    const dueAt = new Date(
      Date.parse(alert.raisedAt) + period * alarm.escalateAfterMinutes * 60_000,
    ).toISOString();
    await deps.publish([
      buildEntry(AlertEscalated, {
        busName: deps.busName,
        data: {
          alertId: alert.alertId,
          deviceId: alert.deviceId,
          kind: alert.kind,
          severity: alert.severity,
          summary:
            `Escalation ${period}: nobody has acknowledged it for ${period * alarm.escalateAfterMinutes} min: ${alert.summary}`.slice(
              0,
              500,
            ),
          time: dueAt,
          ...(alert.metric !== undefined ? { metric: alert.metric } : {}),
          ...(alert.value !== undefined ? { value: alert.value } : {}),
          ...(alert.above !== undefined ? { above: alert.above } : {}),
          ...(alert.below !== undefined ? { below: alert.below } : {}),
          escalation: period,
          escalateAfterMinutes: alarm.escalateAfterMinutes,
        },
        idempotencyKey: `alert/${alert.alertId}/escalated/${period}`,
        correlationId: alert.alertId,
        producedAt: now.toISOString(),
      }),
    ]);
    if (await deps.markEscalated(alert.alertId, period, now.toISOString())) escalated += 1;
  }
  return { escalated };
};
