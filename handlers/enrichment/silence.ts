import type { Severity } from '../../schemas/common.ts';
import {
  type AlertEvaluation,
  type AlertStateRecord,
  type AlertTransition,
  alertIdempotencyKey,
  alertIdOf,
  DETAIL_TYPE_OF,
  instantOf,
  SILENCE_STATE_KEY,
  type SilenceAlertData,
  type Transition,
} from './alert-state.ts';

/** How many expected intervals without a reading make a device silent: one or two lost readings are not. */
export const SILENCE_FACTOR = 3;
/** A device that stopped reporting watches nothing any more, hence critical unless told otherwise. */
export const DEFAULT_SILENCE_SEVERITY: Severity = 'critical';

/** What the silence check needs to know about one device. */
export interface SilenceCandidate {
  readonly deviceId: string;
  /** Devices without one are never considered silent. */
  readonly expectedIntervalSeconds?: number;
  /** Registration time: a device that never reported has been silent since then. */
  readonly createdAt?: string;
  /** The newest reading by timestamp. */
  readonly lastReading?: { readonly timestamp: string };
  /**
   * The longest the device may have been told to hold readings back at its last upload (the
   * ingest answer's `bufferSeconds`): its next upload is due that much later. Absent: it streams.
   */
  readonly bufferSeconds?: number;
  /** The state stored under {@link SILENCE_STATE_KEY}; missing means never silent. */
  readonly silence?: AlertStateRecord;
}

export interface SilenceOptions {
  readonly severity?: Severity;
  readonly factor?: number;
}

interface Context {
  readonly device: SilenceCandidate;
  readonly interval: number;
  readonly severity: Severity;
  readonly lastSeen: string | null;
}

const alertOf = (
  context: Context,
  transition: Transition,
  alertId: string,
  openedAt: string,
  time: string,
  summary: string,
): AlertTransition<SilenceAlertData> => ({
  detailType: DETAIL_TYPE_OF[transition],
  idempotencyKey: alertIdempotencyKey(context.device.deviceId, SILENCE_STATE_KEY, transition, openedAt),
  data: {
    alertId,
    summary,
    deviceId: context.device.deviceId,
    severity: context.severity,
    time,
    kind: 'silence',
    expectedIntervalSeconds: context.interval,
    lastSeen: context.lastSeen,
  },
});

/**
 * When a device that has been quiet since `startedAt` became overdue, if it is overdue by `now`:
 * `factor` intervals after its next upload was due, `bufferSeconds` after `startedAt`.
 */
const silenceOf = (
  startedAt: string | undefined,
  interval: number,
  bufferSeconds: number,
  factor: number,
  now: Date,
): { startedAt: string; overdueAt: string } | undefined => {
  if (startedAt === undefined) return undefined;
  const overdueAt = instantOf(startedAt) + (bufferSeconds + factor * interval) * 1000;
  return now.getTime() >= overdueAt ? { startedAt, overdueAt: new Date(overdueAt).toISOString() } : undefined;
};

/**
 * Finds devices that stopped reporting and devices that came back, like a CloudWatch alarm that
 * treats missing data as breaching
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
 *
 * A device is silent once `now` is at least `factor` × `expectedIntervalSeconds` past the moment
 * its next upload was due: its last reading plus the `bufferSeconds` it may hold readings back (a
 * device nobody watches uploads up to that long after its last reading, and is not silent meanwhile),
 * or its registration if it never reported (its first reading is posted as it comes). A silence is identified by that last
 * reading, not by `now`: its `alertId`, the idempotency keys of its raise and of its resolve, and
 * the state's `since` all derive from it, so a check that runs twice, or late, raises the same
 * alert once. The raise's `time` is the instant the device became overdue; the resolve's is the
 * reading that ended the silence.
 *
 * - Silent and not `ALARM`: `ALARM` and an `AlertRaised`. Still silent since the same reading:
 *   nothing.
 * - `ALARM` and a reading newer than the silence's start: `OK` and an `AlertResolved` with the
 *   same `alertId`; if the device has gone quiet again since, a new silence is raised at once.
 * - `ALARM`, no new reading, yet no longer overdue (its interval was raised): resolved at `now`.
 * - `OK` holding the id of the silence still going on: it was resolved by hand, so it is not
 *   raised again; the device's next reading ends it, and a later silence is a new alert.
 * - No `expectedIntervalSeconds`: never evaluated, so an open silence alert stays open until an
 *   interval is set again.
 *
 * Returns the changed states keyed by device id, each to be stored under {@link SILENCE_STATE_KEY}.
 */
export const evaluateSilence = (
  devices: readonly SilenceCandidate[],
  now: Date,
  options: SilenceOptions = {},
): AlertEvaluation<SilenceAlertData> => {
  const factor = options.factor ?? SILENCE_FACTOR;
  if (!(factor > 0 && Number.isFinite(factor))) {
    throw new RangeError(`factor must be positive, got ${factor}`);
  }
  const severity = options.severity ?? DEFAULT_SILENCE_SEVERITY;
  const states: Record<string, AlertStateRecord> = {};
  const alerts: AlertTransition<SilenceAlertData>[] = [];

  for (const device of devices) {
    const interval = device.expectedIntervalSeconds;
    if (interval === undefined) continue;
    const lastSeen = device.lastReading?.timestamp ?? null;
    const context: Context = { device, interval, severity, lastSeen };
    const buffer = lastSeen === null ? 0 : (device.bufferSeconds ?? 0);
    const silence = silenceOf(lastSeen ?? device.createdAt, interval, buffer, factor, now);
    const current = device.silence;

    if (current?.state === 'ALARM') {
      const reported = lastSeen !== null && instantOf(lastSeen) > instantOf(current.since);
      if (!reported && silence) continue;
      const alertId = current.alertId ?? alertIdOf(device.deviceId, SILENCE_STATE_KEY, current.since);
      const resolvedAt = reported && lastSeen !== null ? lastSeen : now.toISOString();
      const summary = reported
        ? `${device.deviceId} reported again at ${lastSeen} after being silent since ${current.since}`
        : `${device.deviceId} is no longer overdue (a reading expected every ${interval} s)`;
      alerts.push(alertOf(context, 'resolved', alertId, current.since, resolvedAt, summary));
      states[device.deviceId] = { state: 'OK', since: resolvedAt, alertId };
    }

    if (silence) {
      const alertId = alertIdOf(device.deviceId, SILENCE_STATE_KEY, silence.startedAt);
      // This very silence was resolved by hand (a device under repair): not raised again until the device reports.
      if (current?.state === 'OK' && current.alertId === alertId) continue;
      const summary =
        lastSeen === null
          ? `${device.deviceId} has sent no reading since it was registered at ${silence.startedAt} (one expected every ${interval} s)`
          : `${device.deviceId} has sent no reading since ${lastSeen} (one expected every ${interval} s)`;
      alerts.push(alertOf(context, 'raised', alertId, silence.startedAt, silence.overdueAt, summary));
      states[device.deviceId] = { state: 'ALARM', since: silence.startedAt, alertId };
    }
  }
  return { states, alerts };
};
