import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod/mini';
import { type ItemRead, putIfAbsent, readItem } from './dynamo.ts';
import {
  type HourItem,
  hourKeyOf,
  isHourKey,
  PACKED_HOUR_BYTES,
  type PackedReading,
  type PackedUpload,
  parseHourItem,
  timestampOfSlot,
} from './hour-items.ts';
import { readingIdOf } from './ids.ts';

/** A reading as it sits in the readings table. */
export interface ReadingItem {
  readonly deviceId: string;
  /** Canonical UTC timestamp; with `deviceId`, the reading's identity. */
  readonly timestamp: string;
  readonly metrics: Record<string, number>;
  readonly sequence?: number;
  readonly receivedAt: string;
  readonly readingId: string;
  readonly correlationId: string;
  /** The upload (one `POST /readings`) the reading came in: the announcer announces readings grouped by it. */
  readonly uploadId?: string;
  /** Epoch seconds after which DynamoDB TTL deletes the reading (the retention after its timestamp). */
  readonly expiresAt?: number;
  /** Written here by the enrichment of readings stored before the enrichments table; since then, it lives there. */
  readonly enrichment?: Record<string, unknown>;
  /**
   * Set by the enrichment workflow when it gave up on the reading, with the start of the execution
   * that gave up: an enrichment stored by a later execution makes it stale (`enrichments-store.ts`).
   */
  readonly enrichmentError?: { readonly error: string; readonly cause: string; readonly startedAt?: string };
}

const ReadingItemSchema = /* @__PURE__ */ z.object({
  deviceId: /* @__PURE__ */ z.string(),
  timestamp: /* @__PURE__ */ z.string(),
  metrics: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), /* @__PURE__ */ z.number()),
  sequence: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  receivedAt: /* @__PURE__ */ z.string(),
  readingId: /* @__PURE__ */ z.string(),
  correlationId: /* @__PURE__ */ z.string(),
  uploadId: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
  expiresAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  enrichment: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), /* @__PURE__ */ z.unknown()),
  ),
  enrichmentError: /* @__PURE__ */ z.optional(
    /* @__PURE__ */ z.object({
      error: /* @__PURE__ */ z.string(),
      cause: /* @__PURE__ */ z.string(),
      startedAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.string()),
    }),
  ),
});

/** A stored reading, validated: from a query page, or from a stream record's new image. */
export const parseReadingItem = (item: Record<string, unknown>): ReadingItem => ReadingItemSchema.parse(item);

/** The readings an hour item holds, as reading items (ids derived, upload details from `u`), oldest first. */
export const readingsOfHour = (item: HourItem, slots?: readonly string[]): ReadingItem[] =>
  (slots ?? Object.keys(item.r)).toSorted().flatMap((slot) => {
    const packed = item.r[slot];
    if (!packed) return [];
    const upload = item.u[packed.u];
    const timestamp = timestampOfSlot(item.timestamp, slot);
    return [
      {
        deviceId: item.deviceId,
        timestamp,
        metrics: packed.m,
        ...(packed.s !== undefined ? { sequence: packed.s } : {}),
        receivedAt: upload?.at ?? timestamp,
        readingId: readingIdOf(item.deviceId, timestamp),
        correlationId: upload?.c ?? packed.u,
        uploadId: upload?.id ?? packed.u,
        ...(item.expiresAt !== undefined ? { expiresAt: item.expiresAt } : {}),
      },
    ];
  });

/** The readings some items of the readings table hold (hour items flattened), oldest first, each timestamp once. */
export const readingsOfItems = (items: readonly Record<string, unknown>[]): ReadingItem[] => {
  const byTimestamp = new Map<string, ReadingItem>();
  for (const item of items) {
    const readings =
      typeof item.timestamp === 'string' && isHourKey(item.timestamp)
        ? readingsOfHour(parseHourItem(item))
        : [parseReadingItem(item)];
    for (const reading of readings)
      if (!byTimestamp.has(reading.timestamp)) byTimestamp.set(reading.timestamp, reading);
  }
  return [...byTimestamp.values()].sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
};

/** The Query of a device's items whose sort keys are within `[lo, hi]` (either bound optional). */
const rangeQuery = (
  tableName: string,
  deviceId: string,
  range: { lo?: string | undefined; hi?: string | undefined },
) => {
  const values: Record<string, string> = { ':d': deviceId };
  let sortCondition = '';
  if (range.lo !== undefined && range.hi !== undefined) {
    sortCondition = ' AND #t BETWEEN :lo AND :hi';
    values[':lo'] = range.lo;
    values[':hi'] = range.hi;
  } else if (range.lo !== undefined) {
    sortCondition = ' AND #t >= :lo';
    values[':lo'] = range.lo;
  } else if (range.hi !== undefined) {
    sortCondition = ' AND #t <= :hi';
    values[':hi'] = range.hi;
  }
  return {
    TableName: tableName,
    KeyConditionExpression: `deviceId = :d${sortCondition}`,
    ExpressionAttributeNames: sortCondition ? { '#t': 'timestamp' } : undefined,
    ExpressionAttributeValues: values,
  };
};

/** Every page of a Query, one at a time. */
async function* queryPages(
  client: DynamoDBDocumentClient,
  input: ConstructorParameters<typeof QueryCommand>[0],
): AsyncGenerator<Record<string, unknown>[]> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const result = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    yield result.Items ?? [];
    startKey = result.LastEvaluatedKey;
  } while (startKey);
}

/** Which readings a read wants: `from`/`to` inclusive, strictly after `after`. */
interface ReadingRange {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly after?: string | undefined;
}

/**
 * The readings of a device within a range, oldest first, one UTC hour at a time: an hour's item
 * flattened into its readings and merged with the hour's reading items (a full hour's later
 * readings, or readings stored before hour items). The Query starts at the hour of `from` (or
 * `after`), reads `pageItems` items a page, and each hour is yielded once all its items are read.
 */
async function* hoursOfReadings(
  client: DynamoDBDocumentClient,
  tableName: string,
  deviceId: string,
  range: ReadingRange,
  pageItems: number,
): AsyncGenerator<ReadingItem[]> {
  const { from, to } = range;
  const after =
    from !== undefined && range.after !== undefined && range.after < from ? undefined : range.after;
  if (after !== undefined && to !== undefined && after >= to) return;
  const start = after ?? from;
  const wanted = (reading: ReadingItem) =>
    (from === undefined || reading.timestamp >= from) &&
    (after === undefined || reading.timestamp > after) &&
    (to === undefined || reading.timestamp <= to);
  let hour: string | undefined;
  let items: Record<string, unknown>[] = [];
  const flush = () => readingsOfItems(items).filter(wanted);
  for await (const page of queryPages(client, {
    ...rangeQuery(tableName, deviceId, { lo: start === undefined ? undefined : hourKeyOf(start), hi: to }),
    Limit: pageItems,
  })) {
    for (const item of page) {
      const key = typeof item.timestamp === 'string' ? item.timestamp : '';
      const itemHour = isHourKey(key) ? key : hourKeyOf(key);
      if (itemHour !== hour) {
        const done = flush();
        if (done.length > 0) yield done;
        hour = itemHour;
        items = [];
      }
      items.push(item);
    }
  }
  const done = flush();
  if (done.length > 0) yield done;
}

/** The values of a reading that a repeat must carry to be the same reading. */
export interface RecordedValues {
  readonly metrics: Readonly<Record<string, number>>;
  readonly sequence?: number | undefined;
}

const RecordedValuesSchema = /* @__PURE__ */ z.object({
  metrics: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), /* @__PURE__ */ z.number()),
  sequence: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
});

/** Stored now, or the key was taken: then the values it holds, for the caller to compare. */
export type SaveOutcome =
  | { readonly stored: true }
  | { readonly stored: false; readonly existing: RecordedValues };

/** What an append to an hour item came to: appended, or refused with the item as it then was (if it was). */
export type AppendOutcome =
  | { readonly appended: true }
  | { readonly appended: false; readonly image: HourItem | undefined };

/** What a read of an hour's range found: its hour item, and whether it has reading items. */
export interface HourProbe {
  readonly image: HourItem | undefined;
  readonly legacy: boolean;
}

/** One upload's readings of one hour, to append to its hour item in one write. */
export interface HourAppend {
  readonly deviceId: string;
  readonly hour: string;
  /** Each reading's slot (`mm:ss.sss`) and packed form. */
  readonly readings: readonly (readonly [string, PackedReading])[];
  readonly ref: string;
  readonly upload: PackedUpload;
  /** What the readings and the upload add to the item's `bytes`. */
  readonly bytes: number;
}

/**
 * Adapter over the readings table. The conditional put is both the store and the idempotency
 * check (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html);
 * for packed readings, the condition of the append to their hour item is.
 */
export const dynamoReadings = (client: DynamoDBDocumentClient, tableName: string) => {
  /** The read of a device's hour item, strongly consistent when asked. */
  const hourRead = (deviceId: string, hour: string, consistent: boolean): ItemRead<HourItem | undefined> => ({
    table: tableName,
    key: { deviceId, timestamp: hour },
    consistent,
    parse: (item) => (item ? parseHourItem(item) : undefined),
  });
  const readHour = (deviceId: string, hour: string, consistent: boolean): Promise<HourItem | undefined> =>
    readItem(client, hourRead(deviceId, hour, consistent));
  return {
    hourRead,

    /**
     * Stores a reading unless its key is taken, and then reads what the key holds with a strongly
     * consistent GetItem. (`ReturnValuesOnConditionCheckFailure: ALL_OLD` would save that read on
     * AWS, but dynalite 4 ignores it.) A key taken and gone again, which only expiry could cause,
     * is an error the caller retries.
     */
    async saveIfAbsent(item: ReadingItem): Promise<SaveOutcome> {
      if (await putIfAbsent(client, tableName, { ...item }, 'deviceId')) return { stored: true };
      const { Item } = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: { deviceId: item.deviceId, timestamp: item.timestamp },
          ProjectionExpression: '#m, #s',
          ExpressionAttributeNames: { '#m': 'metrics', '#s': 'sequence' },
          ConsistentRead: true,
        }),
      );
      if (!Item) throw new Error(`Reading ${item.readingId} was refused as existing but is gone; retry`);
      return { stored: false, existing: RecordedValuesSchema.parse(Item) };
    },

    /** The hour item of a device's hour, if it exists (strongly consistent when asked). */
    readHour,

    /**
     * Appends an upload's readings to their existing hour item in one UpdateItem, unless the hour
     * is full, the append would take it past {@link PACKED_HOUR_BYTES}, a reading's slot is taken,
     * or the upload's ref names another upload. Refused, it answers the item as it then was: from
     * the refusal on AWS (`ReturnValuesOnConditionCheckFailure`), else a strongly consistent read.
     */
    async appendToHour(append: HourAppend): Promise<AppendOutcome> {
      const names: Record<string, string> = {
        '#r': 'r',
        '#u': 'u',
        '#b': 'bytes',
        '#f': 'full',
        '#ref': append.ref,
        '#id': 'id',
      };
      const values: Record<string, unknown> = {
        ':up': append.upload,
        ':uid': append.upload.id,
        ':b': append.bytes,
        ':room': PACKED_HOUR_BYTES - append.bytes,
      };
      const sets: string[] = [];
      const absent: string[] = [];
      append.readings.forEach(([slot, packed], i) => {
        names[`#k${i}`] = slot;
        values[`:v${i}`] = packed;
        sets.push(`#r.#k${i} = :v${i}`);
        absent.push(`attribute_not_exists(#r.#k${i})`);
      });
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { deviceId: append.deviceId, timestamp: append.hour },
            UpdateExpression: `SET ${sets.join(', ')}, #u.#ref = :up, #b = #b + :b`,
            ConditionExpression: [
              'attribute_exists(deviceId) AND attribute_not_exists(#f) AND #b <= :room',
              '(attribute_not_exists(#u.#ref) OR #u.#ref.#id = :uid)',
              ...absent,
            ].join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { appended: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const image = error.Item
          ? parseHourItem(unmarshall(error.Item))
          : await readHour(append.deviceId, append.hour, true);
        return { appended: false, image };
      }
    },

    /** Creates an hour item unless one exists: `false` when another writer created it first. */
    createHour: (item: HourItem): Promise<boolean> => putIfAbsent(client, tableName, { ...item }, 'deviceId'),

    /**
     * The hour item of a device's hour, if any, and whether the hour has reading items (readings
     * stored before hour items, or after it was full): one strongly consistent Query of the hour's
     * key range, the item sorting first.
     */
    async probeHour(deviceId: string, hour: string): Promise<HourProbe> {
      const { Items = [] } = await client.send(
        new QueryCommand({
          ...rangeQuery(tableName, deviceId, { lo: hour, hi: `${hour}:~` }),
          Limit: 2,
          ConsistentRead: true,
        }),
      );
      const [first, second] = Items;
      const image = first?.timestamp === hour ? parseHourItem(first) : undefined;
      return { image, legacy: (image ? second : first) !== undefined };
    },

    /**
     * Marks an hour item full, for good: nothing is packed into it any more, so the image this
     * answers (after the write) holds every reading ever packed in it. `undefined` when the item is
     * gone (expired).
     */
    async markFull(deviceId: string, hour: string): Promise<HourItem | undefined> {
      try {
        const { Attributes } = await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { deviceId, timestamp: hour },
            UpdateExpression: 'SET #f = :t',
            ConditionExpression: 'attribute_exists(deviceId)',
            ExpressionAttributeNames: { '#f': 'full' },
            ExpressionAttributeValues: { ':t': true },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Attributes ? parseHourItem(Attributes) : undefined;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw error;
      }
    },

    /** One page of a device's readings in time order: `from`/`to` inclusive, strictly after `after`. */
    async page(
      deviceId: string,
      range: ReadingRange & { limit: number },
    ): Promise<{ items: ReadingItem[]; more: boolean }> {
      const items: ReadingItem[] = [];
      for await (const hour of hoursOfReadings(client, tableName, deviceId, range, range.limit + 1)) {
        items.push(...hour);
        if (items.length > range.limit) break;
      }
      return { items: items.slice(0, range.limit), more: items.length > range.limit };
    },

    /**
     * Every reading of a device within `[from, to]`, oldest first, `pageSize` readings at a time
     * (an hour's readings are read together): a caller writing them out holds about one page, never
     * the range.
     */
    async *pages(
      deviceId: string,
      range: { from?: string; to?: string },
      pageSize: number,
    ): AsyncGenerator<ReadingItem[]> {
      let page: ReadingItem[] = [];
      for await (const hour of hoursOfReadings(client, tableName, deviceId, range, pageSize)) {
        page.push(...hour);
        while (page.length >= pageSize) {
          yield page.slice(0, pageSize);
          page = page.slice(pageSize);
        }
      }
      if (page.length > 0) yield page;
    },

    /** The metric names of each page of a device's readings within `[from, to]`. */
    async *metricNamePages(
      deviceId: string,
      range: { from?: string; to?: string },
    ): AsyncGenerator<string[]> {
      for await (const hour of hoursOfReadings(client, tableName, deviceId, range, 1000))
        yield hour.flatMap((reading) => Object.keys(reading.metrics));
    },
  };
};

export type ReadingsStore = ReturnType<typeof dynamoReadings>;
