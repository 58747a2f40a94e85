import { describe, expect, it } from 'vitest';
import { CONNECTION_LIFETIME_SECONDS } from '../../../../handlers/lib/connections-store.ts';
import { handleMessage, type SubscriptionDeps } from '../../../../handlers/websocket/subscriptions.ts';

const NOW = new Date('2026-11-23T12:00:00.000Z');

/** In-memory fakes for the subscription ports, recording the devices marked watched. */
const fakes = () => {
  const subscribed: string[] = [];
  const watched = new Map<string, { until: string; renewAfter: string }>();
  const deps: SubscriptionDeps = {
    async subscribe(_connectionId, deviceIds) {
      subscribed.push(...deviceIds);
    },
    async unsubscribe() {},
    async markWatched(deviceIds, until, renewAfter) {
      for (const deviceId of deviceIds) watched.set(deviceId, { until, renewAfter });
    },
    now: () => NOW,
  };
  return { deps, subscribed, watched };
};

describe('subscriptions', () => {
  it('marks the subscribed devices watched for the longest a connection lives', async () => {
    const { deps, watched } = fakes();

    const answer = await handleMessage(
      'c1',
      { role: 'viewer', deviceIds: '*' },
      JSON.stringify({ action: 'subscribe', deviceIds: ['d1', 'd2', 'd1'] }),
      deps,
    );

    expect(answer).toEqual({ type: 'subscribed', deviceIds: ['d1', 'd2'] });
    const until = new Date(NOW.getTime() + CONNECTION_LIFETIME_SECONDS * 1000).toISOString();
    const renewAfter = new Date(NOW.getTime() + (CONNECTION_LIFETIME_SECONDS - 60) * 1000).toISOString();
    expect(Object.fromEntries(watched)).toEqual({ d1: { until, renewAfter }, d2: { until, renewAfter } });
  });

  it('marks nothing watched when the subscription is refused', async () => {
    const { deps, subscribed, watched } = fakes();

    const answer = await handleMessage(
      'c1',
      { role: 'viewer', deviceIds: ['d1'] },
      JSON.stringify({ action: 'subscribe', deviceIds: ['d1', 'd2'] }),
      deps,
    );

    expect(answer).toMatchObject({ type: 'error', code: 'Forbidden', deviceIds: ['d2'] });
    expect(subscribed).toEqual([]);
    expect(watched.size).toBe(0);
  });
});
