import { describe, expect, it } from 'vitest';
import {
  type AlertLifecycleDeps,
  acknowledge,
  resolve,
  SNOOZE_RETRY_WINDOW_MS,
  snooze,
  stateKeyOf,
} from '../../../../handlers/alerts/lifecycle.ts';
import type { Principal } from '../../../../handlers/lib/auth.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../../../handlers/lib/errors.ts';
import type { EventEntry } from '../../../../handlers/lib/events.ts';
import type { AlertRecord } from '../../../../schemas/alert-record.ts';
import { RAISED, thresholdAlert } from './alert-records.ts';

const operator: Principal = { role: 'operator', deviceIds: ['boiler-1'], tokenId: 'op-1' };
const viewer: Principal = { role: 'viewer', deviceIds: '*', tokenId: 'v-1' };
const otherOperator: Principal = { role: 'operator', deviceIds: ['boiler-2'], tokenId: 'op-2' };

const threshold = (more: Partial<AlertRecord> = {}): AlertRecord =>
  thresholdAlert({ readingTimestamp: RAISED, ...more });

/**
 * The alert lifecycle's ports, faked in memory with the store's conditional semantics: the first
 * acknowledgement wins, a snooze and a resolve by hand only change an active alert.
 */
/** The store answers copies, as a database does: a record answered earlier does not change later. */
const copy = (alert: AlertRecord | undefined) => alert && { ...alert };

const fakes = (initial: AlertRecord[], start = new Date('2026-11-23T10:10:00.000Z')) => {
  const records = new Map(initial.map((alert) => [alert.alertId, { ...alert }]));
  const published: EventEntry[] = [];
  const released: { deviceId: string; stateKey: string; alertId: string }[] = [];
  const writes: string[] = [];
  let clock = start;
  let publishFailures = 0;
  const deps: AlertLifecycleDeps = {
    busName: 'telemetry',
    now: () => clock,
    alerts: {
      get: async (alertId) => copy(records.get(alertId)),
      acknowledge: async (alertId, at, by) => {
        writes.push(`acknowledge ${alertId}`);
        const alert = records.get(alertId);
        if (alert && alert.acknowledgedAt === undefined)
          Object.assign(alert, { acknowledgedAt: at, acknowledgedBy: by });
        return copy(alert);
      },
      snooze: async (alertId, { until, at, by, request }) => {
        writes.push(`snooze ${alertId}`);
        const alert = records.get(alertId);
        if (alert?.state === 'active')
          Object.assign(alert, { snoozedUntil: until, snoozedAt: at, snoozedBy: by, snoozeRequest: request });
        return copy(alert);
      },
      resolveByHand: async (alertId, at, by) => {
        writes.push(`resolve ${alertId}`);
        const alert = records.get(alertId);
        if (alert?.state === 'active')
          Object.assign(alert, { state: 'resolved', resolvedAt: at, resolvedBy: by });
        return copy(alert);
      },
    },
    releaseAlertState: async (deviceId, stateKey, alertId) => {
      released.push({ deviceId, stateKey, alertId });
      return true;
    },
    publish: async (entries) => {
      if (publishFailures > 0) {
        publishFailures -= 1;
        throw new Error('PutEvents failed');
      }
      published.push(...entries);
    },
  };
  return {
    deps,
    records,
    published,
    released,
    writes,
    advance: (ms: number) => {
      clock = new Date(clock.getTime() + ms);
    },
    failNextPublish: () => {
      publishFailures += 1;
    },
  };
};

const eventsOf = (entries: EventEntry[]) =>
  entries.map((entry) => {
    const detail = JSON.parse(entry.Detail ?? '{}') as {
      metadata: { eventId: string };
      data: Record<string, unknown>;
    };
    return { type: entry.DetailType, eventId: detail.metadata.eventId, data: detail.data };
  });

describe('who may act on an alert', () => {
  it.each([
    ['acknowledge', (deps: AlertLifecycleDeps, p: Principal) => acknowledge(p, 'alert-1', deps)],
    ['snooze', (deps: AlertLifecycleDeps, p: Principal) => snooze(p, 'alert-1', { minutes: 15 }, deps)],
    ['resolve', (deps: AlertLifecycleDeps, p: Principal) => resolve(p, 'alert-1', deps)],
  ])('%s: a viewer and an operator of another device are refused, and nothing changes', async (_, act) => {
    const { deps, published, writes } = fakes([threshold()]);

    await expect(act(deps, viewer)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(act(deps, otherOperator)).rejects.toBeInstanceOf(ForbiddenError);

    expect(writes).toEqual([]);
    expect(published).toEqual([]);
  });

  it('an unknown alert is 404 for an operator', async () => {
    const { deps } = fakes([]);

    await expect(acknowledge(operator, 'nope', deps)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('acknowledge', () => {
  it('records who and when, and a retry answers the same record and announces the same event', async () => {
    const { deps, published, advance } = fakes([threshold()]);

    const first = await acknowledge(operator, 'alert-1', deps);
    advance(30_000);
    const again = await acknowledge({ ...operator, tokenId: 'op-other' }, 'alert-1', deps);

    expect(first).toMatchObject({
      acknowledgedAt: '2026-11-23T10:10:00.000Z',
      acknowledgedBy: 'operator/op-1',
    });
    expect(again).toEqual(first);
    const [one, two] = eventsOf(published);
    expect(one).toMatchObject({
      type: 'AlertAcknowledged',
      data: { by: 'operator/op-1', time: first.acknowledgedAt },
    });
    expect(two?.eventId).toBe(one?.eventId);
  });

  it('a publish that fails after the record is written is retried to exactly one event id', async () => {
    const { deps, published, failNextPublish } = fakes([threshold()]);
    failNextPublish();

    await expect(acknowledge(operator, 'alert-1', deps)).rejects.toThrow('PutEvents failed');
    await acknowledge(operator, 'alert-1', deps);

    expect(new Set(eventsOf(published).map((event) => event.eventId)).size).toBe(1);
  });
});

describe('snooze', () => {
  it('snoozes for the minutes asked; the same request soon after is its retry, later it is a new snooze', async () => {
    const { deps, published, writes, advance } = fakes([threshold()]);

    const first = await snooze(operator, 'alert-1', { minutes: 60 }, deps);
    advance(SNOOZE_RETRY_WINDOW_MS / 2);
    await snooze(operator, 'alert-1', { minutes: 60 }, deps);
    advance(SNOOZE_RETRY_WINDOW_MS);
    const later = await snooze(operator, 'alert-1', { minutes: 60 }, deps);

    expect(first.snoozedUntil).toBe('2026-11-23T11:10:00.000Z');
    expect(later.snoozedUntil).toBe('2026-11-23T11:11:30.000Z');
    expect(writes).toEqual(['snooze alert-1', 'snooze alert-1']);
    const ids = eventsOf(published).map((event) => event.eventId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    expect(eventsOf(published)[0]?.data).toMatchObject({ until: first.snoozedUntil, by: 'operator/op-1' });
  });

  it('refuses a resolved alert (409) and an end in the past or beyond a week (400 naming the field)', async () => {
    const { deps, published } = fakes([threshold({ state: 'resolved', resolvedAt: RAISED })]);
    const active = fakes([threshold()]);

    await expect(snooze(operator, 'alert-1', { minutes: 15 }, deps)).rejects.toBeInstanceOf(ConflictError);
    const past = await snooze(operator, 'alert-1', { until: RAISED }, active.deps).catch((e: unknown) => e);
    const tooLong = await snooze(
      operator,
      'alert-1',
      { until: '2026-12-23T10:00:00.000Z' },
      active.deps,
    ).catch((e: unknown) => e);

    expect(past).toBeInstanceOf(ValidationError);
    expect((past as ValidationError).details).toEqual([{ path: 'until', message: 'must be in the future' }]);
    expect((tooLong as ValidationError).details?.[0]?.path).toBe('until');
    expect(published).toEqual([]);
    expect(active.published).toEqual([]);
  });
});

describe('resolve by hand', () => {
  it('resolves the record, releases the alarm state it holds, and announces AlertResolved with by', async () => {
    const alert = threshold();
    const { deps, published, released, records } = fakes([alert]);

    const resolved = await resolve(operator, 'alert-1', deps);

    expect(resolved).toMatchObject({
      state: 'resolved',
      resolvedBy: 'operator/op-1',
      resolvedAt: '2026-11-23T10:10:00.000Z',
    });
    expect(records.get('alert-1')?.state).toBe('resolved');
    expect(released).toEqual([{ deviceId: 'boiler-1', stateKey: stateKeyOf(alert), alertId: 'alert-1' }]);
    expect(eventsOf(published)).toEqual([
      expect.objectContaining({
        type: 'AlertResolved',
        data: expect.objectContaining({ by: 'operator/op-1' }),
      }),
    ]);
  });

  it('a retry, after a crash between the record and the publish, announces the one same event', async () => {
    const { deps, published, failNextPublish, writes } = fakes([threshold()]);
    failNextPublish();

    await expect(resolve(operator, 'alert-1', deps)).rejects.toThrow('PutEvents failed');
    await resolve(operator, 'alert-1', deps);
    await resolve(operator, 'alert-1', deps);

    expect(writes).toEqual(['resolve alert-1']);
    expect(new Set(eventsOf(published).map((event) => event.eventId)).size).toBe(1);
  });

  it('an alert its device already resolved is answered as it is, with no event of its own', async () => {
    const { deps, published, released } = fakes([threshold({ state: 'resolved', resolvedAt: RAISED })]);

    const answered = await resolve(operator, 'alert-1', deps);

    expect(answered).toMatchObject({ state: 'resolved', resolvedAt: RAISED });
    expect(answered.resolvedBy).toBeUndefined();
    expect(released).toEqual([]);
    expect(published).toEqual([]);
  });
});
