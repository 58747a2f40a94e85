/**
 * The alerts panel's list: `AlertRaised` adds or re-opens an alert, `AlertResolved` closes it, both
 * keyed by `alertId` so a push delivered twice or overlapping the initial REST load changes nothing.
 */
import * as z from 'zod/mini';
import { AlertRecord, TimelineEntry } from '../../../schemas/alert-record.ts';
import { Role } from '../../../schemas/common.ts';
import type { Device } from '../../../schemas/device.ts';
import { AlertAcknowledged, AlertSnoozed } from '../../../schemas/events.ts';
import { validItems } from './messages.ts';
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

/** The claim of a bearer token the dashboard reads. */
const TokenClaims = z.object({ role: Role });

/** The role a bearer token claims (read, not verified: the API verifies; this only hides buttons). */
export const roleOfToken = (token: string): string | undefined => {
  try {
    const payload = token.split('.')[1] ?? '';
    const claims: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    const parsed = z.safeParse(TokenClaims, claims);
    return parsed.success ? parsed.data.role : undefined;
  } catch {
    return undefined;
  }
};

/** The panel keeps this many alerts; older resolved ones fall off first. */
export const MAX_ALERTS = 200;

/** The fields an entry takes from an alert as they are (unknown ones left behind); an empty summary is named by its kind. */
const entryOf = (
  alert: Omit<AlertEntry, 'raisedAt' | 'resolvedAt' | 'snoozedUntil' | 'timeline'>,
): Omit<AlertEntry, 'raisedAt' | 'resolvedAt' | 'snoozedUntil' | 'timeline'> => ({
  alertId: alert.alertId,
  deviceId: alert.deviceId,
  severity: alert.severity,
  kind: alert.kind,
  summary: alert.summary !== '' ? alert.summary : `${alert.kind} alert`,
  ...(alert.metric !== undefined ? { metric: alert.metric } : {}),
  ...(alert.value !== undefined ? { value: alert.value } : {}),
  ...(alert.above !== undefined ? { above: alert.above } : {}),
  ...(alert.below !== undefined ? { below: alert.below } : {}),
  ...(alert.acknowledgedBy !== undefined ? { acknowledgedBy: alert.acknowledgedBy } : {}),
});

/**
 * The alert an event is about, as every alert event's data carries it (`AlertData` and the
 * lifecycle events' subject); `kind` is kept as text so a new kind still shows.
 */
const AlertEvent = z.object({
  ...AlertAcknowledged.data.shape,
  kind: z.string(),
  by: z.optional(AlertAcknowledged.data.shape.by),
});

/** An alert from a push's data (`AlertRaised`, `AlertResolved`), dated by the event's `time`. */
export const parseAlert = (value: unknown, fallbackMs: number): AlertEntry | undefined => {
  const parsed = z.safeParse(AlertEvent, value);
  if (!parsed.success) return undefined;
  return { ...entryOf(parsed.data), raisedAt: parseTime(parsed.data.time) ?? fallbackMs };
};

/** A record of `GET /alerts` or an action's answer, its timeline steps read one by one. */
const AlertItem = z.object({
  ...AlertRecord().shape,
  kind: z.string(),
  timeline: z.optional(z.array(z.unknown())),
});

/** An alert as the API serves it; `fallbackMs` dates it when the record carries no raise time. */
export const parseAlertRecord = (value: unknown, fallbackMs: number): AlertEntry | undefined => {
  const parsed = z.safeParse(AlertItem, value);
  return parsed.success ? entryOfRecord(parsed.data, fallbackMs) : undefined;
};

const entryOfRecord = (record: z.infer<typeof AlertItem>, fallbackMs: number): AlertEntry => {
  const resolvedAt = parseTime(record.resolvedAt);
  const snoozedUntil = parseTime(record.snoozedUntil);
  const timeline = validItems(record.timeline ?? [], TimelineEntry(), 'alert timeline step').flatMap(
    ({ type, time, by }): TimelineStep[] => {
      const at = parseTime(time);
      return at === undefined ? [] : [{ type, at, ...(by !== undefined ? { by } : {}) }];
    },
  );
  return {
    ...entryOf(record),
    raisedAt: parseTime(record.raisedAt) ?? fallbackMs,
    ...(resolvedAt !== undefined ? { resolvedAt } : {}),
    ...(snoozedUntil !== undefined ? { snoozedUntil } : {}),
    ...(record.timeline ? { timeline } : {}),
  };
};

/** What the dashboard reads of a lifecycle event's data: which alert, who, when, until when. */
const LifecycleData = z.object({
  alertId: AlertSnoozed.data.shape.alertId,
  time: z.optional(AlertSnoozed.data.shape.time),
  by: z.optional(AlertSnoozed.data.shape.by),
  until: z.optional(AlertSnoozed.data.shape.until),
});

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
  const parsed = z.safeParse(LifecycleData, data);
  if (!parsed.success) return [...alerts];
  const { alertId, by } = parsed.data;
  const until = parseTime(parsed.data.until);
  const at = parseTime(parsed.data.time) ?? atMs;
  return alerts.map((alert) => {
    if (alert.alertId !== alertId) return alert;
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

const AlertsBody = z.object({ items: z.array(z.unknown()) });

/** The records of `GET /alerts`; a malformed one is dropped, the others still show. */
export const parseAlertList = (body: unknown, nowMs: number): AlertEntry[] => {
  const parsed = z.safeParse(AlertsBody, body);
  if (!parsed.success) return [];
  return validItems(parsed.data.items, AlertItem, 'alert').map((record) => entryOfRecord(record, nowMs));
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
