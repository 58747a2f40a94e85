import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoConnections } from '../lib/connections-store.ts';
import { requireEnv } from '../lib/env.ts';
import { principalOfConnection, WebSocketEvent } from './event.ts';

const connections = dynamoConnections(dynamo, requireEnv('CONNECTIONS_TABLE'));

/** `$connect` records who connected (the authorizer already checked the token); `$disconnect` forgets them. */
export const handler = async (raw: unknown): Promise<{ statusCode: number }> => {
  const event = WebSocketEvent.parse(raw);
  const { connectionId, eventType } = event.requestContext;
  if (eventType === 'CONNECT') {
    const principal = principalOfConnection(event);
    if (!principal) return { statusCode: 401 };
    await connections.add(connectionId, principal, new Date());
    return { statusCode: 200 };
  }
  if (eventType === 'DISCONNECT') await connections.remove(connectionId);
  return { statusCode: 200 };
};
