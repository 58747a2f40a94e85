import { describe, expect, it } from 'vitest';
import { evaluateAlarms } from '../../../../handlers/enrichment/alarms.ts';
import {
  type AlertStates,
  alertIdempotencyKey,
  alertIdOf,
} from '../../../../handlers/enrichment/alert-state.ts';
import { alarmKeyOf } from '../../../../handlers/lib/devices-store.ts';
import type { Alarm } from '../../../../schemas/device.ts';
import { AlertRaised } from '../../../../schemas/events.ts';

const HOT: Alarm = { metric: 'temperature', above: 30, severity: 'critical' };
const HOT_KEY = alarmKeyOf(HOT);
const HUMIDITY: Alarm = { metric: 'humidity', below: 30, above: 70, severity: 'warning' };
const HUMIDITY_KEY = alarmKeyOf(HUMIDITY);
const UNITS = { temperature: '°C', humidity: '%' };

const minute = (minutes: number): string =>
  new Date(Date.parse('2026-11-23T10:00:00.000Z') + minutes * 60_000).toISOString();

const evaluate = (
  timestamp: string,
  metrics: Record<string, number>,
  states: AlertStates,
  alarms: Alarm[] = [HOT],
  units: Record<string, string> | null = UNITS,
) =>
  evaluateAlarms({
    alarms,
    states,
    reading: { deviceId: 'd1', timestamp, metrics },
    ...(units ? { units } : {}),
  });

describe('evaluateAlarms', () => {
  it('raises an alert on the first breach, with a readable summary and a deterministic id', () => {
    const result = evaluate(minute(0), { temperature: 31.2 }, {});

    const alertId = alertIdOf('d1', HOT_KEY, minute(0));
    expect(result.states).toEqual({ [HOT_KEY]: { state: 'ALARM', since: minute(0), alertId } });
    expect(result.alerts).toEqual([
      {
        detailType: 'AlertRaised',
        idempotencyKey: 'alert/d1/temperature|30|/raised/2026-11-23T10:00:00.000Z',
        data: {
          alertId,
          summary: 'temperature 31.2 °C is above 30 °C',
          deviceId: 'd1',
          severity: 'critical',
          time: minute(0),
          kind: 'threshold',
          metric: 'temperature',
          value: 31.2,
          above: 30,
          readingTimestamp: minute(0),
        },
      },
    ]);
    expect(AlertRaised.data.parse(result.alerts[0]?.data)).toEqual(result.alerts[0]?.data);
  });

  it('raises once, stays quiet while breached, resolves once with the same alert id', () => {
    const raised = evaluate(minute(0), { temperature: 31.2 }, {});
    const afterRaise = { ...raised.states };

    const stillHot = evaluate(minute(1), { temperature: 35 }, afterRaise);
    const cooled = evaluate(minute(2), { temperature: 28.4 }, afterRaise);
    const afterResolve = { ...afterRaise, ...cooled.states };
    const stillCool = evaluate(minute(3), { temperature: 27 }, afterResolve);

    const alertId = raised.alerts[0]?.data.alertId;
    expect(stillHot).toEqual({ states: {}, alerts: [] });
    expect(cooled.states).toEqual({ [HOT_KEY]: { state: 'OK', since: minute(2), alertId } });
    expect(cooled.alerts).toEqual([
      {
        detailType: 'AlertResolved',
        idempotencyKey: 'alert/d1/temperature|30|/resolved/2026-11-23T10:02:00.000Z',
        data: {
          alertId,
          summary: 'temperature 28.4 °C is back within limits (above 30 °C)',
          deviceId: 'd1',
          severity: 'critical',
          time: minute(2),
          kind: 'threshold',
          metric: 'temperature',
          value: 28.4,
          above: 30,
          readingTimestamp: minute(2),
        },
      },
    ]);
    expect(stillCool).toEqual({ states: {}, alerts: [] });
  });

  it('records OK without an event the first time an alarm is evaluated in range', () => {
    const first = evaluate(minute(0), { temperature: 30 }, {});
    const again = evaluate(minute(1), { temperature: 25 }, first.states);

    expect(first).toEqual({ states: { [HOT_KEY]: { state: 'OK', since: minute(0) } }, alerts: [] });
    expect(again).toEqual({ states: {}, alerts: [] });
  });

  it('watches both limits of an alarm as one alert', () => {
    const low = evaluate(minute(0), { humidity: 25 }, {}, [HUMIDITY]);
    const high = evaluate(minute(1), { humidity: 75 }, low.states, [HUMIDITY]);
    const back = evaluate(minute(2), { humidity: 50 }, low.states, [HUMIDITY]);
    const onTheLimits = [
      evaluate(minute(3), { humidity: 70 }, {}, [HUMIDITY]),
      evaluate(minute(3), { humidity: 30 }, {}, [HUMIDITY]),
    ];

    expect(low.alerts.map((alert) => alert.data)).toEqual([
      expect.objectContaining({
        summary: 'humidity 25 % is below 30 %',
        severity: 'warning',
        below: 30,
        above: 70,
      }),
    ]);
    expect(high).toEqual({ states: {}, alerts: [] });
    expect(back.alerts.map((alert) => [alert.detailType, alert.data.summary, alert.data.alertId])).toEqual([
      [
        'AlertResolved',
        'humidity 50 % is back within limits (below 30 % or above 70 %)',
        alertIdOf('d1', HUMIDITY_KEY, minute(0)),
      ],
    ]);
    expect(onTheLimits.flatMap((result) => result.alerts)).toEqual([]);
  });

  it('never lets a reading older than the state flip it', () => {
    const alertId = alertIdOf('d1', HOT_KEY, minute(5));
    const inAlarm: AlertStates = { [HOT_KEY]: { state: 'ALARM', since: minute(5), alertId } };
    const ok: AlertStates = { [HOT_KEY]: { state: 'OK', since: minute(5) } };

    const lateCool = evaluate(minute(3), { temperature: 20 }, inAlarm);
    const lateHot = evaluate(minute(3), { temperature: 40 }, ok);
    const laterCool = evaluate(minute(7), { temperature: 20 }, inAlarm);

    expect(lateCool).toEqual({ states: {}, alerts: [] });
    expect(lateHot).toEqual({ states: {}, alerts: [] });
    expect(laterCool.alerts.map((alert) => [alert.detailType, alert.data.alertId])).toEqual([
      ['AlertResolved', alertId],
    ]);
  });

  it('compares timestamps as instants, whatever their offsets', () => {
    const inAlarm: AlertStates = {
      [HOT_KEY]: { state: 'ALARM', since: '2026-11-23T10:05:00Z', alertId: 'a1' },
    };

    // 11:03+01:00 is 10:03Z, older than the state although it sorts after it as a string
    const late = evaluate('2026-11-23T11:03:00+01:00', { temperature: 20 }, inAlarm);

    expect(late).toEqual({ states: {}, alerts: [] });
  });

  it('gives the same transition again when the reading that made it is evaluated again', () => {
    const raised = evaluate(minute(0), { temperature: 31.2 }, {});
    const resolved = evaluate(minute(2), { temperature: 28.4 }, raised.states);

    const raisedAgain = evaluate(minute(0), { temperature: 31.2 }, raised.states);
    const resolvedAgain = evaluate(minute(2), { temperature: 28.4 }, resolved.states);
    const firstOkAgain = evaluate(
      minute(0),
      { temperature: 20 },
      { [HOT_KEY]: { state: 'OK', since: minute(0) } },
    );

    expect(raisedAgain).toEqual({ states: {}, alerts: raised.alerts });
    expect(resolvedAgain).toEqual({ states: {}, alerts: resolved.alerts });
    expect(firstOkAgain).toEqual({ states: {}, alerts: [] });
  });

  it('resolves an alarm state stored without its alert id under the id it was raised with', () => {
    const raised = evaluate(minute(0), { temperature: 31.2 }, {});
    const withoutId: AlertStates = { [HOT_KEY]: { state: 'ALARM', since: minute(0) } };

    const resolved = evaluate(minute(1), { temperature: 20 }, withoutId);

    expect(resolved.alerts[0]?.data.alertId).toBe(raised.alerts[0]?.data.alertId);
  });

  it('leaves alarms whose metric the reading lacks untouched', () => {
    const inAlarm: AlertStates = { [HOT_KEY]: { state: 'ALARM', since: minute(0), alertId: 'a1' } };

    const result = evaluate(minute(1), { humidity: 50 }, inAlarm, [HOT, HUMIDITY]);

    expect(result).toEqual({ states: { [HUMIDITY_KEY]: { state: 'OK', since: minute(1) } }, alerts: [] });
  });

  it('writes the bare number when the metric has no unit', () => {
    const raised = evaluate(minute(0), { temperature: 31.2 }, {}, [HOT], null);
    const resolved = evaluate(minute(1), { temperature: 28.4 }, raised.states, [HOT], { humidity: '%' });

    expect(raised.alerts[0]?.data.summary).toBe('temperature 31.2 is above 30');
    expect(resolved.alerts[0]?.data.summary).toBe('temperature 28.4 is back within limits (above 30)');
  });

  it('keeps separate alerts for separate alarms on one metric', () => {
    const warm: Alarm = { metric: 'temperature', above: 25, severity: 'warning' };
    const alarms = [warm, HOT];

    const at27 = evaluate(minute(0), { temperature: 27 }, {}, alarms);
    const at31 = evaluate(minute(1), { temperature: 31 }, at27.states, alarms);

    expect(at27.alerts.map((alert) => [alert.data.severity, alert.data.summary])).toEqual([
      ['warning', 'temperature 27 °C is above 25 °C'],
    ]);
    expect(at31.alerts.map((alert) => [alert.data.severity, alert.data.summary])).toEqual([
      ['critical', 'temperature 31 °C is above 30 °C'],
    ]);
    expect(at31.alerts[0]?.data.alertId).not.toBe(at27.alerts[0]?.data.alertId);
  });

  it('derives ids and idempotency keys from the instant, not from how it is written', () => {
    const utc = evaluate('2026-11-23T10:00:00.000Z', { temperature: 31.2 }, {});
    const paris = evaluate('2026-11-23T11:00:00+01:00', { temperature: 31.2 }, {});
    const later = evaluate('2026-11-23T10:00:01Z', { temperature: 31.2 }, {});

    expect(paris.alerts[0]?.data.alertId).toBe(utc.alerts[0]?.data.alertId);
    expect(paris.alerts[0]?.idempotencyKey).toBe(utc.alerts[0]?.idempotencyKey);
    expect(later.alerts[0]?.data.alertId).not.toBe(utc.alerts[0]?.data.alertId);
    expect(utc.alerts[0]?.data.alertId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(alertIdempotencyKey('d1', HOT_KEY, 'raised', '2026-11-23T11:00:00+01:00')).toBe(
      'alert/d1/temperature|30|/raised/2026-11-23T10:00:00.000Z',
    );
  });
});
