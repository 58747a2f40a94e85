import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { conditionHeld, type ItemRead, readItem } from './dynamo.ts';

/** A retired key's record stays a day past its end (for the logs of whoever still tries it), then TTL removes it. */
const RETIRED_KEY_KEPT_SECONDS = 24 * 60 * 60;

const DeviceKeyItem = /* @__PURE__ */ z.object({
  apiKeyHash: /* @__PURE__ */ z.string(),
  deviceId: /* @__PURE__ */ z.string(),
  validUntil: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
});
export type DeviceKeyItem = z.infer<typeof DeviceKeyItem>;

/** Whether a key record lets its key in at `now`: a retired key only until its `validUntil`. */
export const keyIsValid = (key: DeviceKeyItem, now: Date): boolean =>
  key.validUntil === undefined || Date.parse(key.validUntil) > now.getTime();

/**
 * Adapter over the device keys table: one item per key, by the key's hash. The ingest reads
 * it strongly consistent, so a key retired by a write is refused by the next request.
 */
export const dynamoDeviceKeys = (client: DynamoDBDocumentClient, tableName: string) => {
  /** The read of a key's record, strongly consistent; a record that is not one is no key. */
  const read = (apiKeyHash: string): ItemRead<DeviceKeyItem | undefined> => ({
    table: tableName,
    key: { apiKeyHash },
    consistent: true,
    parse: (item) => {
      const parsed = DeviceKeyItem.safeParse(item);
      return parsed.success ? parsed.data : undefined;
    },
  });
  return {
    read,

    get: (apiKeyHash: string): Promise<DeviceKeyItem | undefined> => readItem(client, read(apiKeyHash)),

    /** Records a device's new key, valid until retired. */
    async add(apiKeyHash: string, deviceId: string): Promise<void> {
      await client.send(new PutCommand({ TableName: tableName, Item: { apiKeyHash, deviceId } }));
    },

    /**
     * Retires a key at `validUntil` (now, or the end of a rotation's grace). A key already retired
     * keeps the earlier end, so a retried rotation never extends an old key's life.
     */
    async retire(apiKeyHash: string, deviceId: string, validUntil: Date): Promise<void> {
      await conditionHeld(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { apiKeyHash },
            UpdateExpression: 'SET deviceId = :d, validUntil = :u, expiresAt = :e',
            ConditionExpression: 'attribute_not_exists(validUntil) OR validUntil > :u',
            ExpressionAttributeValues: {
              ':d': deviceId,
              ':u': validUntil.toISOString(),
              ':e': Math.floor(validUntil.getTime() / 1000) + RETIRED_KEY_KEPT_SECONDS,
            },
          }),
        ),
      );
    },
  };
};

export type DeviceKeysStore = ReturnType<typeof dynamoDeviceKeys>;
