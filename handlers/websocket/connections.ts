import type { Principal } from '../lib/auth.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoConnections } from '../lib/connections-store.ts';
import { requireEnv } from '../lib/env.ts';
import { principalOfConnection, WebSocketEvent } from './event.ts';

/** Ports of `$connect` / `$disconnect`: remember who is connected, and forget them. */
export interface ConnectionsDeps {
  add(connectionId: string, principal: Principal, now: Date): Promise<void>;
  remove(connectionId: string): Promise<void>;
  now(): Date;
}

/** `$connect` records who connected (the authorizer already checked the token); `$disconnect` forgets them. */
export const makeHandler =
  (deps: ConnectionsDeps) =>
  async (raw: unknown): Promise<{ statusCode: number }> => {
    const event = WebSocketEvent.parse(raw);
    const { connectionId, eventType } = event.requestContext;
    if (eventType === 'CONNECT') {
      const principal = principalOfConnection(event);
      if (!principal) return { statusCode: 401 };
      await deps.add(connectionId, principal, deps.now());
      return { statusCode: 200 };
    }
    if (eventType === 'DISCONNECT') await deps.remove(connectionId);
    return { statusCode: 200 };
  };

const connections = dynamoConnections(dynamo, requireEnv('CONNECTIONS_TABLE'));

export const handler = makeHandler({
  add: (connectionId, principal, now) => connections.add(connectionId, principal, now),
  remove: (connectionId) => connections.remove(connectionId),
  now: () => new Date(),
});
