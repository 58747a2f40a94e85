import { describe, expect, it } from 'vitest';
import { type AlertLifecycleDeps, resolve } from '../../../../handlers/alerts/lifecycle.ts';
import type { Resolver } from '../../../../handlers/alerts/records.ts';
import { alertEntry } from '../../../../handlers/enrichment/alert-events.ts';
import { type EvaluateDeps, evaluate } from '../../../../handlers/enrichment/evaluate.ts';
import type { Principal } from '../../../../handlers/lib/auth.ts';
import { type AlertState, alarmKeyOf, type DeviceItem } from '../../../../handlers/lib/devices-store.ts';
import type { EventEntry } from '../../../../handlers/lib/events.ts';
import type { AlertRecord } from '../../../../schemas/alert-record.ts';
import type { Alarm } from '../../../../schemas/device.ts';
import { RAISED, thresholdAlert } from './alert-records.ts';

/**
 * Race A of the operators' issue: an operator resolves an alert by hand at the very moment its
 * device recovers. Both sides run for real (`resolve` and `evaluate`) over in-memory ports with
 * the stores' conditional semantics, and every port call waits for its turn, so a schedule says
 * exactly which side's next store call goes first. Every schedule must end with one
 * `AlertResolved` announced and recorded, retries of both sides included.
 */

const operator: Principal = { role: 'operator', deviceIds: ['boiler-1'], tokenId: 'op-1' };
const ALARM: Alarm = { metric: 't', above: 90, severity: 'critical' };
const KEY = alarmKeyOf(ALARM);
/** The reading that brings the device back within limits, after the raise and before the operator acts. */
const RECOVERY = {
  deviceId: 'boiler-1',
  receivedAt: '2026-11-23T10:05:00.000Z',
  readings: [{ timestamp: '2026-11-23T10:05:00.000Z', metrics: { t: 20 } }],
};

type Side = 'operator' | 'device';
const SIDES: readonly Side[] = ['operator', 'device'];

/**
 * Lets one side's store call through at a time: once every side still running waits for its
 * turn, the schedule's next entry picks which one goes (the other when the picked one is done).
 */
const scheduler = (schedule: readonly Side[]) => {
  let step = 0;
  const waiting = new Map<Side, () => void>();
  const done = new Set<Side>();
  const pump = () => {
    const running = SIDES.filter((side) => !done.has(side));
    if (running.length === 0 || running.some((side) => !waiting.has(side))) return;
    const wanted = schedule[step++];
    const pick = wanted !== undefined && waiting.has(wanted) ? wanted : running[0];
    if (pick === undefined) return;
    const go = waiting.get(pick);
    waiting.delete(pick);
    go?.();
  };
  return {
    turn: (side: Side) =>
      new Promise<void>((resolve) => {
        waiting.set(side, resolve);
        pump();
      }),
    /** Runs one side to its end (or failure), then lets the other run freely. */
    run: async <T>(side: Side, work: () => Promise<T>): Promise<T | Error> => {
      try {
        return await work();
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      } finally {
        done.add(side);
        pump();
      }
    },
  };
};

/** The alerts table, the devices table and the bus, with the conditional semantics of their adapters. */
const world = () => {
  const record: AlertRecord & { resolvedVia?: Resolver; eventIds: Set<string> } = {
    ...thresholdAlert({ readingTimestamp: RAISED }),
    eventIds: new Set(),
  };
  let device: DeviceItem = {
    deviceId: 'boiler-1',
    metrics: {},
    alarms: [ALARM],
    createdAt: RAISED,
    updatedAt: RAISED,
    apiKeyHash: 'hash',
    alarmStates: { [KEY]: { state: 'ALARM', since: RAISED, alertId: 'alert-1' } },
  };
  const bus: EventEntry[] = [];
  const faults = { operatorPublish: 0, deviceClaim: 0 };
  const copy = () => {
    const { eventIds: _, resolvedVia: __, ...alert } = record;
    return { ...alert };
  };
  /** The alert history: records each event id once, as `dynamoAlerts.record` does. */
  const deliver = (entries: readonly EventEntry[]) => {
    for (const entry of entries) {
      const detail = JSON.parse(entry.Detail ?? '{}') as {
        metadata: { eventId: string };
        data: { time: string; by?: string };
      };
      if (record.eventIds.has(detail.metadata.eventId)) continue;
      record.eventIds.add(detail.metadata.eventId);
      record.timeline.push({
        type: String(entry.DetailType),
        time: detail.data.time,
        eventId: detail.metadata.eventId,
      });
      if (entry.DetailType === 'AlertResolved')
        Object.assign(record, {
          state: 'resolved',
          resolvedAt: detail.data.time,
          ...(detail.data.by ? { resolvedBy: detail.data.by } : {}),
        });
    }
  };

  const lifecycle = (turn: () => Promise<void>): AlertLifecycleDeps => ({
    busName: 'telemetry',
    now: () => new Date('2026-11-23T10:10:00.000Z'),
    alerts: {
      get: async () => {
        await turn();
        return copy();
      },
      acknowledge: async () => copy(),
      snooze: async () => copy(),
      resolveByHand: async (_alertId, at, by) => {
        await turn();
        if (record.state === 'active' && (record.resolvedVia ?? 'hand') === 'hand')
          Object.assign(record, { state: 'resolved', resolvedAt: at, resolvedBy: by, resolvedVia: 'hand' });
        return copy();
      },
    },
    releaseAlertState: async (_deviceId, key, alertId, at) => {
      await turn();
      const current = device.alarmStates[key];
      if (current?.state !== 'ALARM' || current.alertId !== alertId) return false;
      device = {
        ...device,
        alarmStates: { ...device.alarmStates, [key]: { state: 'OK', since: at, alertId } },
      };
      return true;
    },
    publish: async (entries) => {
      await turn();
      if (faults.operatorPublish > 0) {
        faults.operatorPublish -= 1;
        throw new Error('PutEvents failed');
      }
      bus.push(...entries);
      deliver(entries);
    },
  });

  const evaluation = (turn: () => Promise<void>): EvaluateDeps => ({
    device: async () => {
      await turn();
      return device;
    },
    saveAlertStates: async (_deviceId, updates) => {
      await turn();
      const unchanged = updates.every(({ key, previous }) => {
        const current: AlertState | undefined = device.alarmStates[key];
        return current?.since === previous?.since && current?.state === previous?.state;
      });
      if (!unchanged) return false;
      device = {
        ...device,
        alarmStates: {
          ...device.alarmStates,
          ...Object.fromEntries(updates.map(({ key, next }) => [key, next])),
        },
      };
      return true;
    },
    claimResolution: async () => {
      await turn();
      if (faults.deviceClaim > 0) {
        faults.deviceClaim -= 1;
        throw new Error('UpdateItem failed');
      }
      if (record.resolvedVia !== undefined && record.resolvedVia !== 'device') return false;
      record.resolvedVia = 'device';
      return true;
    },
  });

  /** The device's side as the workflow runs it: evaluate, then put the events it answers on the bus. */
  const recover = async (deps: EvaluateDeps) => {
    const transitions = await evaluate(RECOVERY, deps);
    const entries = transitions.map((t) =>
      alertEntry(t, 'telemetry', 'reading-1', '2026-11-23T10:05:01.000Z'),
    );
    bus.push(...entries);
    deliver(entries);
  };

  const resolvedOnBus = () =>
    bus
      .filter((entry) => entry.DetailType === 'AlertResolved')
      .map(
        (entry) =>
          JSON.parse(entry.Detail ?? '{}') as { metadata: { eventId: string }; data: { by?: string } },
      );

  return {
    record,
    faults,
    lifecycle,
    evaluation,
    recover,
    resolvedOnBus,
    state: () => device.alarmStates[KEY],
  };
};

/** Every schedule of `length` turns: which side's store call goes at each one. */
const schedules = (length: number): Side[][] =>
  Array.from({ length: 2 ** length }, (_, n) =>
    Array.from({ length }, (_, bit) => ((n >> bit) & 1 ? 'device' : 'operator')),
  );

/** Both sides at once under `schedule`, then each retried once alone, as a client and the workflow would. */
const race = async (schedule: readonly Side[], faults: Partial<ReturnType<typeof world>['faults']> = {}) => {
  const w = world();
  Object.assign(w.faults, faults);
  const s = scheduler(schedule);
  const answered = await Promise.all([
    s.run('operator', () =>
      resolve(
        operator,
        'alert-1',
        w.lifecycle(() => s.turn('operator')),
      ),
    ),
    s.run('device', () => w.recover(w.evaluation(() => s.turn('device')))),
  ]);
  await resolve(
    operator,
    'alert-1',
    w.lifecycle(async () => {}),
  );
  await w.recover(w.evaluation(async () => {}));
  return { w, answered };
};

describe('an operator resolving an alert as its device recovers', () => {
  it('announces and records exactly one AlertResolved whichever store call goes first, retries included', async () => {
    const winners = new Set<string>();
    for (const schedule of schedules(9)) {
      const { w, answered } = await race(schedule);
      const resolved = w.resolvedOnBus();

      expect(
        answered.filter((outcome) => outcome instanceof Error),
        schedule.join(','),
      ).toEqual([]);
      expect(new Set(resolved.map((event) => event.metadata.eventId)).size, schedule.join(',')).toBe(1);
      expect(
        w.record.timeline.filter((step) => step.type === 'AlertResolved'),
        schedule.join(','),
      ).toHaveLength(1);
      expect(w.record.state).toBe('resolved');
      expect(w.record.resolvedBy).toBe(resolved[0]?.data.by);
      expect(w.state()?.state).toBe('OK');
      winners.add(resolved[0]?.data.by ?? 'device');
    }
    // Both outcomes occur among the schedules: each side wins some races.
    expect(winners).toEqual(new Set(['operator/op-1', 'device']));
  });

  it('the operator, losing to the device, is answered the alert with no event of its own', async () => {
    const { w, answered } = await race(['device', 'device', 'device', 'device', 'operator']);

    expect(answered[0]).toMatchObject({ alertId: 'alert-1' });
    expect((answered[0] as AlertRecord).resolvedBy).toBeUndefined();
    const resolved = w.resolvedOnBus();
    expect(new Set(resolved.map((event) => event.metadata.eventId)).size).toBe(1);
    expect(resolved[0]?.data.by).toBeUndefined();
  });

  it('an operator whose publish failed after claiming still wins on retry, even when the device recovered meanwhile', async () => {
    const { w, answered } = await race(['operator', 'operator', 'operator'], { operatorPublish: 1 });

    expect(answered[0]).toBeInstanceOf(Error);
    const resolved = w.resolvedOnBus();
    expect(new Set(resolved.map((event) => event.metadata.eventId)).size).toBe(1);
    expect(resolved[0]?.data.by).toBe('operator/op-1');
    expect(w.state()?.state).toBe('OK');
  });

  it('a device whose claim failed after saving its state re-claims on retry; the operator acting in between wins', async () => {
    const { w, answered } = await race(['device', 'device', 'device'], { deviceClaim: 1 });

    expect(answered[1]).toBeInstanceOf(Error);
    const resolved = w.resolvedOnBus();
    expect(new Set(resolved.map((event) => event.metadata.eventId)).size).toBe(1);
    expect(resolved[0]?.data.by).toBe('operator/op-1');
  });
});
