import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { Role } from '../../schemas/common.ts';
import { DeviceScope } from '../../schemas/token.ts';
import type { Principal } from './auth.ts';
import { indexQuery, sendUntilProcessed } from './dynamo.ts';
import { INDEX } from './table-indexes.ts';

/** API Gateway closes a WebSocket connection after two hours at most. */
export const CONNECTION_LIFETIME_SECONDS = 2 * 60 * 60;

const CONNECTION = 'connection';
const subscriptionKey = (deviceId: string) => `device#${deviceId}`;

const ConnectionItem = /* @__PURE__ */ z.object({
  connectionId: /* @__PURE__ */ z.string(),
  sk: /* @__PURE__ */ z.literal(CONNECTION),
  role: Role,
  deviceIds: DeviceScope,
  connectedAt: /* @__PURE__ */ z.string(),
  expiresAt: /* @__PURE__ */ z.number(),
});

/**
 * Adapter over the connections table: one item per connection (who it is), one per device it
 * follows (found through the sparse `byDevice` index). Every item carries the TTL `expiresAt`.
 */
export const dynamoConnections = (client: DynamoDBDocumentClient, tableName: string) => ({
  async add(connectionId: string, principal: Principal, now: Date): Promise<void> {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          connectionId,
          sk: CONNECTION,
          role: principal.role,
          deviceIds: principal.deviceIds,
          connectedAt: now.toISOString(),
          expiresAt: Math.floor(now.getTime() / 1000) + CONNECTION_LIFETIME_SECONDS,
        },
      }),
    );
  },

  async principal(connectionId: string, now: Date): Promise<Principal | undefined> {
    const result = await client.send(
      new GetCommand({ TableName: tableName, Key: { connectionId, sk: CONNECTION }, ConsistentRead: true }),
    );
    const parsed = ConnectionItem.safeParse(result.Item);
    if (!parsed.success || parsed.data.expiresAt * 1000 < now.getTime()) return undefined;
    return { role: parsed.data.role, deviceIds: parsed.data.deviceIds };
  },

  async subscribe(connectionId: string, deviceIds: readonly string[], now: Date): Promise<void> {
    const connection = await client.send(
      new GetCommand({ TableName: tableName, Key: { connectionId, sk: CONNECTION }, ConsistentRead: true }),
    );
    const expiresAt =
      ConnectionItem.safeParse(connection.Item).data?.expiresAt ??
      Math.floor(now.getTime() / 1000) + CONNECTION_LIFETIME_SECONDS;
    await writeAll(
      client,
      tableName,
      deviceIds.map((deviceId) => ({
        PutRequest: { Item: { connectionId, sk: subscriptionKey(deviceId), deviceId, expiresAt } },
      })),
    );
  },

  async unsubscribe(connectionId: string, deviceIds: readonly string[]): Promise<void> {
    await writeAll(
      client,
      tableName,
      deviceIds.map((deviceId) => ({
        DeleteRequest: { Key: { connectionId, sk: subscriptionKey(deviceId) } },
      })),
    );
  },

  /** Forgets a connection and everything it followed. */
  async remove(connectionId: string): Promise<void> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': connectionId },
          ProjectionExpression: 'connectionId, sk',
          ExclusiveStartKey: startKey,
        }),
      );
      await writeAll(
        client,
        tableName,
        (page.Items ?? []).map((item) => ({ DeleteRequest: { Key: { connectionId, sk: String(item.sk) } } })),
      );
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  },

  /** Ends every dashboard's subscription to a device (a deleted one): nothing about it is pushed any more. */
  async endSubscriptionsTo(deviceId: string): Promise<void> {
    const connectionIds = await this.subscribers(deviceId);
    await writeAll(
      client,
      tableName,
      connectionIds.map((connectionId) => ({
        DeleteRequest: { Key: { connectionId, sk: subscriptionKey(deviceId) } },
      })),
    );
  },

  /** The connections following a device. */
  async subscribers(deviceId: string): Promise<string[]> {
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          ...indexQuery(tableName, INDEX.connectionsByDevice, 'deviceId', deviceId),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? [])
        if (typeof item.connectionId === 'string') ids.push(item.connectionId);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return ids;
  },
});

type WriteRequest = NonNullable<
  ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']
>[string][number];

/** BatchWriteItem in chunks of 25, re-sending what DynamoDB left unprocessed. */
const writeAll = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: WriteRequest[],
): Promise<void> => {
  for (let i = 0; i < requests.length; i += 25) {
    await sendUntilProcessed(
      requests.slice(i, i + 25),
      async (pending) => {
        const result: BatchWriteCommandOutput = await client.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
        );
        return result.UnprocessedItems?.[tableName];
      },
      (pending) => pending.length === 0,
      { attempts: 10, backoffMs: 20 },
    );
  }
};
