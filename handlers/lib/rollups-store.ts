import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import {
  aggregateReadings,
  type MetricAggregate,
  type MetricsAggregate,
  retentionDaysOf,
  type StoredSize,
  seriesKey,
} from './rollups.ts';
import { expiresAtOf } from './ttl.ts';

/**
 * A metric's aggregate as stored. `sum` is a string: the sum of storable readings may fall
 * outside what a DynamoDB Number holds (below 1e-130 in size, or past 38 digits), and the text of
 * a JavaScript number reads back as the same number.
 */
const StoredAggregate = /* @__PURE__ */ z.object({
  min: /* @__PURE__ */ z.number(),
  max: /* @__PURE__ */ z.number(),
  sum: /* @__PURE__ */ z.string(),
  count: /* @__PURE__ */ z.number(),
  first: /* @__PURE__ */ z.number(),
  firstAt: /* @__PURE__ */ z.string(),
  last: /* @__PURE__ */ z.number(),
  lastAt: /* @__PURE__ */ z.string(),
});

const RollupItemSchema = /* @__PURE__ */ z.object({
  series: /* @__PURE__ */ z.string(),
  start: /* @__PURE__ */ z.string(),
  metrics: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), StoredAggregate),
  appliedThrough: /* @__PURE__ */ z.string(),
});

const toStored = (aggregate: MetricAggregate) => ({ ...aggregate, sum: String(aggregate.sum) });

const fromStored = (metrics: Record<string, z.infer<typeof StoredAggregate>>): MetricsAggregate =>
  Object.fromEntries(
    Object.entries(metrics).map(([metric, stored]) => [metric, { ...stored, sum: Number(stored.sum) }]),
  );

/** A stored rollup: one device, one stored size, one bucket. */
export interface RollupItem {
  readonly start: string;
  readonly metrics: MetricsAggregate;
}

/** Readings of one bucket from one stream batch, each with its stream record's sequence number. */
export interface BucketContribution {
  readonly deviceId: string;
  readonly size: StoredSize;
  /** The bucket's start, canonical UTC. */
  readonly start: string;
  readonly readings: readonly {
    readonly timestamp: string;
    readonly metrics: Readonly<Record<string, number>>;
    /** The stream record's sequence number, padded to {@link SEQUENCE_DIGITS} so it orders as a string. */
    readonly sequence: string;
  }[];
}

/** DynamoDB Streams sequence numbers are decimal strings of up to 40 digits (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html). */
export const SEQUENCE_DIGITS = 40;

export const paddedSequence = (sequenceNumber: string): string =>
  sequenceNumber.padStart(SEQUENCE_DIGITS, '0');

/**
 * A rollup as the table holds it: one device, stored size and bucket, with the sequence number of
 * the latest stream record applied to it. It expires after its bucket starts as `retentionDaysOf` says
 * for its size, `retentionDays` being the rollups' retention.
 */
export const rollupItem = (
  bucket: Pick<BucketContribution, 'deviceId' | 'size' | 'start'>,
  metrics: MetricsAggregate,
  appliedThrough: string,
  retentionDays: number,
) => ({
  series: seriesKey(bucket.deviceId, bucket.size),
  start: bucket.start,
  deviceId: bucket.deviceId,
  size: bucket.size,
  metrics: Object.fromEntries(Object.entries(metrics).map(([m, a]) => [m, toStored(a)])),
  appliedThrough,
  expiresAt: expiresAtOf(bucket.start, retentionDaysOf(bucket.size, retentionDays)),
});

/** How often a contribution is read and written again when another writer moved the item in between. */
const MAX_ATTEMPTS = 5;

/**
 * Adapter over the rollups table: partition `series` (`<deviceId>#<size>`), sort `start`.
 *
 * A stream batch can be delivered more than once (Lambda retries it, from the start or from the
 * failed record, splits it, or delivers it again after a crash before its checkpoint:
 * https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html). Each item therefore records the
 * sequence number of the latest stream record applied to it (`appliedThrough`). A device's records
 * reach the consumer in stream order and each write applies all of a batch's readings of its
 * bucket at once, so every record of the bucket up to that number is already counted: a
 * contribution keeps only the readings after it, and a redelivered batch changes nothing.
 */
export const dynamoRollups = (client: DynamoDBDocumentClient, tableName: string) => ({
  /**
   * Adds a bucket's readings to its rollup: a read, then a write conditioned on what was read. The
   * first read is eventually consistent, half a strongly consistent one's price: the condition
   * refuses a write over a stale read (a bucket written a moment before, by the batch before), and
   * the attempts after it read strongly consistent. A device writes its bucket once an upload,
   * minutes apart, so the first read is all but always current. The rollup expires
   * `retentionDays` after its bucket starts.
   */
  async apply(
    contribution: BucketContribution,
    retentionDays: number,
  ): Promise<'applied' | 'already applied'> {
    const series = seriesKey(contribution.deviceId, contribution.size);
    const key = { series, start: contribution.start };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: key, ConsistentRead: attempt > 1 }),
      );
      const current = Item ? RollupItemSchema.parse(Item) : undefined;
      const fresh = contribution.readings.filter(
        (reading) => current === undefined || reading.sequence > current.appliedThrough,
      );
      if (fresh.length === 0) return 'already applied';
      const metrics = aggregateReadings(fresh, current ? fromStored(current.metrics) : {});
      const appliedThrough = fresh.reduce(
        (latest, reading) => (reading.sequence > latest ? reading.sequence : latest),
        current?.appliedThrough ?? '',
      );
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: rollupItem(contribution, metrics, appliedThrough, retentionDays),
            ...(current
              ? {
                  ConditionExpression: 'appliedThrough = :seen',
                  ExpressionAttributeValues: { ':seen': current.appliedThrough },
                }
              : { ConditionExpression: 'attribute_not_exists(series)' }),
          }),
        );
        return 'applied';
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new Error(`Rollup ${series} ${contribution.start} kept changing under ${MAX_ATTEMPTS} attempts`);
  },

  /**
   * A device's stored rollups of one size whose bucket starts within `[from, to]`, oldest first,
   * page by page: the caller stops reading when it has enough.
   */
  async *range(
    deviceId: string,
    size: StoredSize,
    bounds: { from: string; to?: string },
  ): AsyncGenerator<RollupItem> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression:
            bounds.to === undefined ? 'series = :s AND #t >= :lo' : 'series = :s AND #t BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#t': 'start' },
          ExpressionAttributeValues: {
            ':s': seriesKey(deviceId, size),
            ':lo': bounds.from,
            ...(bounds.to === undefined ? {} : { ':hi': bounds.to }),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const raw of result.Items ?? []) {
        const item = RollupItemSchema.parse(raw);
        yield { start: item.start, metrics: fromStored(item.metrics) };
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
  },
});

export type RollupsStore = ReturnType<typeof dynamoRollups>;
