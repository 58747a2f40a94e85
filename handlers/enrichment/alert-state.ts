import { v5 as uuidv5 } from 'uuid';
import { type AlertData, AlertRaised, AlertResolved } from '../../schemas/events.ts';
import { canonicalTimestamp } from '../lib/ids.ts';

/**
 * What the device item remembers about one alarm (keyed by `alarmKeyOf`) or about its silence
 * (keyed by {@link SILENCE_STATE_KEY}). `alertId` names the alert the state belongs to: the open
 * one while `ALARM`, the one last resolved while `OK`, so a resolve carries the raise's id.
 */
export interface AlertStateRecord {
  readonly state: 'OK' | 'ALARM';
  readonly since: string;
  readonly alertId?: string;
}

/** States keyed by alarm key; a missing key means never evaluated. */
export type AlertStates = Readonly<Record<string, AlertStateRecord>>;

export type AlertDetailType = typeof AlertRaised.detailType | typeof AlertResolved.detailType;
export type Transition = 'raised' | 'resolved';

/** One alert event to publish: its detail-type, the idempotency key of the transition and its data. */
export interface AlertTransition<TData extends AlertData = AlertData> {
  readonly detailType: AlertDetailType;
  readonly idempotencyKey: string;
  readonly data: TData;
}

/** What an evaluation changes: the states to save and the alert events to publish. */
export interface AlertEvaluation<TData extends AlertData = AlertData> {
  /** Only the states that changed, keyed like the input states. */
  readonly states: Record<string, AlertStateRecord>;
  readonly alerts: AlertTransition<TData>[];
}

export type ThresholdAlertData = Extract<AlertData, { kind: 'threshold' }>;
export type SilenceAlertData = Extract<AlertData, { kind: 'silence' }>;

/**
 * The key a device's silence state is stored under beside its alarms' states; `alarmKeyOf` always
 * contains `|`, so the two can never meet.
 */
export const SILENCE_STATE_KEY = 'silence';

/** Alert ids live in their own namespace, apart from reading and event ids. */
const ALERT_NAMESPACE = '3ade11e7-53ce-4cfd-b4b1-b6f8ca7aa801';

/**
 * One id per alert: the same device, state key and opening instant always give the same id, so a
 * retried evaluation raises the same alert and its resolve can be matched to it.
 */
export const alertIdOf = (deviceId: string, stateKey: string, openedAt: string): string =>
  uuidv5(`alert/${deviceId}/${stateKey}/${canonicalTimestamp(openedAt)}`, ALERT_NAMESPACE);

/** Names one transition of one alert, for the event's `idempotencyKey` (and so its `eventId`). */
export const alertIdempotencyKey = (
  deviceId: string,
  stateKey: string,
  transition: Transition,
  timestamp: string,
): string => `alert/${deviceId}/${stateKey}/${transition}/${canonicalTimestamp(timestamp)}`;

/** The event that announces each transition. */
export const DETAIL_TYPE_OF: Readonly<Record<Transition, AlertDetailType>> = {
  raised: AlertRaised.detailType,
  resolved: AlertResolved.detailType,
};

/** Compares RFC 3339 timestamps as instants, since offsets make string order meaningless. */
export const instantOf = (timestamp: string): number => Date.parse(timestamp);

/**
 * The transitions a device may announce: every raise, and each resolve whose alert's resolution
 * the device claimed (`claim` answers `false` when a person resolved the alert by hand first,
 * whose `AlertResolved` is then the only one). Claims go one at a time, in order: an upload or a
 * check resolves few alerts.
 */
export const claimedResolutions = async <T extends AlertTransition>(
  transitions: readonly T[],
  claim: (alertId: string) => Promise<boolean>,
): Promise<T[]> => {
  const kept: T[] = [];
  for (const transition of transitions) {
    if (transition.detailType !== AlertResolved.detailType || (await claim(transition.data.alertId)))
      kept.push(transition);
  }
  return kept;
};
