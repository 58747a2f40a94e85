import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChangeCapture, Intent } from '../../../../../local-cloud/emulators/dynamodb/change-capture.ts';
import { partitionOf } from '../../../../../local-cloud/emulators/dynamodb/partition-writes.ts';
import {
  StreamEventSource,
  type StreamEventSourceMapping,
} from '../../../../../local-cloud/emulators/dynamodb/stream-event-source.ts';
import { type Item, StreamStore } from '../../../../../local-cloud/emulators/dynamodb/streams.ts';
import { InvalidFilterCriteriaError } from '../../../../../local-cloud/emulators/lambda/filter-criteria.ts';
import { Journal } from '../../../../../local-cloud/emulators/shared/journal.ts';
import { waitFor } from '../../../../support/local-cloud.ts';

const dir = mkdtempSync(join(tmpdir(), 'stream-event-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mapping: StreamEventSourceMapping = {
  table: 't',
  functionName: 'consumer',
  functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:consumer',
  batchSize: 2,
  maximumBatchingWindowSeconds: 0,
  maximumRetryAttempts: 0,
  bisectBatchOnFunctionError: false,
  reportBatchItemFailures: false,
};

const change = (id: string) => ({
  eventId: id,
  keys: { id: { S: id } },
  oldImage: undefined,
  newImage: { id: { S: id } },
});

/** The event ids of the records of a batch a function is invoked with. */
const eventIdsOf = (event: unknown) =>
  z
    .object({ Records: z.array(z.object({ eventID: z.string() })) })
    .parse(event)
    .Records.map((r) => r.eventID);

/** An event source whose function records the event ids of each batch it is invoked with. */
const consumerOf = (store: StreamStore, checkpointFile: string) => {
  const batches: string[][] = [];
  const source = new StreamEventSource({
    streams: store,
    mappings: [mapping],
    checkpointFile,
    invoke: async (_fn, event) => {
      batches.push(eventIdsOf(event));
      return null;
    },
  });
  source.start();
  return { source, batches };
};

describe('the stream event source checkpoint', () => {
  it('resumes after the last batch done with: a restart neither skips nor repeats a record', async () => {
    const store = new StreamStore({ region: 'us-east-1', accountId: '123456789012' });
    store.enable('t', 'KEYS_ONLY', [{ AttributeName: 'id', KeyType: 'HASH' }]);
    const checkpointFile = join(dir, 'checkpoints.jsonl');
    const first = consumerOf(store, checkpointFile);
    store.append('t', [change('a'), change('b'), change('c')]);
    await waitFor(() => first.batches.flat().length === 3, 'the first three records');
    await first.source.stop();
    store.append('t', [change('d')]); // written while no consumer runs

    const second = consumerOf(store, checkpointFile);
    store.append('t', [change('e')]);
    await waitFor(() => second.batches.flat().includes('e'), 'the records after the restart');
    await second.source.stop();

    expect(first.batches).toEqual([['a', 'b'], ['c']]);
    expect(second.batches.flat()).toEqual(['d', 'e']);
  });
});

describe('the stream event source filters', () => {
  const withFilters = (filters: readonly Record<string, unknown>[]) => () =>
    new StreamEventSource({
      streams: new StreamStore({ region: 'us-east-1', accountId: '123456789012' }),
      mappings: [{ ...mapping, filters }],
      invoke: async () => null,
    });

  it('refuses what Lambda refuses: more than five filters, a match type Lambda lacks', () => {
    const six = Array.from({ length: 6 }, (_, i) => ({ eventName: [`E${i}`] }));

    expect(withFilters(six)).toThrow(InvalidFilterCriteriaError);
    expect(withFilters([{ eventName: [{ wildcard: 'IN*' }] }])).toThrow(InvalidFilterCriteriaError);
    expect(withFilters([{ eventName: [{ prefix: 'IN' }] }])).not.toThrow();
  });
});

describe('the stream event source after a restart mid-batch', () => {
  it('delivers the batch in flight again as it was, not with the records written since', async () => {
    const store = new StreamStore({ region: 'us-east-1', accountId: '123456789012' });
    store.enable('t', 'KEYS_ONLY', [{ AttributeName: 'id', KeyType: 'HASH' }]);
    const checkpointFile = join(dir, 'in-flight.jsonl');
    const wide = { ...mapping, batchSize: 3, maximumRetryAttempts: -1 };
    const attempts: string[][] = [];
    const failing = new StreamEventSource({
      streams: store,
      mappings: [wide],
      checkpointFile,
      retryBaseDelayMs: 60_000,
      invoke: async (_fn, event) => {
        attempts.push(eventIdsOf(event));
        throw new Error('the bus is down');
      },
    });
    failing.start();
    store.append('t', [change('a'), change('b')]);
    await waitFor(() => attempts.length === 1, 'the first attempt');
    store.append('t', [change('c')]); // written while the batch waits for its retry
    await failing.stop();

    const batches: string[][] = [];
    const second = new StreamEventSource({
      streams: store,
      mappings: [wide],
      checkpointFile,
      invoke: async (_fn, event) => {
        batches.push(eventIdsOf(event));
        return null;
      },
    });
    second.start();
    await waitFor(() => batches.flat().includes('c'), 'every record after the restart');
    await second.stop();

    expect(attempts).toEqual([['a', 'b']]);
    expect(batches).toEqual([['a', 'b'], ['c']]);
  });
});

describe('the stream event source gathering the writes of one upload', () => {
  const keySchema = [
    { AttributeName: 'device', KeyType: 'HASH' as const },
    { AttributeName: 'n', KeyType: 'RANGE' as const },
  ];
  const keysOf = (device: string, n: number): Item => ({ device: { S: device }, n: { N: String(n) } });
  /** What a batch holds, as `device:n` names. */
  const namesOf = (event: unknown) =>
    z
      .object({
        Records: z.array(
          z.object({
            dynamodb: z.object({
              Keys: z.object({ device: z.object({ S: z.string() }), n: z.object({ N: z.string() }) }),
            }),
          }),
        ),
      })
      .parse(event)
      .Records.map((r) => `${r.dynamodb.Keys.device.S}:${r.dynamodb.Keys.n.N}`);
  const gathering = (store: StreamStore, writesSettle: { quietMs: number; maxMs: number }) => {
    const batches: string[][] = [];
    const source = new StreamEventSource({
      streams: store,
      mappings: [{ ...mapping, batchSize: 10 }],
      writesSettle,
      invoke: async (_fn, event) => {
        batches.push(namesOf(event));
        return null;
      },
    });
    source.start();
    return { source, batches };
  };

  it("reads a batch while another partition's writes are in flight: they do not hold it", async () => {
    let now = Date.now();
    const store = new StreamStore({ region: 'us-east-1', accountId: '123456789012', now: () => now });
    store.enable('t', 'KEYS_ONLY', keySchema);
    // A long quiet period and no limit that a test would reach: only the rule decides when to read.
    const { source, batches } = gathering(store, { quietMs: 60_000, maxMs: 600_000 });
    const written = store.partitionWrites.begin([partitionOf('t', keysOf('a', 1), keySchema)]);
    now -= 120_000; // the write of device a ended two quiet periods ago
    written();
    now += 120_000;
    const busy = store.partitionWrites.begin([partitionOf('t', keysOf('b', 1), keySchema)]);

    store.append('t', [{ eventId: 'a1', keys: keysOf('a', 1), oldImage: undefined, newImage: undefined }]);
    await waitFor(() => batches.length === 1, "device a's batch");
    busy();
    await source.stop();

    expect(batches).toEqual([['a:1']]);
  });

  it("holds a batch while a write to its partition is in flight: an upload's writes are one batch", async () => {
    const store = new StreamStore({ region: 'us-east-1', accountId: '123456789012' });
    store.enable('t', 'KEYS_ONLY', keySchema);
    const items = new Map<string, Item>();
    const capture = new ChangeCapture({
      streams: store,
      journal: new Journal({ decode: (value) => Intent.parse(value) }),
      getItem: async (_table, keys) => items.get(JSON.stringify(keys)),
    });
    // No quiet period: only the write in flight can hold the batch.
    const { source, batches } = gathering(store, { quietMs: 0, maxMs: 600_000 });
    /** A put the test lets finish when it says. */
    const put = (n: number) => {
      let finish = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const keys = keysOf('u', n);
      const done = capture.capture([{ table: 't', keys }], async () => {
        await finished;
        items.set(JSON.stringify(keys), keys);
      });
      return { finish, done };
    };

    const first = put(1);
    const second = put(2);
    first.finish();
    await first.done;
    // Long enough for a settle that did not see the second write in flight to read the first alone.
    await sleep(50);
    second.finish();
    await second.done;
    await waitFor(() => batches.flat().length === 2, 'both records');
    await source.stop();

    expect(batches).toEqual([['u:1', 'u:2']]);
  });
});

describe('a disabled mapping (UpdateEventSourceMapping with Enabled false)', () => {
  it('reads nothing while disabled, keeps its records in the stream, and goes on from its checkpoint once enabled', async () => {
    const store = new StreamStore({ region: 'us-east-1', accountId: '123456789012' });
    store.enable('t', 'KEYS_ONLY', [{ AttributeName: 'id', KeyType: 'HASH' }]);
    const { source, batches } = consumerOf(store, join(dir, 'disabled-checkpoints.jsonl'));
    store.append('t', [change('a')]);
    await waitFor(() => batches.flat().length === 1, 'the record before the mapping is disabled');

    source.setEnabled('consumer', false);
    store.append('t', [change('b'), change('c')]);
    await sleep(200);
    expect(batches.flat()).toEqual(['a']);
    // What a measurement waits for counts the enabled mappings only.
    expect(source.idle()).toBe(true);

    source.setEnabled('consumer', true);
    await waitFor(() => batches.flat().length === 3, 'the records written while it was disabled');
    expect(source.idle()).toBe(true);
    await source.stop();
    expect(batches.flat()).toEqual(['a', 'b', 'c']);
  });
});
