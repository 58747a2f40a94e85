import { BatchWriteItemCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { StreamConsumerSpec } from '../../infra/topology-types.ts';
import { StreamBatchFailure } from '../../local-cloud/emulators/dynamodb/stream-event-source.ts';
import type { ExtraTable } from '../../local-cloud/launcher/cloud.ts';
import {
  edgeClientConfig,
  startTestCloud,
  storedItems,
  type TestCloud,
  waitFor,
} from '../support/local-cloud.ts';
import { STREAM_SINK_TABLE } from '../support/stream-consumer.ts';

const consumer = 'streamConsumer';
const source = (name: string, settings: Partial<StreamConsumerSpec>): ExtraTable => ({
  name,
  env: 'UNUSED_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'N' },
  indexes: [],
  stream: {
    viewType: 'NEW_AND_OLD_IMAGES',
    consumers: [
      {
        function: consumer,
        batchSize: 3,
        maximumBatchingWindowSeconds: 0,
        maximumRetryAttempts: 2,
        bisectBatchOnFunctionError: false,
        reportBatchItemFailures: true,
        onFailure: `${name}-dlq`,
        ...settings,
      },
    ],
  },
});
const ordered = source('stream-source-ordered', {});
const bisected = source('stream-source-bisect', {
  batchSize: 4,
  maximumRetryAttempts: 0,
  bisectBatchOnFunctionError: true,
  reportBatchItemFailures: false,
});
/** New items, and changes that say so, reach the consumer; other changes are passed over. */
const filtered = source('stream-source-filtered', {
  filters: [{ eventName: ['INSERT'] }, { dynamodb: { NewImage: { fail: { S: ['deliver-change'] } } } }],
});

let t: TestCloud;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;

/** The on-failure records in a destination queue, read with SQS's ReceiveMessage as on AWS (left visible). */
const onFailureRecords = async (queue: string) => {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
  );
  return Messages.map((message) => StreamBatchFailure.parse(JSON.parse(message.Body ?? '')));
};
beforeAll(async () => {
  t = await startTestCloud({
    retryBaseDelayMs: 10,
    lambda: {
      extraFunctions: {
        [consumer]: {
          entry: 'test/support/stream-consumer.ts',
          limits: { timeoutSeconds: 10, memoryMb: 256 },
        },
      },
    },
    extraTables: [
      ordered,
      bisected,
      filtered,
      {
        name: STREAM_SINK_TABLE,
        env: 'UNUSED_SINK_TABLE',
        partitionKey: { name: 'pk', type: 'S' },
        sortKey: { name: 'sk', type: 'S' },
        indexes: [],
      },
    ],
  });
  dynamodb = new DynamoDBClient(edgeClientConfig(t.cloud));
  sqs = new SQSClient(edgeClientConfig(t.cloud));
}, 60_000);
afterAll(() => t.stop());

const Delivered = z.object({
  Records: z.array(
    z.object({
      eventName: z.string(),
      eventSourceARN: z.string(),
      dynamodb: z.object({
        SequenceNumber: z.string(),
        Keys: z.object({ pk: z.object({ S: z.string() }), sk: z.object({ N: z.string() }) }),
        NewImage: z.record(z.string(), z.unknown()).optional(),
      }),
    }),
  ),
});

/** Every batch the consumer received from a table's stream, in order, for one partition. */
const deliveredOf = async (table: string, pk: string) =>
  (await storedItems(t.cloud, STREAM_SINK_TABLE, 'pk', table))
    .map((item) => Delivered.parse(JSON.parse(String(item.event))).Records)
    .filter((records) => records[0]?.dynamodb.Keys.pk.S === pk);

/** Every batch the consumer received from a table's stream, in order, for one partition: each as `pk:sk` names. */
const batchesOf = async (table: string, pk: string) =>
  (await deliveredOf(table, pk)).map((records) =>
    records.map((r) => `${r.dynamodb.Keys.pk.S}:${r.dynamodb.Keys.sk.N}`),
  );

const write = (table: string, pk: string, items: { sk: number; fail?: string }[]) =>
  dynamodb.send(
    new BatchWriteItemCommand({
      RequestItems: {
        [table]: items.map(({ sk, fail }) => ({
          PutRequest: {
            Item: { pk: { S: pk }, sk: { N: String(sk) }, ...(fail ? { fail: { S: fail } } : {}) },
          },
        })),
      },
    }),
  );

describe('a Lambda event source mapping on a DynamoDB stream', () => {
  it('delivers every record once, in order, in batches of at most batchSize, in the DynamoDB event shape', async () => {
    await write(
      ordered.name,
      'in-order',
      [1, 2, 3, 4, 5, 6, 7].map((sk) => ({ sk })),
    );

    const batches = await waitFor(async () => {
      const found = await batchesOf(ordered.name, 'in-order');
      return found.flat().length >= 7 && found;
    }, 'seven records delivered');

    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: ordered.name }));
    const [first] = (await storedItems(t.cloud, STREAM_SINK_TABLE, 'pk', ordered.name)).map(
      (item) => Delivered.parse(JSON.parse(String(item.event))).Records,
    );
    expect(batches).toEqual([
      ['in-order:1', 'in-order:2', 'in-order:3'],
      ['in-order:4', 'in-order:5', 'in-order:6'],
      ['in-order:7'],
    ]);
    expect(first?.[0]).toMatchObject({
      eventName: 'INSERT',
      eventSourceARN: Table?.LatestStreamArn,
      dynamodb: { NewImage: { pk: { S: 'in-order' }, sk: { N: '1' } } },
    });
  });

  it('retries from the first record a partial batch response names, and only from there', async () => {
    await write(ordered.name, 'partial', [{ sk: 1 }, { sk: 2, fail: 'report-once' }, { sk: 3 }]);

    const batches = await waitFor(async () => {
      const found = await batchesOf(ordered.name, 'partial');
      return found.length >= 2 && found;
    }, 'the batch and its retry');

    expect(batches).toEqual([
      ['partial:1', 'partial:2', 'partial:3'],
      ['partial:2', 'partial:3'],
    ]);
  });

  it('retries a failing batch maximumRetryAttempts times, sends its metadata to the on-failure destination, and moves on', async () => {
    await write(ordered.name, 'poison', [{ sk: 1, fail: 'throw' }, { sk: 2 }]);
    const skipped = await waitFor(
      async () => (await onFailureRecords(`${ordered.name}-dlq`)).at(0),
      'the skipped batch on its on-failure destination',
    );
    await write(ordered.name, 'poison', [{ sk: 3 }]);

    const batches = await waitFor(async () => {
      const found = await batchesOf(ordered.name, 'poison');
      return found.some((batch) => batch.includes('poison:3')) && found;
    }, 'the record after the skipped batch');

    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: ordered.name }));
    expect(batches).toEqual([
      ['poison:1', 'poison:2'],
      ['poison:1', 'poison:2'],
      ['poison:1', 'poison:2'],
      ['poison:3'],
    ]);
    expect(skipped).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      version: '1.0',
      DDBStreamBatchInfo: { batchSize: 2, streamArn: Table?.LatestStreamArn },
    });
    expect(BigInt(skipped.DDBStreamBatchInfo.endSequenceNumber)).toBeGreaterThan(
      BigInt(skipped.DDBStreamBatchInfo.startSequenceNumber),
    );
  });

  it('bisects a failing batch until the failing record stands alone, and skips only that one', async () => {
    await write(bisected.name, 'halves', [{ sk: 1 }, { sk: 2, fail: 'throw' }, { sk: 3 }, { sk: 4 }]);

    const batches = await waitFor(async () => {
      const found = await batchesOf(bisected.name, 'halves');
      return found.length >= 5 && found;
    }, 'the batch, its halves and its quarters');

    const skipped = await onFailureRecords(`${bisected.name}-dlq`);
    expect(batches).toEqual([
      ['halves:1', 'halves:2', 'halves:3', 'halves:4'],
      ['halves:1', 'halves:2'],
      ['halves:1'],
      ['halves:2'],
      ['halves:3', 'halves:4'],
    ]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.DDBStreamBatchInfo.batchSize).toBe(1);
  });

  it('delivers only the records a filter matches, and moves past the others without invoking', async () => {
    await write(filtered.name, 'filtered', [{ sk: 1 }, { sk: 2 }]);
    await waitFor(async () => (await batchesOf(filtered.name, 'filtered')).length === 1, 'the inserts');
    // Putting the same keys again with other values makes MODIFY records: the first filter passes
    // them over, the second lets through the one whose new image asks for it.
    await write(filtered.name, 'filtered', [
      { sk: 1, fail: 'quiet-change' },
      { sk: 2, fail: 'deliver-change' },
    ]);
    await write(filtered.name, 'filtered', [{ sk: 3 }]);

    const delivered = await waitFor(async () => {
      const found = await deliveredOf(filtered.name, 'filtered');
      return found.flat().some((r) => r.dynamodb.Keys.sk.N === '3') && found;
    }, 'the insert after the changes');

    expect(delivered.flat().map((r) => `${r.eventName}:${r.dynamodb.Keys.sk.N}`)).toEqual([
      'INSERT:1',
      'INSERT:2',
      'MODIFY:2',
      'INSERT:3',
    ]);
    await waitFor(() => t.cloud.streamConsumers.idle(), 'the position past every record');
  });
});
