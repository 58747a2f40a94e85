import { describe, expect, it } from 'vitest';
import {
  AlertNotification,
  type NotifyDeps,
  notify,
  type PublishInput,
} from '../../../../handlers/alert-notifier/notify.ts';

const notification = (overrides: Partial<AlertNotification> = {}): AlertNotification => ({
  eventId: '4f9a4c52-7a8e-4d53-9a39-3f1f0e3f7f11',
  detailType: 'AlertRaised',
  alertId: 'alert-1',
  deviceId: 'greenhouse-1',
  severity: 'critical',
  subject: 'greenhouse-1: temperature above 30',
  message: 'Temperature reached 31.5 °C at 10:00 UTC.',
  ...overrides,
});

const fakeTopic = (snoozedUntil?: string) => {
  const published: PublishInput[] = [];
  const deps: NotifyDeps = {
    publish: async (input) => {
      published.push(input);
      return `message-${published.length}`;
    },
    snoozedUntil: async () => snoozedUntil,
    now: () => new Date('2026-11-23T10:00:00.000Z'),
  };
  return { deps, published };
};

describe('notify', () => {
  it('publishes the alert once, with the device and severity as filterable attributes', async () => {
    const { deps, published } = fakeTopic();

    const answer = await notify(notification(), deps);

    expect(answer).toEqual({ messageId: 'message-1' });
    expect(published).toEqual([
      {
        subject: 'greenhouse-1: temperature above 30',
        message: 'Temperature reached 31.5 °C at 10:00 UTC.',
        attributes: { deviceId: 'greenhouse-1', severity: 'critical' },
      },
    ]);
  });

  it('makes the subject one SNS accepts: printable ASCII, at most 100 characters', async () => {
    const { deps, published } = fakeTopic();

    await notify(notification({ subject: `Température ${'x'.repeat(200)}\n` }), deps);

    const subject = published[0]?.subject ?? '';
    expect(subject).toMatch(/^[\x20-\x7e]{1,100}$/);
    expect(subject.startsWith('Temp?rature x')).toBe(true);
    expect(published[0]?.message).toBe('Temperature reached 31.5 °C at 10:00 UTC.');
  });

  it('holds back every notification of a snoozed alert but the snooze itself, and sends again once it ends', async () => {
    const snoozed = fakeTopic('2026-11-23T11:00:00.000Z');
    const ended = fakeTopic('2026-11-23T09:00:00.000Z');

    const resolved = await notify(notification({ detailType: 'AlertResolved' }), snoozed.deps);
    const snoozeItself = await notify(notification({ detailType: 'AlertSnoozed' }), snoozed.deps);
    const afterwards = await notify(notification({ detailType: 'AlertEscalated' }), ended.deps);

    expect(resolved).toEqual({ held: 'snoozed' });
    expect(snoozeItself).toEqual({ messageId: 'message-1' });
    expect(afterwards).toEqual({ messageId: 'message-1' });
    expect([snoozed.published.length, ended.published.length]).toEqual([1, 1]);
  });

  it('refuses an event that is not an alert notification, naming the field', () => {
    const parsed = AlertNotification.safeParse({ ...notification(), severity: 'minor' });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path)).toEqual([['severity']]);
  });
});
