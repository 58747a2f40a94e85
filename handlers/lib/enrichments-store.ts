import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { EnrichedReading } from '../../schemas/events.ts';
import { mapWithLimit } from './concurrency.ts';
import { groupBy } from './group-by.ts';
import { readingIdOf, readingSetIdOf } from './ids.ts';
import type { ReadingItem } from './readings-store.ts';
import { BUCKET_MS, bucketStartMs } from './rollups.ts';
import { expiresAtOf } from './ttl.ts';

type Enriched = z.infer<typeof EnrichedReading>;

/**
 * An item of the enrichments table: the enrichment of the readings of one device that one
 * execution enriched together (an upload, or the part of it one event carried) and whose
 * timestamps fall in one UTC hour. An upload is then one write per hour its readings span, not one
 * update per reading; a history page reads the items of the hours it covers.
 */
export interface EnrichmentItem {
  readonly deviceId: string;
  /**
   * `<hour start>#<id of the set of readings>`: sorts by hour, so a page's hours are one key range,
   * and is the same for a retried execution, which then overwrites the item it wrote.
   */
  readonly slot: string;
  /** When the execution that wrote the item started: a later `enrichmentError` of a reading is shown beside it, an earlier one is not. */
  readonly startedAt: string;
  /** Epoch seconds when DynamoDB TTL may delete it: the readings' retention after the end of its hour. */
  readonly expiresAt: number;
  /** JSON of `[ms after the hour start, gapSeconds, {<metric>: [value, delta, ratePerMinute, mean, stddev, zScore, anomaly 1|0, samples]}]` per reading. */
  readonly readings: string;
}

const PackedMetric = /* @__PURE__ */ z.tuple([
  /* @__PURE__ */ z.number(),
  /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
  /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
  /* @__PURE__ */ z.number(),
  /* @__PURE__ */ z.number(),
  /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
  /* @__PURE__ */ z.union([/* @__PURE__ */ z.literal(0), /* @__PURE__ */ z.literal(1)]),
  /* @__PURE__ */ z.number(),
]);
const PackedReadings = /* @__PURE__ */ z.array(
  /* @__PURE__ */ z.tuple([
    /* @__PURE__ */ z.number(),
    /* @__PURE__ */ z.nullable(/* @__PURE__ */ z.number()),
    /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), PackedMetric),
  ]),
);
const EnrichmentItemSchema = /* @__PURE__ */ z.object({
  deviceId: /* @__PURE__ */ z.string(),
  slot: /* @__PURE__ */ z.string(),
  startedAt: /* @__PURE__ */ z.string(),
  readings: /* @__PURE__ */ z.string(),
});

/**
 * An item of the enrichments table that the workflow's failure branch writes for each reading it
 * gave up on (`statemachines/enrich-reading.asl.json`), under the slot
 * `<hour start>#error/<timestamp>`, so the Query of a page's hours finds it with the enrichments.
 */
const ErrorItemSchema = /* @__PURE__ */ z.object({
  slot: /* @__PURE__ */ z.string(),
  startedAt: /* @__PURE__ */ z.string(),
  enrichmentError: /* @__PURE__ */ z.object({
    error: /* @__PURE__ */ z.string(),
    cause: /* @__PURE__ */ z.string(),
  }),
});

const ERROR_SLOT = '#error/';

const isErrorItem = (item: Record<string, unknown>): boolean =>
  typeof item.slot === 'string' && item.slot.includes(ERROR_SLOT);

const hourStartOf = (timestamp: string): number => bucketStartMs(Date.parse(timestamp), '1h');

const hourKey = (hourStart: number): string => new Date(hourStart).toISOString();

/**
 * Bytes of packed readings an item holds at most: DynamoDB refuses an item over 400 KB, and an
 * hour of 100 readings of 50 long-named metrics packs to about 1 MB.
 */
export const MAX_ITEM_READINGS_BYTES = 300_000;

/** A reading as an item packs it: names once per metric, no repeated keys. */
const packed = (reading: Enriched, hour: number): string =>
  JSON.stringify([
    Date.parse(reading.timestamp) - hour,
    reading.gapSeconds,
    Object.fromEntries(
      Object.entries(reading.metrics).map(([name, m]) => [
        name,
        [m.value, m.delta, m.ratePerMinute, m.mean, m.stddev, m.zScore, m.anomaly ? 1 : 0, m.samples],
      ]),
    ),
  ]);

/** Consecutive runs of an hour's readings whose packed text stays within {@link MAX_ITEM_READINGS_BYTES}. */
const chunksOf = (
  readings: readonly Enriched[],
  hour: number,
): { readings: Enriched[]; texts: string[] }[] => {
  const chunks: { readings: Enriched[]; texts: string[]; bytes: number }[] = [];
  for (const reading of readings) {
    const text = packed(reading, hour);
    const bytes = Buffer.byteLength(text) + 1;
    const last = chunks.at(-1);
    if (last && last.bytes + bytes <= MAX_ITEM_READINGS_BYTES) {
      last.readings.push(reading);
      last.texts.push(text);
      last.bytes += bytes;
    } else chunks.push({ readings: [reading], texts: [text], bytes });
  }
  return chunks;
};

/**
 * The items that store an execution's enriched readings: one per UTC hour of their timestamps (a
 * few when an hour's readings would make an item too large). Names are written once per item,
 * not once per reading, which keeps an hour of readings a few write units. The same readings
 * always make the same items, so a retried execution overwrites what it wrote.
 */
export const enrichmentItemsOf = (
  deviceId: string,
  enriched: readonly Enriched[],
  options: { readonly startedAt: string; readonly retentionDays: number },
): EnrichmentItem[] => {
  const byHour = groupBy(enriched, (reading) => hourStartOf(reading.timestamp));
  return [...byHour].flatMap(([hour, readings]) =>
    chunksOf(readings, hour).map((chunk) => ({
      deviceId,
      slot: `${hourKey(hour)}#${readingSetIdOf(chunk.readings.map((reading) => reading.readingId))}`,
      startedAt: options.startedAt,
      expiresAt: expiresAtOf(hour + BUCKET_MS['1h'], options.retentionDays),
      readings: `[${chunk.texts.join(',')}]`,
    })),
  );
};

/** Each reading of an item with its enrichment as the readings API serves it, by timestamp. */
const unpack = (item: Record<string, unknown>): { startedAt: string; readings: Map<string, Enriched> } => {
  const { deviceId, slot, startedAt, readings } = EnrichmentItemSchema.parse(item);
  const hour = Date.parse(slot.slice(0, slot.indexOf('#')));
  const out = new Map<string, Enriched & { deviceId: string }>();
  for (const [offset, gapSeconds, metrics] of PackedReadings.parse(JSON.parse(readings))) {
    const timestamp = new Date(hour + offset).toISOString();
    out.set(timestamp, {
      readingId: readingIdOf(deviceId, timestamp),
      timestamp,
      gapSeconds,
      metrics: Object.fromEntries(
        Object.entries(metrics).map(
          ([name, [value, delta, ratePerMinute, mean, stddev, zScore, anomaly, samples]]) => [
            name,
            { value, delta, ratePerMinute, mean, stddev, zScore, anomaly: anomaly === 1, samples },
          ],
        ),
      ),
      deviceId,
    });
  }
  return { startedAt, readings: out };
};

/**
 * The readings with their enrichment from the enrichments table's items. A reading enriched by
 * several executions (an upload announced in parts one way, then another) takes the latest one's.
 * Its `enrichmentError` (the latest an execution recorded, from an error item or, for a reading
 * stored before those, from the reading itself) is kept only when recorded by the execution that
 * stored its enrichment or a later one: an execution that gave up after enriching shows both, a
 * later one that enriched (a redrive) clears it. A reading with no item keeps what it holds itself
 * (readings enriched before the table existed).
 */
export const withEnrichments = (
  readings: readonly ReadingItem[],
  items: readonly Record<string, unknown>[],
): ReadingItem[] => {
  const latest = new Map<string, { startedAt: number; enrichment: Record<string, unknown> }>();
  const errors = new Map<string, NonNullable<ReadingItem['enrichmentError']>>();
  for (const item of items) {
    if (isErrorItem(item)) {
      const { slot, startedAt, enrichmentError } = ErrorItemSchema.parse(item);
      const timestamp = slot.slice(slot.indexOf(ERROR_SLOT) + ERROR_SLOT.length);
      const seen = errors.get(timestamp);
      if (!seen || Date.parse(startedAt) > Date.parse(seen.startedAt ?? ''))
        errors.set(timestamp, { error: enrichmentError.error, cause: enrichmentError.cause, startedAt });
      continue;
    }
    const unpacked = unpack(item);
    const startedAt = Date.parse(unpacked.startedAt);
    for (const [timestamp, enrichment] of unpacked.readings) {
      const seen = latest.get(timestamp);
      if (!seen || startedAt > seen.startedAt) latest.set(timestamp, { startedAt, enrichment });
    }
  }
  return readings.map((reading) => {
    const { enrichmentError: own, ...rest } = reading;
    const recorded = errors.get(reading.timestamp);
    const enrichmentError =
      recorded && !(own && Date.parse(own.startedAt ?? '') > Date.parse(recorded.startedAt ?? ''))
        ? recorded
        : own;
    const found = latest.get(reading.timestamp);
    if (!found) return { ...rest, ...(enrichmentError ? { enrichmentError } : {}) };
    const errorStands =
      enrichmentError !== undefined && !(found.startedAt > Date.parse(enrichmentError.startedAt ?? ''));
    return { ...rest, enrichment: found.enrichment, ...(errorStands ? { enrichmentError } : {}) };
  });
};

/** The bounds of the slots of the hours `readings` (oldest first) cover. */
const slotRange = (readings: readonly ReadingItem[]) => {
  const first = readings[0];
  const last = readings.at(-1);
  if (!first || !last) return undefined;
  // `#` is followed by a UUID, all of whose characters sort before `~`.
  return { lo: hourKey(hourStartOf(first.timestamp)), hi: `${hourKey(hourStartOf(last.timestamp))}#~` };
};

/** Item writes in flight at once for one execution, as the per-reading writes it replaced were. */
const WRITES_IN_FLIGHT = 10;

/**
 * The enrichments table's writes: the derivation takes this adapter alone, and its bundle leaves
 * out the stored items' schemas, which only reads parse and which it would otherwise build at
 * init and never use.
 */
export const dynamoEnrichmentWrites = (client: DynamoDBDocumentClient, tableName: string) => ({
  /**
   * Writes (or overwrites, for a retried execution) the items of an execution's enriched readings,
   * a few at a time: an upload of 100 readings an hour apart is 100 items.
   */
  async put(items: readonly EnrichmentItem[]): Promise<void> {
    await mapWithLimit(items, WRITES_IN_FLIGHT, (item) =>
      client.send(new PutCommand({ TableName: tableName, Item: { ...item } })),
    );
  },
});

/** Adapter over the enrichments table: {@link dynamoEnrichmentWrites}, and the reads. */
export const dynamoEnrichments = (client: DynamoDBDocumentClient, tableName: string) => ({
  ...dynamoEnrichmentWrites(client, tableName),

  /**
   * A page of readings (oldest first) with their enrichment: one Query over the hours the page
   * covers (more only past 1 MB of items).
   */
  async attach(deviceId: string, readings: readonly ReadingItem[]): Promise<ReadingItem[]> {
    const range = slotRange(readings);
    if (!range) return [...readings];
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'deviceId = :d AND slot BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':d': deviceId, ':lo': range.lo, ':hi': range.hi },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return withEnrichments(readings, items);
  },
});

export type EnrichmentsStore = ReturnType<typeof dynamoEnrichments>;
