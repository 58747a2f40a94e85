import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { Alarm, type Device, LastReading, Location, type PutDeviceRequest } from '../../schemas/device.ts';
import { FlushLimit } from '../../schemas/reading.ts';
import { conditionHeld, getAttributes, type ItemRead, indexQuery, readItem } from './dynamo.ts';
import { INDEX } from './table-indexes.ts';

/** Identifies one alarm of a device across updates, so its state survives unrelated edits. */
export const alarmKeyOf = (alarm: Pick<Alarm, 'metric' | 'above' | 'below'>): string =>
  `${alarm.metric}|${alarm.above ?? ''}|${alarm.below ?? ''}`;

/** One alarm's or the silence's stored state (see `AlertStateRecord`). */
export const AlertState = /* @__PURE__ */ z.object({
  state: /* @__PURE__ */ z.enum(['OK', 'ALARM']),
  since: /* @__PURE__ */ z.string(),
  alertId: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
});
export type AlertState = z.infer<typeof AlertState>;

/** A stored device's alarms: none when it has never had any. */
const StoredAlarms = /* @__PURE__ */ z._default(/* @__PURE__ */ z.array(Alarm), []);

const DeviceItem = /* @__PURE__ */ z.object({
  deviceId: /* @__PURE__ */ z.string(),
  name: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  location: /* @__PURE__ */ z.optional(Location),
  metrics: /* @__PURE__ */ z._default(
    /* @__PURE__ */ z.record(
      /* @__PURE__ */ z.string(),
      /* @__PURE__ */ z.object({ unit: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()) }),
    ),
    {},
  ),
  alarms: StoredAlarms,
  expectedIntervalSeconds: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  createdAt: /* @__PURE__ */ z.string(),
  updatedAt: /* @__PURE__ */ z.string(),
  apiKeyHash: /* @__PURE__ */ z.string(),
  /** The key a rotation replaced, retired at the end of its grace; retired at once when the device is deleted. */
  previousApiKeyHash: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  /** Set when the device was deleted: the item stays as a tombstone naming its keys, read as no device. */
  deletedAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  /** Who deleted it: alerts whose raise reaches the history after the deletion resolve in that name. */
  deletedBy: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  lastReading: /* @__PURE__ */ z.optional(LastReading),
  alarmStates: /* @__PURE__ */ z._default(
    /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), AlertState),
    {},
  ),
});
export type DeviceItem = z.infer<typeof DeviceItem>;

/** The attributes `uploadView` projects: each alarm read as a {@link FlushLimit}, its severity and escalation left out. */
const UploadViewItem = /* @__PURE__ */ z.object({
  watchedUntil: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  alarms: /* @__PURE__ */ z._default(/* @__PURE__ */ z.array(/* @__PURE__ */ z.object(FlushLimit.shape)), []),
});

/** Until when a dashboard may be watching a device, and the limits it flushes its buffer on (`uploadView`). */
export interface UploadView {
  readonly watchedUntil?: string;
  readonly flushWhen: readonly FlushLimit[];
}

/**
 * The read of what the ingest advises a device's uploads by: until when a dashboard may be watching
 * it, and its alarms' limits. Eventually consistent, as `watchedUntil`'s (a read is billed by the
 * item's size, not by what it projects); parsing throws on an item that is not a device's.
 */
const uploadViewRead = (tableName: string, deviceId: string): ItemRead<UploadView> => ({
  table: tableName,
  key: { deviceId },
  attributes: ['watchedUntil', 'alarms'],
  parse: (item) => {
    const { watchedUntil, alarms } = UploadViewItem.parse(item ?? {});
    return { ...(watchedUntil !== undefined ? { watchedUntil } : {}), flushWhen: alarms };
  },
});

/** The API's view of a stored device: never the key hash; every alarm with its current state. */
export const toDevice = (item: DeviceItem): Device => ({
  deviceId: item.deviceId,
  ...(item.name !== undefined ? { name: item.name } : {}),
  ...(item.location !== undefined ? { location: item.location } : {}),
  metrics: item.metrics,
  alarms: item.alarms,
  ...(item.expectedIntervalSeconds !== undefined
    ? { expectedIntervalSeconds: item.expectedIntervalSeconds }
    : {}),
  createdAt: item.createdAt,
  updatedAt: item.updatedAt,
  ...(item.lastReading ? { lastReading: item.lastReading } : {}),
  alarmStates: item.alarms.map((alarm) => {
    const current = item.alarmStates[alarmKeyOf(alarm)];
    return {
      ...alarm,
      state: current?.state ?? 'INSUFFICIENT_DATA',
      ...(current ? { since: current.since } : {}),
    };
  }),
});

const parse = (item: Record<string, unknown>): DeviceItem => DeviceItem.parse(item);

/** A stored device that is not deleted, or undefined. */
const live = (item: Record<string, unknown> | undefined): DeviceItem | undefined => {
  if (!item) return undefined;
  const device = parse(item);
  return device.deletedAt === undefined ? device : undefined;
};

/** Holds of a device that exists and is not deleted. */
const LIVE = 'attribute_exists(deviceId) AND attribute_not_exists(deletedAt)';

/**
 * The devices table's operations that never read a whole device item: writes, conditional
 * updates of single attributes, and reads of one or two. A function that needs no more (the relay
 * reads `watchedUntil`, the alert history a deletion, the readings API whether the device is
 * live, the ingest a device's current key, the silence check writes alarm states) takes this adapter, and its bundle leaves out the
 * stored device's schema ({@link DeviceItem}, with every schema of `schemas/device.ts` in it),
 * which it would otherwise build at init and never use.
 */
export const dynamoDeviceFields = (client: DynamoDBDocumentClient, tableName: string) => ({
  /** Creates the device unless a live one has its id (a deleted one is replaced); `false` means someone else created it first. */
  async create(item: DeviceItem): Promise<boolean> {
    return conditionHeld(() =>
      client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...item },
          ConditionExpression: 'attribute_not_exists(deviceId) OR attribute_exists(deletedAt)',
        }),
      ),
    );
  },

  /**
   * Replaces the device's key with `next`, remembering `current` as the one being retired; only
   * if the key is still `current` (`false` when another rotation got there first).
   */
  async replaceKey(deviceId: string, current: string, next: string, updatedAt: string): Promise<boolean> {
    return conditionHeld(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { deviceId },
          UpdateExpression: 'SET apiKeyHash = :next, previousApiKeyHash = :current, updatedAt = :t',
          ConditionExpression: `${LIVE} AND apiKeyHash = :current`,
          ExpressionAttributeValues: { ':next': next, ':current': current, ':t': updatedAt },
        }),
      ),
    );
  },

  /**
   * Closes the state an alert resolved by hand held (`ALARM` with that alert's id) as `OK` since
   * `at`: the next breach then raises a new alert. `false` when the state no longer holds that
   * alert (the device recovered, or the device is gone).
   */
  async releaseAlertState(deviceId: string, key: string, alertId: string, at: string): Promise<boolean> {
    return conditionHeld(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { deviceId },
          UpdateExpression: 'SET alarmStates.#k = :next',
          ConditionExpression: `${LIVE} AND alarmStates.#k.alertId = :id AND alarmStates.#k.#state = :alarm`,
          ExpressionAttributeNames: { '#k': key, '#state': 'state' },
          ExpressionAttributeValues: {
            ':next': { state: 'OK', since: at, alertId },
            ':id': alertId,
            ':alarm': 'ALARM',
          },
        }),
      ),
    );
  },

  /**
   * Saves alarm or silence states, but only if each is still what the caller evaluated against
   * (optimistic concurrency); `false` means another evaluation got there first.
   */
  async updateAlertStates(
    deviceId: string,
    updates: readonly { key: string; next: AlertState; previous: AlertState | undefined }[],
  ): Promise<boolean> {
    if (updates.length === 0) return true;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const conditions: string[] = [LIVE];
    updates.forEach(({ key, next, previous }, i) => {
      names[`#k${i}`] = key;
      values[`:v${i}`] = next;
      sets.push(`alarmStates.#k${i} = :v${i}`);
      if (previous) {
        values[`:s${i}`] = previous.since;
        values[`:st${i}`] = previous.state;
        conditions.push(`alarmStates.#k${i}.since = :s${i} AND alarmStates.#k${i}.#state = :st${i}`);
        names['#state'] = 'state';
      } else {
        conditions.push(`attribute_not_exists(alarmStates.#k${i})`);
      }
    });
    return conditionHeld(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { deviceId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  },

  async findByKeyHash(apiKeyHash: string): Promise<string | undefined> {
    const result = await client.send(
      new QueryCommand({
        ...indexQuery(tableName, INDEX.devicesByApiKeyHash, 'apiKeyHash', apiKeyHash),
        Limit: 1,
      }),
    );
    const deviceId = result.Items?.[0]?.deviceId;
    return typeof deviceId === 'string' ? deviceId : undefined;
  },

  /**
   * Marks a registered device watched until `until` (ISO time), unless it is already marked until
   * `renewAfter` or later: many dashboards subscribing at once then write the item once, not once
   * each. The mark never moves back; an unknown device is left alone.
   */
  async markWatched(deviceId: string, until: string, renewAfter: string): Promise<void> {
    await conditionHeld(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { deviceId },
          UpdateExpression: 'SET watchedUntil = :u',
          ConditionExpression:
            'attribute_exists(deviceId) AND (attribute_not_exists(watchedUntil) OR watchedUntil < :r)',
          ExpressionAttributeValues: { ':u': until, ':r': renewAfter },
        }),
      ),
    );
  },

  uploadViewRead: (deviceId: string): ItemRead<UploadView> => uploadViewRead(tableName, deviceId),

  /** A device's upload view (see {@link uploadViewRead}), read alone. */
  uploadView: (deviceId: string): Promise<UploadView> =>
    readItem(client, uploadViewRead(tableName, deviceId)),

  /**
   * The current key hash of a live device, read alone and strongly consistent (as `getConsistent`
   * reads the whole item); undefined for a deleted or unknown device.
   */
  async currentKeyHash(deviceId: string): Promise<string | undefined> {
    const item = await getAttributes(client, tableName, { deviceId }, ['apiKeyHash', 'deletedAt'], {
      consistent: true,
    });
    return item?.deletedAt === undefined && typeof item?.apiKeyHash === 'string'
      ? item.apiKeyHash
      : undefined;
  },

  /** Whether the device is registered and not deleted: its key and `deletedAt` read alone, as `get` reads the whole item. */
  async isLive(deviceId: string): Promise<boolean> {
    const item = await getAttributes(client, tableName, { deviceId }, ['deviceId', 'deletedAt']);
    return item !== undefined && item.deletedAt === undefined;
  },

  /**
   * When and by whom the device was deleted, read alone and strongly consistent (as `getStored`
   * reads the whole item); undefined for a live or unknown device.
   */
  async deletion(
    deviceId: string,
  ): Promise<{ deletedAt: string; deletedBy: string | undefined } | undefined> {
    const item = await getAttributes(client, tableName, { deviceId }, ['deletedAt', 'deletedBy'], {
      consistent: true,
    });
    if (typeof item?.deletedAt !== 'string') return undefined;
    return {
      deletedAt: item.deletedAt,
      deletedBy: typeof item.deletedBy === 'string' ? item.deletedBy : undefined,
    };
  },

  /** Until when a dashboard may be watching the device (ISO time), if one ever subscribed to it. */
  async watchedUntil(deviceId: string): Promise<string | undefined> {
    const item = await getAttributes(client, tableName, { deviceId }, ['watchedUntil']);
    return typeof item?.watchedUntil === 'string' ? item.watchedUntil : undefined;
  },
});

/** Adapter over the devices table: {@link dynamoDeviceFields}, and the reads of whole devices. */
export const dynamoDevices = (client: DynamoDBDocumentClient, tableName: string) => ({
  ...dynamoDeviceFields(client, tableName),

  async get(deviceId: string): Promise<DeviceItem | undefined> {
    const result = await client.send(new GetCommand({ TableName: tableName, Key: { deviceId } }));
    return live(result.Item);
  },

  /** The stored item even if deleted (a tombstone), strongly consistent: what deletion and rotation start from. */
  async getStored(deviceId: string): Promise<DeviceItem | undefined> {
    const result = await client.send(
      new GetCommand({ TableName: tableName, Key: { deviceId }, ConsistentRead: true }),
    );
    return result.Item ? parse(result.Item) : undefined;
  },

  /**
   * Marks the device deleted (keeping the first deletion's time and author); its item stays as a
   * tombstone. Answers the tombstone: its alarm states are final, since every state write requires
   * a live device.
   */
  async markDeleted(deviceId: string, deletedAt: string, deletedBy: string): Promise<DeviceItem> {
    const result = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { deviceId },
        UpdateExpression:
          'SET deletedAt = if_not_exists(deletedAt, :t), deletedBy = if_not_exists(deletedBy, :by), updatedAt = :t',
        ConditionExpression: 'attribute_exists(deviceId)',
        ExpressionAttributeValues: { ':t': deletedAt, ':by': deletedBy },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return parse(result.Attributes ?? {});
  },

  /** Replaces the fields the request names, keeping key, readings and alarm states. */
  async update(deviceId: string, changes: PutDeviceRequest, updatedAt: string): Promise<DeviceItem> {
    const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':updatedAt': updatedAt };
    const sets = ['#updatedAt = :updatedAt'];
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    const result = await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { deviceId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: LIVE,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return parse(result.Attributes ?? {});
  },

  /** A strongly consistent read, for read-modify-write of alarm states. */
  async getConsistent(deviceId: string): Promise<DeviceItem | undefined> {
    const result = await client.send(
      new GetCommand({ TableName: tableName, Key: { deviceId }, ConsistentRead: true }),
    );
    return live(result.Item);
  },

  async list(): Promise<DeviceItem[]> {
    const items: DeviceItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await client.send(
        new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }),
      );
      items.push(...(result.Items ?? []).flatMap((item) => live(item) ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return items.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  },

  async getMany(deviceIds: readonly string[]): Promise<DeviceItem[]> {
    const items: DeviceItem[] = [];
    for (let i = 0; i < deviceIds.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = deviceIds
        .slice(i, i + 100)
        .map((deviceId) => ({ deviceId }));
      while (keys && keys.length > 0) {
        const result: BatchGetCommandOutput = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys } } }),
        );
        items.push(...(result.Responses?.[tableName] ?? []).flatMap((item) => live(item) ?? []));
        keys = result.UnprocessedKeys?.[tableName]?.Keys;
      }
    }
    return items.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  },
});

export type DevicesStore = ReturnType<typeof dynamoDevices>;

/**
 * The alarms of a live device, none for a deleted or unknown one: the alarms alone are read and
 * parsed, not the whole device (the escalation check reads them every minute while alerts are
 * active), and a bundle with this reader alone leaves out the rest of the device's schema.
 */
export const dynamoDeviceAlarms =
  (client: DynamoDBDocumentClient, tableName: string) =>
  async (deviceId: string): Promise<Alarm[]> => {
    const item = await getAttributes(client, tableName, { deviceId }, ['alarms', 'deletedAt']);
    if (!item || item.deletedAt !== undefined) return [];
    return StoredAlarms.parse(item.alarms);
  };
