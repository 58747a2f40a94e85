import { performance } from 'node:perf_hooks';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithLimit } from '../../handlers/lib/concurrency.ts';
import { tables } from '../../infra/topology.ts';
import { edgeDynamo, startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';

/** One way of loading a chart's history: how many requests, bytes and milliseconds it took. */
export interface HistoryLoad {
  readonly what: string;
  readonly requests: number;
  readonly bytes: number;
  readonly ms: number;
  readonly items: number;
}

export interface HistoryBench {
  readonly days: number;
  readonly intervalSeconds: number;
  readonly readings: number;
  /** How the history was generated, and how long the rollups took to catch up with it. */
  readonly seedMs: number;
  readonly rollupsMs: number;
  readonly loads: readonly HistoryLoad[];
  /** Bytes of the aggregates (6 h buckets) over bytes of the raw readings. */
  readonly byteRatio: number;
}

const BATCH_WRITE_MAX = 25;

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
 * A 30-day chart's history for a device reporting every `intervalSeconds`: the readings are
 * seeded straight into the readings table with BatchWriteItem (as ingest stores them, 25 a
 * request), which is far faster than posting them and still goes through the real rollup path:
 * the table's stream feeds the rollups consumer. Then the chart's load is measured from the
 * rollups (6 h and 1 h buckets) and from the raw readings (pages of 1,000).
 */
export const measureHistoryLoad = async (
  t: TestCloud,
  options: { days: number; intervalSeconds: number; progress: (line: string) => void },
): Promise<HistoryBench> => {
  const deviceId = 'bench-history';
  await t.registerDevice(deviceId, { metrics: { temperature: { unit: '°C' }, humidity: { unit: '%' } } });
  const token = await t.viewerToken([deviceId]);
  const dayMs = 86_400_000;
  const to = Math.floor(Date.now() / dayMs) * dayMs;
  const from = to - options.days * dayMs;
  const count = (options.days * dayMs) / (options.intervalSeconds * 1000);
  const dynamo = edgeDynamo(t.cloud);
  const expiresAt = Math.floor(to / 1000) + 3650 * 86_400;

  options.progress(
    `history: seeding ${count.toLocaleString('en')} readings (${options.days} days every ${options.intervalSeconds} s)`,
  );
  const seedStarted = performance.now();
  const chunks = Array.from({ length: Math.ceil(count / BATCH_WRITE_MAX) }, (_, c) => c);
  await mapWithLimit(chunks, 8, async (c) => {
    const items = Array.from({ length: Math.min(BATCH_WRITE_MAX, count - c * BATCH_WRITE_MAX) }, (_, i) => {
      const index = c * BATCH_WRITE_MAX + i;
      const timestamp = new Date(from + index * options.intervalSeconds * 1000).toISOString();
      return {
        deviceId,
        timestamp,
        metrics: { temperature: 20 + (index % 97) / 10, humidity: 40 + (index % 31) },
        receivedAt: timestamp,
        readingId: `bench-history-${index}`,
        correlationId: `bench-history-${index}`,
        expiresAt,
      };
    });
    let pending: Record<string, unknown>[] = items.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const result = await dynamo.send(
        new BatchWriteCommand({ RequestItems: { [tables.readings.name]: pending } }),
      );
      pending = result.UnprocessedItems?.[tables.readings.name] ?? [];
    }
  });
  const seedMs = performance.now() - seedStarted;

  options.progress('history: waiting for the rollups consumer to catch up');
  const rollupsStarted = performance.now();
  await waitFor(() => t.cloud.streamConsumers.idle(), 'the rollups to catch up', 1_800_000);
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
    seedMs,
    rollupsMs,
    loads: [sixHours, oneHour, raw],
    byteRatio: sixHours.bytes / raw.bytes,
  };
};

/** The bench's lines for the history load. */
export const historyLines = (bench: HistoryBench): string[] => [
  `history: ${bench.days}-day chart of a device reporting every ${bench.intervalSeconds} s (${bench.readings.toLocaleString('en')} readings, seeded with BatchWriteItem in ${(bench.seedMs / 1000).toFixed(1)} s; rollups caught up ${(bench.rollupsMs / 1000).toFixed(1)} s later)`,
  ...bench.loads.map(
    (load) =>
      `  ${load.what.padEnd(26)} ${String(load.requests).padStart(5)} requests ${load.bytes.toLocaleString('en').padStart(13)} bytes ${load.ms.toFixed(0).padStart(8)} ms ${String(load.items).padStart(8)} items`,
  ),
  `  aggregates need ${(bench.byteRatio * 100).toFixed(3)} % of the raw readings' bytes (target ≤ 1 %)`,
];

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
    return await measureHistoryLoad(t, {
      days: options.quick ? 2 : 30,
      intervalSeconds: 10,
      progress: options.progress,
    });
  } finally {
    await t.stop();
  }
};
