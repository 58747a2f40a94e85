import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { sdkClientConfig } from '../lib/clients/config.ts';
import { dynamo } from '../lib/clients/dynamo.ts';
import { dynamoConnections } from '../lib/connections-store.ts';
import { requireEnv } from '../lib/env.ts';
import { logger } from '../lib/logger.ts';
import { PUSH_CONCURRENCY, type PushDeps, type PushReport, push, toPushMessage } from './push.ts';

/** The endpoint is the WebSocket API's callback URL, given as `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`. */
const management = new ApiGatewayManagementApiClient({
  ...sdkClientConfig,
  requestHandler: { requestTimeout: 3000, httpAgent: { maxSockets: 2 * PUSH_CONCURRENCY } },
});
const connections = dynamoConnections(dynamo, requireEnv('CONNECTIONS_TABLE'));

const NOTHING: PushReport = { sent: 0, gone: 0, failed: 0 };

/**
 * Target of the websocket bus's `push` rule. Keeps no record of what it pushed: a redelivered
 * event (retries, a retried stream batch, replays) may reach a dashboard twice, with the same `eventId`,
 * which the dashboard drops; remembering every push would cost a write per push to save nothing.
 */
export const makeHandler =
  (deps: PushDeps) =>
  async (event: unknown): Promise<PushReport> => {
    const message = toPushMessage(event);
    if (!message) {
      deps.warn('Event is not one dashboards show; nothing pushed', {});
      return NOTHING;
    }
    return push(message, deps);
  };

export const livePushDeps = (): PushDeps => ({
  subscribers: (deviceId) => connections.subscribers(deviceId),
  post: async (connectionId, data) => {
    try {
      await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      return 'sent';
    } catch (error) {
      if (error instanceof GoneException) return 'gone';
      throw error;
    }
  },
  forget: (connectionId) => connections.remove(connectionId),
  warn: (text, context) => logger().warn(text, context),
});

export const handler = makeHandler(livePushDeps());
