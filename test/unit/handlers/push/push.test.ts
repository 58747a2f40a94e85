import { describe, expect, it } from 'vitest';
import { WEBSOCKET_FRAME_MAX_BYTES } from '../../../../handlers/lib/aws-limits.ts';
import { PUSH_CONCURRENCY, type PushDeps, push, toPushMessage } from '../../../../handlers/push/push.ts';
import type { PushMessage } from '../../../../schemas/websocket.ts';

const message = (deviceId: string, data: Record<string, unknown> = {}): PushMessage => ({
  type: 'ReadingRecorded',
  deviceId,
  eventId: '4f9a4c52-7a8e-4d53-9a39-3f1f0e3f7f11',
  time: '2026-11-23T10:00:00.000Z',
  data: { deviceId, ...data },
});

/** Fake ports: a subscription table by device, and the connections that are gone or broken. */
const fakes = (options: { subscriptions: Record<string, string[]>; gone?: string[]; broken?: string[] }) => {
  const delivered: { connectionId: string; message: unknown }[] = [];
  const forgotten: string[] = [];
  const warnings: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const deps: PushDeps = {
    subscribers: async (deviceId) => options.subscriptions[deviceId] ?? [],
    post: async (connectionId, text) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await Promise.resolve();
      inFlight--;
      if (options.broken?.includes(connectionId)) throw new Error('socket reset');
      if (options.gone?.includes(connectionId)) return 'gone';
      delivered.push({ connectionId, message: JSON.parse(text) });
      return 'sent';
    },
    forget: async (connectionId) => {
      forgotten.push(connectionId);
    },
    warn: (text) => {
      warnings.push(text);
    },
  };
  return { deps, delivered, forgotten, warnings, mostInFlight: () => mostInFlight };
};

describe('push', () => {
  it('reaches only the connections subscribed to the reading’s device', async () => {
    const { deps, delivered } = fakes({ subscriptions: { d1: ['c1', 'c2'], d2: ['c3'] } });

    const report = await push(message('d1'), deps);

    expect(report).toEqual({ sent: 2, gone: 0, failed: 0 });
    expect(delivered.map((d) => d.connectionId).sort()).toEqual(['c1', 'c2']);
    expect(delivered[0]?.message).toEqual(message('d1'));
  });

  it('forgets a connection that is gone and still reaches the others', async () => {
    const { deps, delivered, forgotten } = fakes({ subscriptions: { d1: ['c1', 'c2', 'c3'] }, gone: ['c2'] });

    const report = await push(message('d1'), deps);

    expect(report).toEqual({ sent: 2, gone: 1, failed: 0 });
    expect(forgotten).toEqual(['c2']);
    expect(delivered.map((d) => d.connectionId).sort()).toEqual(['c1', 'c3']);
  });

  it('keeps a connection that failed for another reason, warns, and reaches the others', async () => {
    const { deps, delivered, forgotten, warnings } = fakes({
      subscriptions: { d1: ['c1', 'c2'] },
      broken: ['c1'],
    });

    const report = await push(message('d1'), deps);

    expect(report).toEqual({ sent: 1, gone: 0, failed: 1 });
    expect(forgotten).toEqual([]);
    expect(delivered.map((d) => d.connectionId)).toEqual(['c2']);
    expect(warnings).toEqual(['Push to a connection failed']);
  });

  it(`has at most ${PUSH_CONCURRENCY} posts in flight for a crowd of dashboards`, async () => {
    const crowd = Array.from({ length: PUSH_CONCURRENCY * 3 }, (_, i) => `c${i}`);
    const { deps, delivered, mostInFlight } = fakes({ subscriptions: { d1: crowd } });

    const report = await push(message('d1'), deps);

    expect(report.sent).toBe(crowd.length);
    expect(delivered).toHaveLength(crowd.length);
    expect(mostInFlight()).toBe(PUSH_CONCURRENCY);
  });

  it('sends nothing larger than a WebSocket frame', async () => {
    const { deps, delivered, warnings } = fakes({ subscriptions: { d1: ['c1'] } });

    const report = await push(message('d1', { note: 'x'.repeat(WEBSOCKET_FRAME_MAX_BYTES) }), deps);

    expect(report).toEqual({ sent: 0, gone: 0, failed: 0 });
    expect(delivered).toEqual([]);
    expect(warnings).toEqual(['Message exceeds the WebSocket frame limit; not pushed']);
  });
});

describe('toPushMessage', () => {
  it('turns a bus event into the dashboard message and ignores events dashboards do not show', () => {
    const event = {
      'detail-type': 'ReadingRecorded',
      time: '2026-11-23T10:00:01Z',
      detail: {
        metadata: {
          eventId: '4f9a4c52-7a8e-4d53-9a39-3f1f0e3f7f11',
          idempotencyKey: 'd1#2026-11-23T10:00:00.000Z',
          correlationId: 'corr-1',
          schemaVersion: 1,
          producedAt: '2026-11-23T10:00:00.000Z',
        },
        data: { deviceId: 'd1', timestamp: '2026-11-23T10:00:00.000Z', metrics: { t: 1 } },
      },
    };

    expect(toPushMessage(event)).toEqual({
      type: 'ReadingRecorded',
      deviceId: 'd1',
      eventId: '4f9a4c52-7a8e-4d53-9a39-3f1f0e3f7f11',
      time: '2026-11-23T10:00:00.000Z',
      data: event.detail.data,
    });
    expect(toPushMessage({ ...event, 'detail-type': 'SomethingElse' })).toBeUndefined();
  });
});
