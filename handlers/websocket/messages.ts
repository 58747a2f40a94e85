import { dynamo } from '../lib/clients/dynamo.ts';
import { mapWithLimit } from '../lib/concurrency.ts';
import { dynamoConnections } from '../lib/connections-store.ts';
import { dynamoDeviceFields } from '../lib/devices-store.ts';
import { requireEnv } from '../lib/env.ts';
import { principalOfConnection, WebSocketEvent } from './event.ts';
import { handleMessage, type SubscriptionDeps } from './subscriptions.ts';

/** `subscribe`, `unsubscribe` and `$default`: the answer is the route response sent back to the client. */
export const makeHandler =
  (deps: SubscriptionDeps) =>
  async (raw: unknown): Promise<{ statusCode: number; body: string }> => {
    const event = WebSocketEvent.parse(raw);
    const principal = principalOfConnection(event);
    if (!principal) {
      return {
        statusCode: 401,
        body: JSON.stringify({ type: 'error', code: 'Forbidden', message: 'Not authorized' }),
      };
    }
    const answer = await handleMessage(event.requestContext.connectionId, principal, event.body, deps);
    return { statusCode: 200, body: JSON.stringify(answer) };
  };

const connections = dynamoConnections(dynamo, requireEnv('CONNECTIONS_TABLE'));
const devices = dynamoDeviceFields(dynamo, requireEnv('DEVICES_TABLE'));

export const handler = makeHandler({
  subscribe: (connectionId, deviceIds) => connections.subscribe(connectionId, deviceIds, new Date()),
  unsubscribe: (connectionId, deviceIds) => connections.unsubscribe(connectionId, deviceIds),
  markWatched: async (deviceIds, until, renewAfter) => {
    await mapWithLimit(deviceIds, 10, (deviceId) => devices.markWatched(deviceId, until, renewAfter));
  },
  now: () => new Date(),
});
