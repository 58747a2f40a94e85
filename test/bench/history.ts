import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ingest } from '../../handlers/ingest/ingest.ts';
import { mapWithLimit } from '../../handlers/lib/concurrency.ts';
import { isHourKey } from '../../handlers/lib/hour-items.ts';
import { readingIdOf } from '../../handlers/lib/ids.ts';
import { dynamoReadings } from '../../handlers/lib/readings-store.ts';
import { tables } from '../../infra/topology.ts';
import type { Reading } from '../../schemas/reading.ts';
import { startTestCloud, TEST_RETENTION_DAYS, type TestCloud } from '../support/local-cloud.ts';

/** One way of loading a chart's history: how many requests, bytes and milliseconds it took. */
export interface HistoryLoad {
  readonly what: string;
  readonly requests: number;
  readonly bytes: number;
  readonly ms: number;
  readonly items: number;
}

/** How seeded readings sit in the readings table: items in all, of which hour items. */
export interface SeededItems {
  readonly items: number;
  readonly hourItems: number;
}

export interface HistoryBench {
  readonly days: number;
  readonly intervalSeconds: number;
  readonly readings: number;
  readonly stored: SeededItems;
  /** How long seeding the readings took, and the rollups consumer's invocations over their INSERT records. */
  readonly seedMs: number;
  readonly rollupsMs: number;
  readonly loads: readonly HistoryLoad[];
  /** Bytes of the aggregates (6 h buckets) over bytes of the raw readings. */
  readonly byteRatio: number;
  readonly csv: CsvExportBench;
}

/** What the process's memory did while one CSV export streamed. */
export interface CsvMemory {
  /** The process's resident memory (the local cloud, its Lambda workers and this client) before and at its peak during the export. */
  readonly rssBefore: number;
  readonly rssPeak: number;
  /** The main thread's JavaScript heap (gateway, edge, dynalite) before and at its peak. */
  readonly heapBefore: number;
  readonly heapPeak: number;
  readonly ms: number;
  /** The 1-minute load average of the machine when the export started. */
  readonly loadAverage: number;
}

/**
 * A CSV export streamed through the local cloud twice, each time from a fully collected main
 * heap: once with the main heap collected each second, then once as V8 runs it. V8 lets its old
 * generation grow to a few times the live heap before a full collection, and dynalite's reads
 * (about 5 KB of short-lived objects per item read, all on the main thread) fill it with garbage
 * the scavenger promoted: the growth as V8 runs it is mostly that garbage; the growth with the heap
 * collected each second is what the export holds, the figure held to the target.
 */
export interface CsvExportBench {
  readonly readings: number;
  readonly seedMs: number;
  readonly rows: number;
  readonly bytes: number;
  readonly uncollected: CsvMemory;
  readonly collected: CsvMemory;
}

/**
 * A full collection of the main thread's heap: `global.gc` when node runs with `--expose-gc`,
 * else the same function, exposed in a new context once the flag is set.
 */
const collector = (): (() => void) => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
};

const BATCH_WRITE_MAX = 25;

/** Writes items into a table 25 a request, `concurrency` requests at once, until none is left unprocessed. */
const batchWrite = async (
  dynamo: DynamoDBDocumentClient,
  table: string,
  count: number,
  itemAt: (index: number) => Record<string, unknown>,
  concurrency: number,
): Promise<void> => {
  const chunks = Array.from({ length: Math.ceil(count / BATCH_WRITE_MAX) }, (_, c) => c);
  await mapWithLimit(chunks, concurrency, async (c) => {
    let pending: Record<string, unknown>[] = Array.from(
      { length: Math.min(BATCH_WRITE_MAX, count - c * BATCH_WRITE_MAX) },
      (_, i) => ({ PutRequest: { Item: itemAt(c * BATCH_WRITE_MAX + i) } }),
    );
    while (pending.length > 0) {
      const result = await dynamo.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = result.UnprocessedItems?.[table] ?? [];
    }
  });
};

/** Readings of one upload: the API's largest batch, as a device that buffers an hour posts them. */
const UPLOAD_READINGS = 100;
/** Days of readings seeded at once (each day's uploads one after another, as one device posts them). */
const SEED_CONCURRENCY = 4;

/**
 * Stores a device's readings as ingest stores them for a device nobody watches (which buffers an
 * hour and posts it in uploads of {@link UPLOAD_READINGS}): the ingest use case itself
 * (`handlers/ingest/ingest.ts`) over the readings table's adapter, so each hour's readings are
 * packed in its hour item up to its byte budget and the rest are reading items. It writes straight
 * into dynalite (behind the edge), so no stream record is made: through the edge, the announcer
 * and every consumer would take each upload too.
 */
const seedAsIngested = async (
  t: TestCloud,
  deviceId: string,
  count: number,
  readingAt: (index: number) => Reading,
  readingsPerDay: number,
): Promise<SeededItems> => {
  const dynamo = DynamoDBDocumentClient.from(t.cloud.dynamodb.directClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const failures: string[] = [];
  const deps = {
    ...dynamoReadings(dynamo, tables.readings.name),
    warn: (message: string) => failures.push(message),
  };
  const days = Array.from({ length: Math.ceil(count / readingsPerDay) }, (_, d) => d);
  await mapWithLimit(days, SEED_CONCURRENCY, async (day) => {
    const end = Math.min(count, (day + 1) * readingsPerDay);
    for (let first = day * readingsPerDay; first < end; first += UPLOAD_READINGS) {
      const readings = Array.from({ length: Math.min(UPLOAD_READINGS, end - first) }, (_, i) => ({
        index: i,
        reading: readingAt(first + i),
      }));
      const last = readings.at(-1)?.reading.timestamp ?? '';
      const outcomes = await ingest(
        readings,
        {
          correlationId: randomUUID(),
          uploadId: randomUUID(),
          receivedAt: new Date(last),
          retentionDays: TEST_RETENTION_DAYS,
          watched: false,
        },
        deps,
      );
      const notStored = outcomes.filter(({ outcome }) => outcome !== 'stored');
      if (notStored.length > 0)
        throw new Error(
          `seeding ${deviceId}: ${notStored.length} readings from ${first} not stored (${notStored[0]?.outcome}; ${failures[0] ?? 'no warning'})`,
        );
    }
  });
  const items = await itemsOf(t, deviceId);
  return { items: items.length, hourItems: items.filter((item) => isHourKey(String(item.timestamp))).length };
};

/** Every item of a device's partition of the readings table, in key order, straight from dynalite. */
const itemsOf = async (t: TestCloud, deviceId: string): Promise<Record<string, unknown>[]> => {
  const dynamo = DynamoDBDocumentClient.from(t.cloud.dynamodb.directClient());
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: tables.readings.name,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
};

/** Every page of a query, following `nextCursor`, counting requests and bytes. */
const loadAll = async (t: TestCloud, token: string, what: string, path: string): Promise<HistoryLoad> => {
  const started = performance.now();
  let requests = 0;
  let bytes = 0;
  let items = 0;
  let cursor: string | null = null;
  do {
    const response = await t.api(`${path}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      token,
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${what}: ${response.status} ${text.slice(0, 200)}`);
    requests += 1;
    bytes += Buffer.byteLength(text);
    const page: { items: unknown[]; nextCursor: string | null } = JSON.parse(text);
    items += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return { what, requests, bytes, ms: performance.now() - started, items };
};

/**
 * A 30-day chart's history for a device reporting every `intervalSeconds`, nobody watching it. The
 * readings are seeded straight into dynalite as ingest stores them ({@link seedAsIngested}: hour
 * items, and reading items past an hour item's budget): through the edge, each write also makes
 * its stream record, which seeded 37 readings a second on 2 cores at load average 15, hours for 30
 * days. The items are then handed to the rollups consumer as INSERT records, in batches of its
 * mapping's size and in key order, so the rollups are the consumer's own, folded from the readings
 * the stream would have brought (an hour item's readings read from it as `newReadingsOf` reads
 * them). Then the chart's load is measured from the rollups (6 h and 1 h buckets) and from the
 * raw readings (pages of 1,000).
 */
export const measureHistoryLoad = async (
  t: TestCloud,
  options: { days: number; intervalSeconds: number; progress: (line: string) => void },
): Promise<Omit<HistoryBench, 'csv'>> => {
  const deviceId = 'bench-history';
  await t.registerDevice(deviceId, { metrics: { temperature: { unit: '°C' }, humidity: { unit: '%' } } });
  const token = await t.viewerToken([deviceId]);
  const dayMs = 86_400_000;
  const to = Math.floor(Date.now() / dayMs) * dayMs;
  const from = to - options.days * dayMs;
  const count = (options.days * dayMs) / (options.intervalSeconds * 1000);
  const readingAt = (index: number): Reading => ({
    deviceId,
    timestamp: new Date(from + index * options.intervalSeconds * 1000).toISOString(),
    metrics: { temperature: 20 + (index % 97) / 10, humidity: 40 + (index % 31) },
  });

  options.progress(
    `history: seeding ${count.toLocaleString('en')} readings (${options.days} days every ${options.intervalSeconds} s) straight into dynalite, as ingest stores them`,
  );
  const seedStarted = performance.now();
  const stored = await seedAsIngested(
    t,
    deviceId,
    count,
    readingAt,
    dayMs / (options.intervalSeconds * 1000),
  );
  const seedMs = performance.now() - seedStarted;

  options.progress('history: handing their items to the rollups consumer as INSERT records');
  const rollupsStarted = performance.now();
  const rollups = tables.readings.stream.consumers.find(({ function: name }) => name === 'rollups');
  if (!rollups) throw new Error('history: the readings stream has no rollups consumer');
  const { function: consumer, batchSize } = rollups;
  const items = await itemsOf(t, deviceId);
  for (let first = 0; first < items.length; first += batchSize) {
    const Records = items.slice(first, first + batchSize).map((item, i) => ({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: {
        NewImage: marshall(item),
        SequenceNumber: String(first + i + 1),
        StreamViewType: tables.readings.stream.viewType,
      },
    }));
    const answer = (await t.cloud.lambda.invoke(consumer, { Records })) as {
      batchItemFailures?: unknown[];
    } | null;
    if (answer?.batchItemFailures?.length)
      throw new Error(`history: the rollups consumer failed records of the batch from ${first}`);
  }
  const rollupsMs = performance.now() - rollupsStarted;

  const range = `from=${new Date(from).toISOString()}&to=${new Date(to - 1).toISOString()}`;
  const base = `/devices/${deviceId}/readings?${range}&limit=1000`;
  const sixHours = await loadAll(t, token, 'aggregates, 6 h buckets', `${base}&bucket=6h`);
  const oneHour = await loadAll(t, token, 'aggregates, 1 h buckets', `${base}&bucket=1h`);
  const raw = await loadAll(t, token, 'raw readings', base);
  if (raw.items !== count) throw new Error(`history: ${raw.items} raw readings read back, ${count} seeded`);
  return {
    days: options.days,
    intervalSeconds: options.intervalSeconds,
    readings: count,
    stored,
    seedMs,
    rollupsMs,
    loads: [sixHours, oneHour, raw],
    byteRatio: sixHours.bytes / raw.bytes,
  };
};

/**
 * A CSV export of `readings` readings (one every 10 s) streamed from the local cloud, read as it
 * comes and counted, while the process's memory is sampled: the export must not hold the range.
 * The readings are written with BatchWriteItem straight into dynalite (behind the edge), so no
 * stream records or rollups are made for them: the raw export does not read the rollups. They are
 * stored as a watched device's readings are, an item each: of the ways ingest stores readings, the
 * one with the most items to read for a range (stored as ingest stores an unwatched device's, by
 * its own use case, 100,000 readings took 127 s to seed at load average 7, against 13 to 28 s). The
 * function is warmed first with a one-row export, so its cold start is not counted as growth.
 */
export const measureCsvExport = async (
  t: TestCloud,
  options: { readings: number; progress: (line: string) => void },
): Promise<CsvExportBench> => {
  const deviceId = 'bench-csv';
  await t.registerDevice(deviceId);
  const token = await t.viewerToken([deviceId]);
  const start = Date.parse('2026-01-01T00:00:00.000Z');
  options.progress(
    `csv: seeding ${options.readings.toLocaleString('en')} readings straight into dynalite, an item each`,
  );
  const seedStarted = performance.now();
  await batchWrite(
    DynamoDBDocumentClient.from(t.cloud.dynamodb.directClient()),
    tables.readings.name,
    options.readings,
    (index) => {
      const timestamp = new Date(start + index * 10_000).toISOString();
      return {
        deviceId,
        timestamp,
        metrics: {
          temperature: 20 + (index % 97) / 10,
          humidity: 40 + (index % 31),
          battery: 3.7 - index / 1e6,
        },
        receivedAt: timestamp,
        readingId: readingIdOf(deviceId, timestamp),
        correlationId: `bench-csv-${index}`,
      };
    },
    4,
  );
  const seedMs = performance.now() - seedStarted;

  const path = `/devices/${deviceId}/readings?format=csv`;
  const warm = await t.api(`${path}&to=${new Date(start).toISOString()}`, { token });
  if (warm.status !== 200) throw new Error(`csv: warm-up answered ${warm.status}`);
  await warm.text();

  const collect = collector();
  /** One export read as it comes and counted, the process's memory sampled every 50 ms. */
  const streamOnce = async (collectEachSecond: boolean) => {
    collect();
    const before = process.memoryUsage();
    let rssPeak = before.rss;
    let heapPeak = before.heapUsed;
    const sample = () => {
      const now = process.memoryUsage();
      rssPeak = Math.max(rssPeak, now.rss);
      heapPeak = Math.max(heapPeak, now.heapUsed);
    };
    const sampler = setInterval(sample, 50);
    const collections = collectEachSecond ? setInterval(collect, 1000) : undefined;
    const loadAverage = loadavg()[0] ?? 0;
    const started = performance.now();
    let bytes = 0;
    let rows = 0;
    try {
      const response = await t.api(path, { token });
      if (response.status !== 200 || !response.body)
        throw new Error(`csv: the export answered ${response.status}`);
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        bytes += read.value.byteLength;
        for (const byte of read.value) if (byte === 0x0a) rows += 1;
      }
    } finally {
      clearInterval(sampler);
      clearInterval(collections);
      sample();
    }
    if (rows !== options.readings + 1)
      throw new Error(`csv: ${rows} records read, ${options.readings} readings and a header expected`);
    const memory: CsvMemory = {
      rssBefore: before.rss,
      rssPeak,
      heapBefore: before.heapUsed,
      heapPeak,
      ms: performance.now() - started,
      loadAverage,
    };
    return { rows, bytes, memory };
  };

  // Collected first: memory a heap has grown to stays resident, so the other order would hide growth.
  options.progress('csv: streaming the export, the main heap collected each second');
  const collected = await streamOnce(true);
  options.progress('csv: streaming the export again, as V8 collects it');
  const uncollected = await streamOnce(false);
  return {
    readings: options.readings,
    seedMs,
    rows: collected.rows,
    bytes: collected.bytes,
    uncollected: uncollected.memory,
    collected: collected.memory,
  };
};

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** What a CSV export of 100,000 readings may add to the local cloud's memory (issue 17). */
export const CSV_GROWTH_TARGET_BYTES = 50 * 1048576;

export const csvGrowth = (memory: CsvMemory): number => memory.rssPeak - memory.rssBefore;

const memoryLine = (memory: CsvMemory): string =>
  `local cloud RSS ${mib(memory.rssBefore)} before, ${mib(memory.rssPeak)} at peak: grew ${mib(csvGrowth(memory))}; main heap ${mib(memory.heapBefore)} -> ${mib(memory.heapPeak)}; ${(memory.ms / 1000).toFixed(1)} s, load average ${memory.loadAverage.toFixed(1)}`;

const storedAs = (stored: SeededItems): string =>
  `${stored.items.toLocaleString('en')} items, ${stored.hourItems.toLocaleString('en')} of them hour items`;

/** The bench's lines for the CSV export. */
export const csvLines = (bench: CsvExportBench): string[] => [
  `csv export: ${bench.readings.toLocaleString('en')} readings (an item each, as a watched device's, seeded straight into dynalite in ${(bench.seedMs / 1000).toFixed(1)} s) streamed as ${bench.rows.toLocaleString('en')} records, ${bench.bytes.toLocaleString('en')} bytes, twice from a collected heap`,
  `  main heap collected each second: ${memoryLine(bench.collected)}`,
  `    target < 50 MiB of growth: ${csvGrowth(bench.collected) < CSV_GROWTH_TARGET_BYTES ? 'met' : 'NOT met'}`,
  `  as V8 collects it (its old generation holds dynalite's garbage until a full collection): ${memoryLine(bench.uncollected)}`,
];

/** The bench's lines for the history load. */
export const historyLines = (bench: HistoryBench): string[] => [
  ...csvLines(bench.csv),
  `history: ${bench.days}-day chart of a device reporting every ${bench.intervalSeconds} s (${bench.readings.toLocaleString('en')} readings, ${storedAs(bench.stored)}, seeded straight into dynalite as ingest stores them in ${(bench.seedMs / 1000).toFixed(1)} s; the rollups consumer folded those items' INSERT records in ${(bench.rollupsMs / 1000).toFixed(1)} s)`,
  ...bench.loads.map(
    (load) =>
      `  ${load.what.padEnd(26)} ${String(load.requests).padStart(5)} requests ${load.bytes.toLocaleString('en').padStart(13)} bytes ${load.ms.toFixed(0).padStart(8)} ms ${String(load.items).padStart(8)} items`,
  ),
  `  aggregates need ${(bench.byteRatio * 100).toFixed(3)} % of the raw readings' bytes (target ≤ 1 %)`,
];

/** Readings the CSV export bench streams, --quick or not: the figure the issue asks for. */
const CSV_READINGS = 100_000;

/**
 * The history bench on a local cloud of its own, after the others (its seeding would load the
 * cores they measure): 30 days every 10 s, or 2 days with `--quick`.
 */
export const runHistoryBench = async (options: {
  quick: boolean;
  progress: (line: string) => void;
}): Promise<HistoryBench> => {
  const t = await startTestCloud();
  try {
    const csv = await measureCsvExport(t, { readings: CSV_READINGS, progress: options.progress });
    const load = await measureHistoryLoad(t, {
      days: options.quick ? 2 : 30,
      intervalSeconds: 10,
      progress: options.progress,
    });
    return { ...load, csv };
  } finally {
    await t.stop();
  }
};
