import { describe, expect, it } from 'vitest';
import {
  type AlarmBand,
  bandOf,
  bandsForMetric,
  mergeBands,
  placeBands,
  pruneBands,
  resolveBand,
} from '../../../../../web/src/logic/alarm-bands.ts';
import { type AlertEntry, parseAlertList } from '../../../../../web/src/logic/alerts.ts';

const at = (clock: string) => Date.parse(`2026-11-23T${clock}Z`);

const threshold = (alertId: string, metric: string, raised: string, resolved?: string): AlertEntry => ({
  alertId,
  deviceId: 'd1',
  severity: 'critical',
  kind: 'threshold',
  summary: `${metric} above 30`,
  metric,
  raisedAt: at(raised),
  ...(resolved ? { resolvedAt: at(resolved) } : {}),
});

const silence = (alertId: string, raised: string, resolved?: string): AlertEntry => ({
  alertId,
  deviceId: 'd1',
  severity: 'warning',
  kind: 'silence',
  summary: 'silent for 5 minutes',
  raisedAt: at(raised),
  ...(resolved ? { resolvedAt: at(resolved) } : {}),
});

describe('alarm bands on the charts', () => {
  it('spans raised to resolved, read from the alerts API with its timeline', () => {
    const [alert] = parseAlertList(
      {
        items: [
          {
            alertId: 'a1',
            deviceId: 'd1',
            kind: 'threshold',
            severity: 'critical',
            state: 'resolved',
            summary: 'temperature 34 is above 30',
            metric: 'temperature',
            resolvedAt: '2026-11-23T10:20:00.000Z',
            updatedAt: '2026-11-23T10:20:00.000Z',
            timeline: [
              { type: 'AlertResolved', time: '2026-11-23T10:20:00.000Z', eventId: 'e2' },
              { type: 'AlertRaised', time: '2026-11-23T10:05:00.000Z', eventId: 'e1' },
            ],
          },
        ],
      },
      at('11:00:00'),
    );
    expect(alert && bandOf(alert)).toEqual({
      alertId: 'a1',
      kind: 'threshold',
      severity: 'critical',
      metric: 'temperature',
      from: at('10:05:00'),
      to: at('10:20:00'),
    });
  });

  it('keeps an active alert open, and closes it once however often its resolution arrives', () => {
    const raised = mergeBands([], [threshold('a1', 'temperature', '10:00:00')]);
    expect(raised).toEqual([expect.not.objectContaining({ to: expect.anything() })]);

    const resolved = resolveBand(raised, 'a1', at('10:30:00'));
    const again = resolveBand(resolved, 'a1', at('10:31:00'));

    expect(resolved[0]?.to).toBe(at('10:30:00'));
    expect(again).toEqual(resolved);
  });

  it('merges a reload with what pushes already told, never re-opening a resolved alert', () => {
    const pushed = resolveBand(
      mergeBands([], [threshold('a1', 'temperature', '10:00:00')]),
      'a1',
      at('10:30:00'),
    );

    const reloaded = mergeBands(pushed, [
      threshold('a1', 'temperature', '10:00:00'),
      threshold('a2', 'humidity', '09:00:00', '09:10:00'),
    ]);

    expect(reloaded.map((band) => [band.alertId, band.from, band.to])).toEqual([
      ['a2', at('09:00:00'), at('09:10:00')],
      ['a1', at('10:00:00'), at('10:30:00')],
    ]);
  });

  it('ignores the resolution of an alert it never saw raised', () => {
    expect(resolveBand([], 'unknown', at('10:00:00'))).toEqual([]);
  });

  it('shades a metric with its own threshold alerts and every metric with silences', () => {
    const bands = mergeBands(
      [],
      [
        threshold('t', 'temperature', '10:00:00', '10:10:00'),
        threshold('h', 'humidity', '10:00:00', '10:10:00'),
        silence('s', '11:00:00'),
      ],
    );

    expect(bandsForMetric(bands, 'temperature').map((b) => b.alertId)).toEqual(['t', 's']);
    expect(bandsForMetric(bands, 'humidity').map((b) => b.alertId)).toEqual(['h', 's']);
    expect(bandsForMetric(bands, 'pressure').map((b) => b.alertId)).toEqual(['s']);
  });

  it('clips bands to the window, runs active ones to its right edge, and leaves out the rest', () => {
    const bands: AlarmBand[] = mergeBands(
      [],
      [
        threshold('before', 'temperature', '08:00:00', '08:30:00'),
        threshold('across-start', 'temperature', '09:50:00', '10:05:00'),
        threshold('inside', 'temperature', '10:20:00', '10:25:00'),
        threshold('active', 'temperature', '10:40:00'),
        threshold('after', 'temperature', '12:00:00', '12:05:00'),
      ],
    );

    const placed = placeBands(bands, [at('10:00:00'), at('11:00:00')]);

    expect(placed.map(({ alertId, from, to, open }) => [alertId, from, to, open])).toEqual([
      ['across-start', at('10:00:00'), at('10:05:00'), false],
      ['inside', at('10:20:00'), at('10:25:00'), false],
      ['active', at('10:40:00'), at('11:00:00'), true],
    ]);
  });

  it('prunes bands that ended before the range, keeping active ones', () => {
    const bands = mergeBands(
      [],
      [
        threshold('old', 'temperature', '08:00:00', '08:30:00'),
        threshold('active', 'temperature', '07:00:00'),
      ],
    );

    expect(pruneBands(bands, at('09:00:00')).map((b) => b.alertId)).toEqual(['active']);
  });
});
