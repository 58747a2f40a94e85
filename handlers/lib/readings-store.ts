import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { putIfAbsent } from './dynamo.ts';

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

const ReadingItemSchema = z.object({
  deviceId: z.string(),
  timestamp: z.string(),
  metrics: z.record(z.string(), z.number()),
  sequence: z.optional(z.number()),
  receivedAt: z.string(),
  readingId: z.string(),
  correlationId: z.string(),
  uploadId: z.optional(z.string()),
  expiresAt: z.optional(z.number()),
  enrichment: z.optional(z.record(z.string(), z.unknown())),
  enrichmentError: z.optional(
    z.object({ error: z.string(), cause: z.string(), startedAt: z.optional(z.string()) }),
  ),
});

/** A stored reading, validated: from a query page, or from a stream record's new image. */
export const parseReadingItem = (item: Record<string, unknown>): ReadingItem => ReadingItemSchema.parse(item);

const MetricsOnly = z.object({ metrics: z.record(z.string(), z.number()) });

/** The Query of a device's readings whose timestamps are within `[from, to]` (either bound optional). */
const rangeQuery = (tableName: string, deviceId: string, range: { from?: string; to?: string }) => {
  const values: Record<string, string> = { ':d': deviceId };
  let sortCondition = '';
  if (range.from !== undefined && range.to !== undefined) {
    sortCondition = ' AND #t BETWEEN :lo AND :hi';
    values[':lo'] = range.from;
    values[':hi'] = range.to;
  } else if (range.from !== undefined) {
    sortCondition = ' AND #t >= :lo';
    values[':lo'] = range.from;
  } else if (range.to !== undefined) {
    sortCondition = ' AND #t <= :hi';
    values[':hi'] = range.to;
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

/** The values of a reading that a repeat must carry to be the same reading. */
export interface RecordedValues {
  readonly metrics: Readonly<Record<string, number>>;
  readonly sequence?: number | undefined;
}

const RecordedValuesSchema = z.object({
  metrics: z.record(z.string(), z.number()),
  sequence: z.optional(z.number()),
});

/** Stored now, or the key was taken: then the values it holds, for the caller to compare. */
export type SaveOutcome =
  | { readonly stored: true }
  | { readonly stored: false; readonly existing: RecordedValues };

/**
 * Adapter over the readings table. The conditional put is both the store and the idempotency
 * check (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
 */
export const dynamoReadings = (client: DynamoDBDocumentClient, tableName: string) => ({
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

  /** One page of a device's readings in time order: `from`/`to` inclusive, strictly after `after`. */
  async page(
    deviceId: string,
    range: { from?: string; to?: string; after?: string; limit: number },
  ): Promise<{ items: ReadingItem[]; more: boolean }> {
    // DynamoDB refuses a start key outside the key condition: a cursor past `to` has nothing
    // after it, and one before `from` starts nowhere earlier than `from`.
    if (range.after !== undefined && range.to !== undefined && range.after > range.to) {
      return { items: [], more: false };
    }
    const after =
      range.from !== undefined && range.after !== undefined && range.after < range.from
        ? undefined
        : range.after;
    const items: ReadingItem[] = [];
    let startKey: Record<string, unknown> | undefined =
      after !== undefined ? { deviceId, timestamp: after } : undefined;
    do {
      const result = await client.send(
        new QueryCommand({
          ...rangeQuery(tableName, deviceId, range),
          Limit: range.limit + 1 - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(result.Items ?? []).map(parseReadingItem));
      startKey = result.LastEvaluatedKey;
    } while (startKey && items.length <= range.limit);
    return { items: items.slice(0, range.limit), more: items.length > range.limit };
  },

  /**
   * Every reading of a device within `[from, to]`, oldest first, a Query page of at most
   * `pageSize` readings (and 1 MB) at a time: a caller writing them out holds one page, never
   * the range.
   */
  async *pages(
    deviceId: string,
    range: { from?: string; to?: string },
    pageSize: number,
  ): AsyncGenerator<ReadingItem[]> {
    for await (const items of queryPages(client, {
      ...rangeQuery(tableName, deviceId, range),
      Limit: pageSize,
    }))
      yield items.map(parseReadingItem);
  },

  /**
   * The metric names of each page of a device's readings within `[from, to]`: only the `metrics`
   * attribute is returned (DynamoDB still reads, and bills, the whole items).
   */
  async *metricNamePages(deviceId: string, range: { from?: string; to?: string }): AsyncGenerator<string[]> {
    const query = rangeQuery(tableName, deviceId, range);
    for await (const items of queryPages(client, {
      ...query,
      ProjectionExpression: '#m',
      ExpressionAttributeNames: { ...query.ExpressionAttributeNames, '#m': 'metrics' },
    }))
      yield items.flatMap((item) => Object.keys(MetricsOnly.parse(item).metrics));
  },
});

export type ReadingsStore = ReturnType<typeof dynamoReadings>;
