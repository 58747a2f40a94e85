import { describe, expect, it } from 'vitest';
import {
  type SubscribeDeps,
  type SubscriptionRequest,
  subscribe,
} from '../../../../handlers/alert-subscriptions/subscribe.ts';

const fakeTopic = () => {
  const asked: SubscriptionRequest[] = [];
  const deps: SubscribeDeps = {
    subscribe: async (request) => {
      asked.push(request);
      return `arn:aws:sns:eu-west-1:000000000000:alerts:${asked.length}`;
    },
  };
  return { deps, asked };
};

describe('subscribe', () => {
  it('filters on the devices and severities asked for, each named once', async () => {
    const { deps, asked } = fakeTopic();

    const subscription = await subscribe(
      {
        protocol: 'email',
        endpoint: 'ops@example.com',
        deviceIds: ['d1', 'd2', 'd1'],
        severities: ['critical'],
      },
      deps,
    );

    expect(subscription).toEqual({
      subscriptionArn: 'arn:aws:sns:eu-west-1:000000000000:alerts:1',
      pendingConfirmation: false,
    });
    expect(asked).toEqual([
      {
        protocol: 'email',
        endpoint: 'ops@example.com',
        filterPolicy: { deviceId: ['d1', 'd2'], severity: ['critical'] },
      },
    ]);
  });

  it('receives every alert without a filter, and an https endpoint awaits confirmation', async () => {
    const { deps, asked } = fakeTopic();

    const subscription = await subscribe(
      { protocol: 'https', endpoint: 'https://hooks.example.com/a' },
      deps,
    );

    expect(subscription.pendingConfirmation).toBe(true);
    expect(asked[0]?.filterPolicy).toBeUndefined();
  });
});
