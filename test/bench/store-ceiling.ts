import { randomUUID } from 'node:crypto';
import { createHistogram, performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { putIfAbsent } from '../../handlers/lib/dynamo.ts';
import { readingIdOf } from '../../handlers/lib/ids.ts';
import type { ReadingItem } from '../../handlers/lib/readings-store.ts';
import { tables } from '../../infra/topology.ts';
import { type EdgeAccess, edgeClientConfig } from '../support/local-cloud.ts';
import { cpuWindow } from './cpu.ts';
import { latencyOf, type Measurement, measurement, recordMs } from './measurement.ts';
import { readingAt } from './readings.ts';

/** A hard cap on the calls of one run, on top of its duration. */
const MAX_CALLS = 5_000_000;
/** The run is broken, not slow, past this many failed calls. */
const MAX_ERRORS = 100;

export interface StoreCeilingOptions {
  readonly edge: EdgeAccess;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** Items go to this device's partition of the readings table, apart from the ingest devices. */
  readonly deviceId: string;
  readonly epochMs: number;
}

export interface StoreCeilingResult {
  readonly measurement: Measurement;
  /** Puts that stored an item, warm-up included: the table must hold exactly as many. */
  readonly storedItems: number;
}

/**
 * The storage ceiling: conditional PutItem (`attribute_not_exists`) of reading-shaped items, C calls
 * in flight, through the same `putIfAbsent` and DocumentClient options as the ingest handler, to
 * the local cloud's edge and on to dynalite. Every item has a new key, so every put really stores,
 * as a new reading does (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).
 */
export const measureStoreCeiling = async (options: StoreCeilingOptions): Promise<StoreCeilingResult> => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(edgeClientConfig(options.edge)), {
    marshallOptions: { removeUndefinedValues: true },
  });
  let nextIndex = 0;
  let storedItems = 0;

  const itemAt = (index: number): ReadingItem => {
    const reading = readingAt(options.deviceId, options.epochMs, index);
    const readingId = readingIdOf(reading.deviceId, reading.timestamp);
    const receivedAt = new Date().toISOString();
    return {
      deviceId: reading.deviceId,
      timestamp: reading.timestamp,
      metrics: reading.metrics,
      ...(reading.sequence !== undefined ? { sequence: reading.sequence } : {}),
      receivedAt,
      readingId,
      correlationId: randomUUID(),
    };
  };

  const histogram = createHistogram();
  let measuredStored = 0;
  let measuredFailures = 0;
  let calls = 0;
  let errors = 0;
  let lastError: unknown;
  const started = performance.now();
  const measureFrom = started + options.warmupSeconds * 1000;
  const measureTo = measureFrom + options.durationSeconds * 1000;
  const cpu = cpuWindow();
  const cpuTimers = [
    setTimeout(() => cpu.start(), measureFrom - started),
    setTimeout(() => cpu.stop(), measureTo - started),
  ];

  /** One call in flight at a time; C lanes keep C calls in flight until the measured span ends. */
  const lane = async () => {
    while (performance.now() < measureTo && calls < MAX_CALLS && errors < MAX_ERRORS) {
      calls++;
      const item = itemAt(nextIndex++);
      const sent = performance.now();
      let created: boolean;
      try {
        created = await putIfAbsent(client, tables.readings.name, { ...item }, 'deviceId');
      } catch (error) {
        errors++;
        lastError = error;
        continue;
      }
      const answered = performance.now();
      if (created) storedItems++;
      if (answered < measureFrom || answered > measureTo) continue;
      recordMs(histogram, answered - sent);
      if (created) measuredStored++;
      else measuredFailures++;
    }
  };

  try {
    await Promise.all(Array.from({ length: options.connections }, lane));
    cpu.stop();
    if (errors >= MAX_ERRORS) throw new Error(`PutItem failed ${errors} times`, { cause: lastError });
    return {
      measurement: measurement({
        label: 'storage: conditional PutItem',
        durationSeconds: options.durationSeconds,
        requests: measuredStored + measuredFailures,
        items: measuredStored,
        latency: latencyOf(histogram),
        failures: measuredFailures,
        errors,
        mainCpuMs: cpu.cpuMs,
      }),
      storedItems,
    };
  } finally {
    for (const timer of cpuTimers) clearTimeout(timer);
    client.destroy();
  }
};
