import { describe, expect, it } from 'vitest';
import { alertIdOf, SILENCE_STATE_KEY } from '../../../../handlers/enrichment/alert-state.ts';
import { evaluateSilence, type SilenceCandidate } from '../../../../handlers/enrichment/silence.ts';
import { AlertRaised } from '../../../../schemas/events.ts';

const LAST = '2026-11-23T10:00:00.000Z';

/** Reports every 60 s, last at 10:00, so it is silent from 10:03 (3 × 60 s). */
const device = (overrides: Partial<SilenceCandidate> = {}): SilenceCandidate => ({
  deviceId: 'd1',
  expectedIntervalSeconds: 60,
  createdAt: '2026-11-23T09:00:00.000Z',
  lastReading: { timestamp: LAST },
  ...overrides,
});

const at = (time: string): Date => new Date(time);

describe('evaluateSilence', () => {
  it('is quiet until three expected intervals have passed without a reading', () => {
    const result = evaluateSilence([device()], at('2026-11-23T10:02:59.999Z'));

    expect(result).toEqual({ states: {}, alerts: [] });
  });

  it('raises a critical silence alert once the device is three intervals overdue', () => {
    const result = evaluateSilence([device()], at('2026-11-23T10:03:00.000Z'));

    const alertId = alertIdOf('d1', SILENCE_STATE_KEY, LAST);
    expect(result.states).toEqual({ d1: { state: 'ALARM', since: LAST, alertId } });
    expect(result.alerts).toEqual([
      {
        detailType: 'AlertRaised',
        idempotencyKey: 'alert/d1/silence/raised/2026-11-23T10:00:00.000Z',
        data: {
          alertId,
          summary: 'd1 has sent no reading since 2026-11-23T10:00:00.000Z (one expected every 60 s)',
          deviceId: 'd1',
          severity: 'critical',
          time: '2026-11-23T10:03:00.000Z',
          kind: 'silence',
          expectedIntervalSeconds: 60,
          lastSeen: LAST,
        },
      },
    ]);
    expect(AlertRaised.data.parse(result.alerts[0]?.data)).toEqual(result.alerts[0]?.data);
  });

  it('does not raise the same silence again', () => {
    const raised = evaluateSilence([device()], at('2026-11-23T10:03:00Z'));

    const later = evaluateSilence([device({ silence: raised.states.d1 })], at('2026-11-23T10:30:00Z'));

    expect(later).toEqual({ states: {}, alerts: [] });
  });

  it('does not raise again a silence resolved by hand, but raises the next one after a reading', () => {
    const alertId = alertIdOf('d1', SILENCE_STATE_KEY, LAST);
    const byHand = { state: 'OK' as const, since: '2026-11-23T10:10:00.000Z', alertId };

    const stillQuiet = evaluateSilence([device({ silence: byHand })], at('2026-11-23T11:00:00Z'));
    const quietAgain = evaluateSilence(
      [device({ silence: byHand, lastReading: { timestamp: '2026-11-23T11:00:00.000Z' } })],
      at('2026-11-23T11:03:00Z'),
    );

    expect(stillQuiet).toEqual({ states: {}, alerts: [] });
    expect(quietAgain.alerts.map((a) => [a.detailType, a.data.alertId])).toEqual([
      ['AlertRaised', alertIdOf('d1', SILENCE_STATE_KEY, '2026-11-23T11:00:00.000Z')],
    ]);
  });

  it('resolves once when the device reports again, under the id of the raise', () => {
    const raised = evaluateSilence([device()], at('2026-11-23T10:03:00Z'));
    const back = device({
      lastReading: { timestamp: '2026-11-23T10:20:00.000Z' },
      silence: raised.states.d1,
    });

    const resolved = evaluateSilence([back], at('2026-11-23T10:20:30Z'));
    const next = evaluateSilence([{ ...back, silence: resolved.states.d1 }], at('2026-11-23T10:21:00Z'));

    const alertId = raised.alerts[0]?.data.alertId;
    expect(resolved.states).toEqual({ d1: { state: 'OK', since: '2026-11-23T10:20:00.000Z', alertId } });
    expect(resolved.alerts).toEqual([
      {
        detailType: 'AlertResolved',
        idempotencyKey: 'alert/d1/silence/resolved/2026-11-23T10:00:00.000Z',
        data: {
          alertId,
          summary:
            'd1 reported again at 2026-11-23T10:20:00.000Z after being silent since 2026-11-23T10:00:00.000Z',
          deviceId: 'd1',
          severity: 'critical',
          time: '2026-11-23T10:20:00.000Z',
          kind: 'silence',
          expectedIntervalSeconds: 60,
          lastSeen: '2026-11-23T10:20:00.000Z',
        },
      },
    ]);
    expect(next).toEqual({ states: {}, alerts: [] });
  });

  it('resolves the old silence and raises a new one when the device reported once between checks', () => {
    const raised = evaluateSilence([device()], at('2026-11-23T10:03:00Z'));
    // one reading at 10:10, then nothing: silent again from 10:13
    const blip = device({
      lastReading: { timestamp: '2026-11-23T10:10:00.000Z' },
      silence: raised.states.d1,
    });

    const result = evaluateSilence([blip], at('2026-11-23T10:15:00Z'));

    const newId = alertIdOf('d1', SILENCE_STATE_KEY, '2026-11-23T10:10:00.000Z');
    expect(result.alerts.map((alert) => [alert.detailType, alert.data.alertId, alert.data.time])).toEqual([
      ['AlertResolved', raised.alerts[0]?.data.alertId, '2026-11-23T10:10:00.000Z'],
      ['AlertRaised', newId, '2026-11-23T10:13:00.000Z'],
    ]);
    expect(result.states).toEqual({
      d1: { state: 'ALARM', since: '2026-11-23T10:10:00.000Z', alertId: newId },
    });
  });

  it('resolves at the check when a raised interval makes the device no longer overdue', () => {
    const raised = evaluateSilence([device()], at('2026-11-23T10:03:00Z'));

    const result = evaluateSilence(
      [device({ expectedIntervalSeconds: 600, silence: raised.states.d1 })],
      at('2026-11-23T10:05:00Z'),
    );

    expect(result.alerts.map((alert) => [alert.detailType, alert.idempotencyKey, alert.data.time])).toEqual([
      ['AlertResolved', 'alert/d1/silence/resolved/2026-11-23T10:00:00.000Z', '2026-11-23T10:05:00.000Z'],
    ]);
  });

  it('never considers a device without an expected interval silent', () => {
    const result = evaluateSilence(
      [device({ expectedIntervalSeconds: undefined, lastReading: { timestamp: '2020-01-01T00:00:00Z' } })],
      at('2026-11-23T10:00:00Z'),
    );

    expect(result).toEqual({ states: {}, alerts: [] });
  });

  it('counts a device that never reported as silent since it was registered', () => {
    const never = device({ lastReading: undefined });

    const result = evaluateSilence([never], at('2026-11-23T09:03:00Z'));
    const unknownStart = evaluateSilence([{ ...never, createdAt: undefined }], at('2030-01-01T00:00:00Z'));

    expect(result.alerts.map((alert) => alert.data)).toEqual([
      expect.objectContaining({
        alertId: alertIdOf('d1', SILENCE_STATE_KEY, '2026-11-23T09:00:00.000Z'),
        summary:
          'd1 has sent no reading since it was registered at 2026-11-23T09:00:00.000Z (one expected every 60 s)',
        time: '2026-11-23T09:03:00.000Z',
        lastSeen: null,
      }),
    ]);
    expect(unknownStart).toEqual({ states: {}, alerts: [] });
  });

  it('takes the severity and the number of intervals from the options', () => {
    // factor 2 × 60 s: silent from 10:02
    const result = evaluateSilence([device()], at('2026-11-23T10:02:00Z'), {
      severity: 'warning',
      factor: 2,
    });

    expect(result.alerts.map((alert) => [alert.data.severity, alert.data.time])).toEqual([
      ['warning', '2026-11-23T10:02:00.000Z'],
    ]);
  });

  it('names a silence by its last reading, so checks at different times raise the same alert', () => {
    const onTime = evaluateSilence([device()], at('2026-11-23T10:03:00Z'));
    const late = evaluateSilence([device()], at('2026-11-23T10:30:00Z'));
    const otherOffset = evaluateSilence(
      [device({ lastReading: { timestamp: '2026-11-23T11:00:00+01:00' } })],
      at('2026-11-23T10:30:00Z'),
    );

    expect(late).toEqual(onTime);
    expect(otherOffset.alerts[0]?.data.alertId).toBe(onTime.alerts[0]?.data.alertId);
    expect(otherOffset.alerts[0]?.idempotencyKey).toBe(onTime.alerts[0]?.idempotencyKey);
  });

  it('evaluates each device on its own', () => {
    const quiet = device({ deviceId: 'quiet' });
    const chatty = device({ deviceId: 'chatty', lastReading: { timestamp: '2026-11-23T10:02:30Z' } });

    const result = evaluateSilence([quiet, chatty], at('2026-11-23T10:03:00Z'));

    expect(Object.keys(result.states)).toEqual(['quiet']);
    expect(result.alerts.map((alert) => alert.data.deviceId)).toEqual(['quiet']);
  });

  it('gives a device that may be buffering its buffer before counting intervals, and a resolve when its upload comes', () => {
    // Told it may buffer an hour at 10:00: its next upload is due by 11:00, so it is silent from 11:03.
    const buffering = device({ bufferSeconds: 3_600 });

    const waiting = evaluateSilence([buffering], at('2026-11-23T11:02:59.999Z'));
    const overdue = evaluateSilence([buffering], at('2026-11-23T11:03:00.000Z'));
    const uploaded = evaluateSilence(
      [{ ...buffering, lastReading: { timestamp: '2026-11-23T11:05:00.000Z' }, silence: overdue.states.d1 }],
      at('2026-11-23T11:06:00Z'),
    );

    expect(waiting).toEqual({ states: {}, alerts: [] });
    expect(overdue.alerts.map((alert) => [alert.detailType, alert.data.time, alert.data.lastSeen])).toEqual([
      ['AlertRaised', '2026-11-23T11:03:00.000Z', LAST],
    ]);
    expect(uploaded.alerts.map((alert) => [alert.detailType, alert.data.time])).toEqual([
      ['AlertResolved', '2026-11-23T11:05:00.000Z'],
    ]);
  });

  it('gives no buffer to a device that never reported: its first reading is posted as it comes', () => {
    const never = device({ lastReading: undefined, bufferSeconds: 3_600 });

    const result = evaluateSilence([never], at('2026-11-23T09:03:00Z'));

    expect(result.alerts.map((alert) => alert.data.time)).toEqual(['2026-11-23T09:03:00.000Z']);
  });
});
