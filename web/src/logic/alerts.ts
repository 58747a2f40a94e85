/**
 * The alerts panel's list: `AlertRaised` adds or re-opens an alert, `AlertResolved` closes it, both
 * keyed by `alertId` so a push delivered twice or overlapping the initial REST load changes nothing.
 */
import type { Device } from '../../../schemas/device.ts';
import { isNumber, isObject, isSeverity, isString } from './messages.ts';
import { parseTime } from './status.ts';

export interface AlertEntry {
  readonly alertId: string;
  readonly deviceId: string;
  readonly severity: 'warning' | 'critical';
  /** `threshold` or `silence` today; kept as text so a new kind still shows. */
  readonly kind: string;
  readonly summary: string;
  readonly raisedAt: number;
  readonly resolvedAt?: number;
  readonly metric?: string;
  readonly value?: number;
  readonly above?: number;
  readonly below?: number;
  /** Who acknowledged it (`operator/<token id>`), once someone has. */
  readonly acknowledgedBy?: string;
  /** Until when it is snoozed (epoch ms). */
  readonly snoozedUntil?: number;
  /** Each step of its life, oldest first. */
  readonly timeline?: readonly TimelineStep[];
}

/** One step of an alert's life as the timeline shows it. */
export interface TimelineStep {
  readonly type: string;
  readonly at: number;
  readonly by?: string;
}

/** The snoozes the panel offers, in minutes: 15 min, 1 h, 8 h, 24 h. */
export const SNOOZE_CHOICES = [15, 60, 480, 1440] as const;

/** The lifecycle events that change an alert without opening or closing it. */
export const LIFECYCLE_TYPES = ['AlertAcknowledged', 'AlertSnoozed', 'AlertEscalated'] as const;

/** Whether a token's role may act on alerts: operators and admins may, viewers only look. */
export const canActOnAlerts = (role: string | undefined): boolean => role === 'operator' || role === 'admin';

/** The role a bearer token claims (read, not verified: the API verifies; this only hides buttons). */
export const roleOfToken = (token: string): string | undefined => {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return isObject(claims) && isString(claims.role) ? claims.role : undefined;
  } catch {
    return undefined;
  }
};

const parseTimeline = (value: unknown): TimelineStep[] | undefined => {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((step: unknown) => {
    if (!isObject(step) || !isString(step.type)) return [];
    const at = parseTime(step.time);
    if (at === undefined) return [];
    return [{ type: step.type, at, ...(isString(step.by) ? { by: step.by } : {}) }];
  });
};

/** The panel keeps this many alerts; older resolved ones fall off first. */
export const MAX_ALERTS = 200;

/**
 * An alert from a push's data (`AlertData` in schemas/events.ts) or a record of `GET /alerts`.
 * `fallbackMs` dates it when the record carries no time of its own.
 */
export const parseAlert = (value: unknown, fallbackMs: number): AlertEntry | undefined => {
  if (!isObject(value) || !isString(value.alertId) || !isString(value.deviceId)) return undefined;
  const raisedAt = parseTime(value.raisedAt) ?? parseTime(value.time) ?? parseTime(value.since) ?? fallbackMs;
  const resolvedAt = parseTime(value.resolvedAt);
  const snoozedUntil = parseTime(value.snoozedUntil);
  const timeline = parseTimeline(value.timeline);
  const kind = isString(value.kind) ? value.kind : 'threshold';
  return {
    alertId: value.alertId,
    deviceId: value.deviceId,
    severity: isSeverity(value.severity) ? value.severity : 'warning',
    kind,
    summary: isString(value.summary) && value.summary !== '' ? value.summary : `${kind} alert`,
    raisedAt,
    ...(resolvedAt !== undefined ? { resolvedAt } : {}),
    ...(isString(value.metric) ? { metric: value.metric } : {}),
    ...(isNumber(value.value) ? { value: value.value } : {}),
    ...(isNumber(value.above) ? { above: value.above } : {}),
    ...(isNumber(value.below) ? { below: value.below } : {}),
    ...(isString(value.acknowledgedBy) ? { acknowledgedBy: value.acknowledgedBy } : {}),
    ...(snoozedUntil !== undefined ? { snoozedUntil } : {}),
    ...(timeline ? { timeline } : {}),
  };
};

/**
 * An alert after one of its lifecycle events (`AlertAcknowledged`, `AlertSnoozed`,
 * `AlertEscalated`), or after an action's answer: the step joins its timeline once.
 */
export const applyLifecycle = (
  alerts: readonly AlertEntry[],
  type: string,
  data: unknown,
  atMs: number,
): AlertEntry[] => {
  if (!isObject(data) || !isString(data.alertId)) return [...alerts];
  const by = isString(data.by) ? data.by : undefined;
  const until = parseTime(data.until);
  const at = parseTime(data.time) ?? atMs;
  return alerts.map((alert) => {
    if (alert.alertId !== data.alertId) return alert;
    const timeline = alert.timeline ?? [];
    const seen = timeline.some((step) => step.type === type && step.at === at);
    return {
      ...alert,
      ...(type === 'AlertAcknowledged' && by ? { acknowledgedBy: alert.acknowledgedBy ?? by } : {}),
      ...(type === 'AlertSnoozed' && until !== undefined ? { snoozedUntil: until } : {}),
      timeline: seen
        ? timeline
        : [...timeline, { type, at, ...(by ? { by } : {}) }].sort((a, b) => a.at - b.at),
    };
  });
};

/** An alert as an action answered it, in place of what the panel had (keeping what the answer lacks). */
export const replaceAlert = (alerts: readonly AlertEntry[], answered: AlertEntry): AlertEntry[] =>
  alerts.map((alert) => (alert.alertId === answered.alertId ? { ...alert, ...answered } : alert));

/** Records of `GET /alerts` in whichever envelope it answers (`{items}`, `{alerts}` or a bare list). */
export const parseAlertList = (body: unknown, nowMs: number): AlertEntry[] => {
  const records = Array.isArray(body)
    ? body
    : isObject(body) && Array.isArray(body.items)
      ? body.items
      : isObject(body) && Array.isArray(body.alerts)
        ? body.alerts
        : [];
  return records.flatMap((record: unknown) => {
    const alert = parseAlert(record, nowMs);
    return alert ? [alert] : [];
  });
};

const byNewest = (a: AlertEntry, b: AlertEntry) =>
  b.raisedAt - a.raisedAt || a.alertId.localeCompare(b.alertId);

const capped = (alerts: AlertEntry[]): AlertEntry[] => {
  if (alerts.length <= MAX_ALERTS) return alerts;
  const active = alerts.filter((a) => a.resolvedAt === undefined);
  const resolved = alerts.filter((a) => a.resolvedAt !== undefined);
  return [...active, ...resolved].slice(0, MAX_ALERTS).sort(byNewest);
};

/** Adds a raised alert, or re-opens one with the same id; newest first. */
export const raiseAlert = (alerts: readonly AlertEntry[], alert: AlertEntry): AlertEntry[] => {
  const { resolvedAt: _, ...open } = alert;
  const rest = alerts.filter((a) => a.alertId !== alert.alertId);
  const existing = alerts.find((a) => a.alertId === alert.alertId);
  const entry: AlertEntry = existing
    ? { ...open, raisedAt: Math.min(existing.raisedAt, alert.raisedAt) }
    : open;
  return capped([...rest, entry].sort(byNewest));
};

/**
 * Marks an alert resolved at `resolvedAt`. An alert the panel never saw raised (the dashboard was
 * not open then) is added as resolved, so the person still learns it happened.
 */
export const resolveAlert = (
  alerts: readonly AlertEntry[],
  alert: AlertEntry,
  resolvedAt: number,
): AlertEntry[] => {
  const existing = alerts.find((a) => a.alertId === alert.alertId);
  if (existing) {
    return alerts.map((a) => (a.alertId === alert.alertId ? { ...a, resolvedAt } : a));
  }
  return capped([...alerts, { ...alert, resolvedAt }].sort(byNewest));
};

/** Alerts from `GET /alerts?state=active` merged under what pushes already told the panel. */
export const mergeLoadedAlerts = (
  alerts: readonly AlertEntry[],
  loaded: readonly AlertEntry[],
): AlertEntry[] => {
  const known = new Set(alerts.map((a) => a.alertId));
  return capped([...alerts, ...loaded.filter((a) => !known.has(a.alertId))].sort(byNewest));
};

export const activeCount = (alerts: readonly AlertEntry[]): number =>
  alerts.filter((a) => a.resolvedAt === undefined).length;

/**
 * A device's alarm states after a threshold alert: the alarm on the alert's metric (and bound, when
 * the alert names one) goes to ALARM when raised and to OK when resolved, so the device list does
 * not wait for the next `GET /devices` to show it.
 */
export const applyAlertToAlarmStates = (
  states: Device['alarmStates'],
  alert: AlertEntry,
  raised: boolean,
  atMs: number,
): Device['alarmStates'] => {
  if (alert.kind !== 'threshold' || alert.metric === undefined) return states;
  const matches = (state: Device['alarmStates'][number]) =>
    state.metric === alert.metric &&
    (alert.above === undefined || state.above === alert.above) &&
    (alert.below === undefined || state.below === alert.below);
  return states.map((state) =>
    matches(state)
      ? { ...state, state: raised ? 'ALARM' : 'OK', since: new Date(atMs).toISOString() }
      : state,
  );
};
