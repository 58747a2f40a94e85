import { MAX_SNOOZE_MINUTES, type SnoozeRequest } from '../../schemas/alert.ts';
import type { AlertRecord } from '../../schemas/alert-record.ts';
import { AlertAcknowledged, type AlertData, AlertResolved, AlertSnoozed } from '../../schemas/events.ts';
import { SILENCE_STATE_KEY } from '../enrichment/alert-state.ts';
import { actorOf, type Principal, requireDevice, requireRole } from '../lib/auth.ts';
import { alarmKeyOf } from '../lib/devices-store.ts';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors.ts';
import type { EventEntry } from '../lib/events.ts';
import { buildEntry } from '../lib/events.ts';
import type { AlertsStore } from './records.ts';

/** A snooze asked again this soon, the same way, by the same caller, is a retry of it, not a new snooze. */
export const SNOOZE_RETRY_WINDOW_MS = 60_000;

/** Ports of the alert lifecycle; adapters live in the handlers. */
export interface AlertLifecycleDeps {
  readonly alerts: Pick<AlertsStore, 'get' | 'acknowledge' | 'snooze' | 'resolveByHand'>;
  /** Closes the device's alarm (or silence) state the alert holds; `false` when it no longer holds it. */
  releaseAlertState(deviceId: string, stateKey: string, alertId: string, at: string): Promise<boolean>;
  /** Publishes entries on the telemetry bus; throws unless every one was accepted. */
  publish(entries: EventEntry[]): Promise<void>;
  readonly busName: string;
  now(): Date;
}

/** The part of an alert every lifecycle event repeats, from its record. */
const subjectOf = (alert: AlertRecord) => ({
  alertId: alert.alertId,
  deviceId: alert.deviceId,
  kind: alert.kind,
  severity: alert.severity,
  summary: alert.summary,
  ...(alert.metric !== undefined ? { metric: alert.metric } : {}),
  ...(alert.value !== undefined ? { value: alert.value } : {}),
  ...(alert.above !== undefined ? { above: alert.above } : {}),
  ...(alert.below !== undefined ? { below: alert.below } : {}),
});

/** The device state an alert holds: its alarm's (metric and limits) or the device's silence. */
export const stateKeyOf = (alert: AlertRecord): string =>
  alert.kind === 'silence'
    ? SILENCE_STATE_KEY
    : alarmKeyOf({ metric: alert.metric ?? '', above: alert.above, below: alert.below });

/** The `AlertResolved` data of an alert resolved by hand, from its record. */
export const resolvedByHandData = (alert: AlertRecord, at: string, by: string): AlertData => {
  const base = {
    alertId: alert.alertId,
    deviceId: alert.deviceId,
    severity: alert.severity,
    summary: `Resolved by ${by}: ${alert.summary}`.slice(0, 500),
    time: at,
    by,
  };
  return alert.kind === 'silence'
    ? {
        ...base,
        kind: 'silence',
        expectedIntervalSeconds: alert.expectedIntervalSeconds ?? 0,
        lastSeen: alert.lastSeen ?? null,
      }
    : {
        ...base,
        kind: 'threshold',
        metric: alert.metric ?? 'unknown',
        value: alert.value ?? 0,
        ...(alert.above !== undefined ? { above: alert.above } : {}),
        ...(alert.below !== undefined ? { below: alert.below } : {}),
        readingTimestamp: alert.readingTimestamp ?? alert.raisedAt ?? at,
      };
};

/**
 * The alert an operator may act on: 403 for a viewer or a device outside the token's scope
 * (before anything about the alert is told), 404 when there is no such alert.
 */
const actionable = async (principal: Principal, alertId: string, deps: AlertLifecycleDeps) => {
  requireRole(principal, 'operator');
  const alert = await deps.alerts.get(alertId);
  if (!alert) throw new NotFoundError(`Alert ${alertId} does not exist`);
  requireDevice(principal, alert.deviceId);
  return alert;
};

const stored = (alert: AlertRecord | undefined, alertId: string): AlertRecord => {
  if (!alert) throw new NotFoundError(`Alert ${alertId} does not exist`);
  return alert;
};

/**
 * Acknowledges an alert: the first acknowledgement is recorded (who, when) and announced; asking
 * again answers the same record and announces the same event again (same event id), so a retry
 * after a lost answer or a crash before the publish still gets the event out exactly once.
 */
export const acknowledge = async (
  principal: Principal,
  alertId: string,
  deps: AlertLifecycleDeps,
): Promise<AlertRecord> => {
  let alert = await actionable(principal, alertId, deps);
  if (alert.acknowledgedAt === undefined) {
    alert = stored(
      await deps.alerts.acknowledge(alertId, deps.now().toISOString(), actorOf(principal)),
      alertId,
    );
  }
  await deps.publish([
    buildEntry(AlertAcknowledged, {
      busName: deps.busName,
      data: {
        ...subjectOf(alert),
        time: alert.acknowledgedAt ?? deps.now().toISOString(),
        by: alert.acknowledgedBy ?? actorOf(principal),
      },
      idempotencyKey: `alert/${alertId}/acknowledged`,
      correlationId: alertId,
      producedAt: deps.now().toISOString(),
    }),
  ]);
  return alert;
};

/** When a snooze asked now ends: `until` as given, or `minutes` from now; within a week from now either way. */
export const snoozeEnd = (request: SnoozeRequest, now: Date): Date => {
  const end =
    'until' in request ? new Date(request.until) : new Date(now.getTime() + request.minutes * 60_000);
  const field = 'until' in request ? 'until' : 'minutes';
  if (end.getTime() <= now.getTime())
    throw new ValidationError('Request is not valid', [{ path: field, message: 'must be in the future' }]);
  if (end.getTime() > now.getTime() + MAX_SNOOZE_MINUTES * 60_000)
    throw new ValidationError('Request is not valid', [
      { path: field, message: `must end within ${MAX_SNOOZE_MINUTES} minutes (a week)` },
    ]);
  return end;
};

/**
 * Snoozes an active alert: no notification or escalation for it until the snooze ends, though
 * it still resolves when the device recovers. The same request from the same caller within
 * {@link SNOOZE_RETRY_WINDOW_MS} is its retry: same record, same event id. 409 for a resolved alert.
 */
export const snooze = async (
  principal: Principal,
  alertId: string,
  request: SnoozeRequest,
  deps: AlertLifecycleDeps,
): Promise<AlertRecord> => {
  let alert = await actionable(principal, alertId, deps);
  const now = deps.now();
  const by = actorOf(principal);
  const asked = JSON.stringify(request);
  const isRetry =
    alert.snoozedAt !== undefined &&
    alert.snoozedBy === by &&
    alert.snoozeRequest === asked &&
    now.getTime() - Date.parse(alert.snoozedAt) < SNOOZE_RETRY_WINDOW_MS;
  if (!isRetry) {
    if (alert.state === 'resolved')
      throw new ConflictError(`Alert ${alertId} is resolved; only an active alert can be snoozed`, []);
    const until = snoozeEnd(request, now).toISOString();
    alert = stored(
      await deps.alerts.snooze(alertId, { until, at: now.toISOString(), by, request: asked }),
      alertId,
    );
    if (alert.snoozedAt !== now.toISOString())
      throw new ConflictError(
        `Alert ${alertId} was resolved meanwhile; only an active alert can be snoozed`,
        [],
      );
  }
  const snoozedAt = alert.snoozedAt ?? now.toISOString();
  await deps.publish([
    buildEntry(AlertSnoozed, {
      busName: deps.busName,
      data: {
        ...subjectOf(alert),
        time: snoozedAt,
        by: alert.snoozedBy ?? by,
        until: alert.snoozedUntil ?? snoozedAt,
      },
      idempotencyKey: `alert/${alertId}/snoozed/${snoozedAt}`,
      correlationId: alertId,
      producedAt: now.toISOString(),
    }),
  ]);
  return alert;
};

/**
 * Resolves an active alert by hand (`by` names who): the record first, then the device's alarm
 * state (so the next breach raises a new alert rather than nothing), then `AlertResolved` with
 * `by`. An alert already resolved by hand does the last two again, which a retry after a crash
 * needs and which change nothing otherwise; one resolved by its device is answered as it is.
 */
export const resolveByHand = async (
  alert: AlertRecord,
  by: string,
  deps: AlertLifecycleDeps,
): Promise<AlertRecord> => {
  let current = alert;
  if (current.state === 'active') {
    current = stored(
      await deps.alerts.resolveByHand(alert.alertId, deps.now().toISOString(), by),
      alert.alertId,
    );
  }
  if (current.resolvedBy === undefined) return current;
  const at = current.resolvedAt ?? deps.now().toISOString();
  await deps.releaseAlertState(current.deviceId, stateKeyOf(current), current.alertId, at);
  await deps.publish([
    buildEntry(AlertResolved, {
      busName: deps.busName,
      data: resolvedByHandData(current, at, current.resolvedBy),
      idempotencyKey: `alert/${current.alertId}/resolved-by-hand`,
      correlationId: current.alertId,
      producedAt: deps.now().toISOString(),
    }),
  ]);
  return current;
};

/** `POST /alerts/{alertId}/resolve`: an operator resolves an alert by hand. */
export const resolve = async (
  principal: Principal,
  alertId: string,
  deps: AlertLifecycleDeps,
): Promise<AlertRecord> =>
  resolveByHand(await actionable(principal, alertId, deps), actorOf(principal), deps);
