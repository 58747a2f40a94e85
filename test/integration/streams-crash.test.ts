import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, describe, expect, it } from 'vitest';
import { newSigningKey } from '../../handlers/lib/auth.ts';
import { newAwsCredentials } from '../../local-cloud/launcher/credentials.ts';
import { cloudProcesses, freePort, kill9 } from '../support/cloud-processes.ts';
import { type EdgeAccess, edgeClientConfig, waitFor } from '../support/local-cloud.ts';
import { seeded } from '../support/seeded.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sensorbus-streams-crash-'));
const signingKey = newSigningKey();
const awsCredentials = newAwsCredentials();
const TABLE = 'crash-streamed';
// No scheduled functions: this suite writes to its own table only, and each would start cold after every restart
const processes = cloudProcesses({
  signingKey,
  awsCredentials,
  env: { TEST_STREAM_TABLE: TABLE, TEST_SCHEDULE_INTERVAL_MS: '0' },
});
const startProcess = (ports: { api: number; edge: number }) => processes.start(ports, dataDir);

afterAll(() => {
  processes.killAll();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every record of the table's stream, oldest first. */
const readStream = async (edge: EdgeAccess): Promise<StreamRecord[]> => {
  const streams = new DynamoDBStreamsClient(edgeClientConfig(edge));
  const [stream] = (await streams.send(new ListStreamsCommand({ TableName: TABLE }))).Streams ?? [];
  const { StreamDescription } = await streams.send(
    new DescribeStreamCommand({ StreamArn: stream?.StreamArn }),
  );
  let { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: stream?.StreamArn,
      ShardId: StreamDescription?.Shards?.[0]?.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const records: StreamRecord[] = [];
  for (;;) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
    records.push(...(page.Records ?? []));
    if ((page.Records ?? []).length === 0) break;
    ShardIterator = page.NextShardIterator;
  }
  streams.destroy();
  return records;
};

/** The value a write leaves on an item: unique across the run, so a record names the write it records. */
type Written = { readonly keys: readonly string[]; readonly value: number | undefined };

/**
 * Writers that each own a few keys and change them one write at a time (puts, updates, deletes and
 * batch writes, chosen by the seed) until told to stop; each remembers the writes the store
 * acknowledged.
 */
const writers = (random: () => number) => {
  const acknowledged: Written[] = [];
  let counter = 0;
  const run = async (edge: EdgeAccess, writer: number, stopped: { value: boolean }) => {
    const client = new DynamoDBClient({ ...edgeClientConfig(edge), maxAttempts: 1 });
    const keyOf = (k: number) => `w${writer}-k${k}`;
    while (!stopped.value) {
      const pick = random();
      const key = keyOf(Math.floor(random() * 3));
      counter += 1;
      const value = counter;
      const item = (pk: string, v: number) => ({ pk: { S: pk }, v: { N: String(v) } });
      try {
        if (pick < 0.45) {
          await client.send(new PutItemCommand({ TableName: TABLE, Item: item(key, value) }));
          acknowledged.push({ keys: [key], value });
        } else if (pick < 0.7) {
          await client.send(
            new UpdateItemCommand({
              TableName: TABLE,
              Key: { pk: { S: key } },
              UpdateExpression: 'SET v = :v',
              ExpressionAttributeValues: { ':v': { N: String(value) } },
            }),
          );
          acknowledged.push({ keys: [key], value });
        } else if (pick < 0.85) {
          await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: key } } }));
          acknowledged.push({ keys: [key], value: undefined });
        } else {
          const keys = [keyOf(0), keyOf(1)];
          counter += 1;
          await client.send(
            new BatchWriteItemCommand({
              RequestItems: {
                [TABLE]: [
                  { PutRequest: { Item: item(keys[0] ?? '', value) } },
                  { PutRequest: { Item: item(keys[1] ?? '', value + 1) } },
                ],
              },
            }),
          );
          acknowledged.push({ keys: [keys[0] ?? ''], value }, { keys: [keys[1] ?? ''], value: value + 1 });
        }
      } catch {
        // the process was killed under this write: its outcome is unknown, and either is allowed
      }
    }
    client.destroy();
  };
  return { acknowledged, run };
};

/** An image as comparable text: its attributes in name order. */
const imageOf = (image: Record<string, unknown> | undefined) =>
  image === undefined
    ? undefined
    : JSON.stringify(Object.entries(image).sort(([a], [b]) => a.localeCompare(b)));

/**
 * What a restarted process must show: per item, the records form an unbroken chain (each one's old
 * image is the previous one's new image) that ends at the item as stored; every acknowledged
 * write's value is in it; no record is doubled.
 */
const assessStream = async (edge: EdgeAccess, acknowledged: readonly Written[]) => {
  const records = await readStream(edge);
  const sequence = records.map((r) => BigInt(r.dynamodb?.SequenceNumber ?? '0'));
  expect(sequence.every((n, i) => i === 0 || n > (sequence[i - 1] ?? 0n))).toBe(true);
  expect(new Set(records.map((r) => r.eventID)).size).toBe(records.length);
  const values = records.flatMap((r) => (r.dynamodb?.NewImage?.v?.N ? [r.dynamodb.NewImage.v.N] : []));
  expect(new Set(values).size).toBe(values.length);

  const client = new DynamoDBClient(edgeClientConfig(edge));
  const byKey = new Map<string, StreamRecord[]>();
  for (const record of records) {
    const key = record.dynamodb?.Keys?.pk?.S ?? '';
    byKey.set(key, [...(byKey.get(key) ?? []), record]);
  }
  for (const [key, chain] of byKey) {
    let previous: string | undefined;
    for (const record of chain) {
      expect(
        imageOf(record.dynamodb?.OldImage),
        `the chain of ${key} at ${record.dynamodb?.SequenceNumber}`,
      ).toBe(previous);
      previous = imageOf(record.dynamodb?.NewImage);
    }
    const { Item } = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    expect(imageOf(Item), `the record of ${key}'s last change`).toBe(previous);
  }
  const recorded = new Set(values);
  const missing = acknowledged.filter((w) => w.value !== undefined && !recorded.has(String(w.value)));
  expect(missing).toEqual([]);
  client.destroy();
  return records.length;
};

const SEED = Number(process.env.STREAMS_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`a local DynamoDB killed at random moments under writes to a streamed table (seed ${SEED}; repeat with STREAMS_CRASH_SEED=${SEED})`, () => {
  it('keeps a stream record of every write it acknowledged, and of every change it made, once', async () => {
    const random = seeded(SEED);
    const ports = { api: await freePort(), edge: await freePort() };
    const { acknowledged, run } = writers(random);
    let running = await startProcess(ports);
    let recorded = 0;
    for (let round = 0; round < 2; round++) {
      const before = acknowledged.length;
      const stopped = { value: false };
      const writing = Promise.all(
        [0, 1, 2, 3].map((writer) => run(running.edge, writer + round * 4, stopped)),
      );
      await waitFor(() => acknowledged.length > before, 'an acknowledged write', 30_000);
      const deadline = Date.now() + 100 + random() * 1500;
      await waitFor(() => Date.now() >= deadline, 'the random moment', 5_000);
      await kill9(running.child);
      stopped.value = true;
      await writing;

      running = await startProcess(ports);
      recorded = await assessStream(running.edge, acknowledged);
    }

    expect(recorded).toBeGreaterThanOrEqual(acknowledged.filter((w) => w.value !== undefined).length);
    running.child.kill('SIGTERM');
  }, 240_000);
});
