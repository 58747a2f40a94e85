import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { Context } from 'aws-lambda';
import type { PushMessage } from '../../schemas/websocket.ts';
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

/**
 * Redelivery (retries, the outbox relay, replays) must not show a dashboard the same event twice.
 * The key prefix keeps these records apart from other consumers of the same event ids.
 */
const config = new IdempotencyConfig({
  eventKeyJmesPath: 'eventId',
  expiresAfterSeconds: 3600,
});
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: requireEnv('IDEMPOTENCY_TABLE'),
  clientConfig: sdkClientConfig,
});

const NOTHING: PushReport = { sent: 0, gone: 0, failed: 0 };

/**
 * Target of the websocket bus's `push` rule. Subscribers are looked up first: with no dashboard
 * following the device there is nothing to send, and nothing to remember having sent.
 */
export const makeHandler = (deps: PushDeps) => {
  const idempotentPush = makeIdempotent(
    (message: PushMessage, subscribers: string[]) =>
      push(message, { ...deps, subscribers: async () => subscribers }),
    { persistenceStore, config, keyPrefix: 'push', dataIndexArgument: 0 },
  );
  return async (event: unknown, context: Context): Promise<PushReport> => {
    const message = toPushMessage(event);
    if (!message) {
      deps.warn('Event is not one dashboards show; nothing pushed', {});
      return NOTHING;
    }
    const subscribers = await deps.subscribers(message.deviceId);
    if (subscribers.length === 0) return NOTHING;
    config.registerLambdaContext(context);
    return idempotentPush(message, subscribers);
  };
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
  warn: (text, context) => logger.warn(text, context),
});

export const handler = makeHandler(livePushDeps());
