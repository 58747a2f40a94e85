import { describe, expect, it } from 'vitest';
import { alarmRule, formatRelative, formatValue, metricLabel } from '../../../../../web/src/logic/format.ts';
import {
  DEFAULT_EXPECTED_INTERVAL_SECONDS,
  deviceStatus,
  worstAlarmState,
} from '../../../../../web/src/logic/status.ts';

const now = Date.parse('2026-11-23T10:00:00Z');

describe('deviceStatus', () => {
  it('is online while the last reading is within three expected intervals', () => {
    expect(deviceStatus(now - 15_000, 5, now)).toBe('online');
    expect(deviceStatus(now - 15_001, 5, now)).toBe('silent');
  });

  it('is never for a device that has not reported', () => {
    expect(deviceStatus(undefined, 5, now)).toBe('never');
  });

  it('assumes a default interval when the device was registered without one', () => {
    const limit = 3 * DEFAULT_EXPECTED_INTERVAL_SECONDS * 1000;
    expect(deviceStatus(now - limit, undefined, now)).toBe('online');
    expect(deviceStatus(now - limit - 1, undefined, now)).toBe('silent');
  });
});

describe('worstAlarmState', () => {
  it('shows ALARM over missing data over OK, and nothing without alarms', () => {
    expect(worstAlarmState(['OK', 'ALARM', 'INSUFFICIENT_DATA'])).toBe('ALARM');
    expect(worstAlarmState(['OK', 'INSUFFICIENT_DATA'])).toBe('INSUFFICIENT_DATA');
    expect(worstAlarmState(['OK'])).toBe('OK');
    expect(worstAlarmState([])).toBeUndefined();
  });
});

describe('formatting', () => {
  it.each([
    [undefined, 'never'],
    [now - 2_000, 'just now'],
    [now - 42_000, '42 s ago'],
    [now - 5 * 60_000, '5 min ago'],
    [now - 3 * 3_600_000, '3 h ago'],
    [now - 72 * 3_600_000, '3 d ago'],
  ])('says %s as "%s"', (then, text) => {
    expect(formatRelative(then, now)).toBe(text);
  });

  it('rounds values to what a sensor means', () => {
    expect(formatValue(24.3456, '°C')).toBe('24.35 °C');
    expect(formatValue(0.123456)).toBe('0.123');
    expect(formatValue(1234.56)).toBe('1234.6');
    expect(formatValue(null)).toBe('–');
  });

  it('names metrics in words, without repeating the unit', () => {
    expect(metricLabel('inletTemp', '°C')).toBe('Inlet temp');
    expect(metricLabel('powerKw', 'kW')).toBe('Power');
    expect(metricLabel('relative_humidity')).toBe('Relative humidity');
  });

  it('states alarm rules', () => {
    expect(alarmRule({ metric: 'temperature', above: 30 }, '°C')).toBe('Temperature above 30 °C');
    expect(alarmRule({ metric: 'inletTemp', above: 35, below: 10 }, '°C')).toBe(
      'Inlet temp outside 10–35 °C',
    );
  });
});
