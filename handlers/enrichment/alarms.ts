import type { Alarm } from '../../schemas/device.ts';
import { alarmKeyOf } from '../lib/devices-store.ts';
import {
  type AlertEvaluation,
  type AlertStateRecord,
  type AlertStates,
  type AlertTransition,
  alertIdempotencyKey,
  alertIdOf,
  DETAIL_TYPE_OF,
  instantOf,
  type ThresholdAlertData,
  type Transition,
} from './alert-state.ts';
import { roundDerived } from './derive.ts';

/** The reading the alarms are evaluated against. */
export interface EvaluatedReading {
  readonly deviceId: string;
  readonly timestamp: string;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface AlarmEvaluationInput {
  readonly alarms: readonly Alarm[];
  /** Current states keyed by `alarmKeyOf(alarm)`, as in the device item's `alarmStates`. */
  readonly states: AlertStates;
  readonly reading: EvaluatedReading;
  /** Units by metric name, as declared on the device, shown in summaries. */
  readonly units?: Readonly<Record<string, string>>;
}

/** The limit a value is beyond, if any: strictly beyond, so sitting on a limit is still in range. */
export const breachOf = (
  alarm: Pick<Alarm, 'above' | 'below'>,
  value: number,
): { side: 'above' | 'below'; limit: number } | undefined => {
  if (alarm.above !== undefined && value > alarm.above) return { side: 'above', limit: alarm.above };
  if (alarm.below !== undefined && value < alarm.below) return { side: 'below', limit: alarm.below };
  return undefined;
};

const quantity = (value: number, unit: string | undefined): string => {
  const number = String(roundDerived(value));
  return unit ? `${number} ${unit}` : number;
};

const summaryOf = (alarm: Alarm, value: number, transition: Transition, unit: string | undefined): string => {
  const measured = `${alarm.metric} ${quantity(value, unit)}`;
  const breach = breachOf(alarm, value);
  if (transition === 'raised' && breach)
    return `${measured} is ${breach.side} ${quantity(breach.limit, unit)}`;
  const limits = [
    alarm.below !== undefined ? `below ${quantity(alarm.below, unit)}` : undefined,
    alarm.above !== undefined ? `above ${quantity(alarm.above, unit)}` : undefined,
  ].filter((limit) => limit !== undefined);
  return `${measured} is back within limits (${limits.join(' or ')})`;
};

const transitionOf = (
  alarm: Alarm,
  key: string,
  transition: Transition,
  alertId: string,
  reading: EvaluatedReading,
  value: number,
  unit: string | undefined,
): AlertTransition<ThresholdAlertData> => ({
  detailType: DETAIL_TYPE_OF[transition],
  idempotencyKey: alertIdempotencyKey(reading.deviceId, key, transition, reading.timestamp),
  data: {
    alertId,
    summary: summaryOf(alarm, value, transition, unit),
    deviceId: reading.deviceId,
    severity: alarm.severity,
    time: reading.timestamp,
    kind: 'threshold',
    metric: alarm.metric,
    value,
    ...(alarm.above !== undefined ? { above: alarm.above } : {}),
    ...(alarm.below !== undefined ? { below: alarm.below } : {}),
    readingTimestamp: reading.timestamp,
  },
});

/**
 * Evaluates a device's threshold alarms against one reading, raising an alert once when an alarm
 * is breached and resolving it once when the metric is back in range, in the way CloudWatch
 * alarms act on state changes rather than on every evaluation
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
 *
 * - Alarms whose metric the reading lacks are left as they are; alarms sharing a key (same metric
 *   and limits) share one state, and the first one's severity counts.
 * - Not `ALARM` and breached: `ALARM` since the reading, and an `AlertRaised` whose `alertId`
 *   derives from the device, the alarm key and the reading's timestamp. `ALARM` and breached:
 *   nothing (one alert whichever limit is crossed). `ALARM` and in range: `OK` and an
 *   `AlertResolved` with the same `alertId`. Never evaluated and in range: `OK`, no event.
 * - Transitions only move forward in time: a reading older than the state's `since` (a late or
 *   out-of-order one) changes nothing, so it cannot reopen or close an alert behind a newer one.
 * - Evaluating again the very reading that made the last transition gives that transition's event
 *   again, with the same idempotency key and so the same `eventId`: a retried workflow that saved
 *   the state but died before publishing still publishes, and consumers drop the duplicate.
 */
export const evaluateAlarms = (input: AlarmEvaluationInput): AlertEvaluation<ThresholdAlertData> => {
  const { reading } = input;
  const at = instantOf(reading.timestamp);
  const states: Record<string, AlertStateRecord> = {};
  const alerts: AlertTransition<ThresholdAlertData>[] = [];
  const seen = new Set<string>();
  for (const alarm of input.alarms) {
    const value = Object.hasOwn(reading.metrics, alarm.metric) ? reading.metrics[alarm.metric] : undefined;
    const key = alarmKeyOf(alarm);
    if (value === undefined || seen.has(key)) continue;
    seen.add(key);
    const unit = input.units?.[alarm.metric];
    const current = input.states[key];
    const breached = breachOf(alarm, value) !== undefined;
    const emit = (transition: Transition, alertId: string) =>
      alerts.push(transitionOf(alarm, key, transition, alertId, reading, value, unit));

    if (current && at <= instantOf(current.since)) {
      if (at < instantOf(current.since)) continue;
      if (current.state === 'ALARM' && breached) {
        emit('raised', current.alertId ?? alertIdOf(reading.deviceId, key, current.since));
      } else if (current.state === 'OK' && !breached && current.alertId !== undefined) {
        emit('resolved', current.alertId);
      }
      continue;
    }

    if (breached && current?.state !== 'ALARM') {
      const alertId = alertIdOf(reading.deviceId, key, reading.timestamp);
      states[key] = { state: 'ALARM', since: reading.timestamp, alertId };
      emit('raised', alertId);
    } else if (!breached && current?.state === 'ALARM') {
      const alertId = current.alertId ?? alertIdOf(reading.deviceId, key, current.since);
      states[key] = { state: 'OK', since: reading.timestamp, alertId };
      emit('resolved', alertId);
    } else if (!breached && current === undefined) {
      states[key] = { state: 'OK', since: reading.timestamp };
    }
  }
  return { states, alerts };
};
