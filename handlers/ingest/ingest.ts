import { UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import { mapWithLimit } from '../lib/concurrency.ts';
import { canonicalTimestamp, readingIdOf } from '../lib/ids.ts';
import { readingLogKeys } from '../lib/logger.ts';
import type { ReadingItem, RecordedValues, SaveOutcome } from '../lib/readings-store.ts';
import { expiresAtOf } from '../lib/ttl.ts';
import type { ValidReading } from './request.ts';

/** Conditional puts in flight at once for one batch. */
export const STORE_CONCURRENCY = 25;

/** Ports of the ingest use case; adapters live in `handler.ts`. */
export interface IngestDeps {
  saveIfAbsent(item: ReadingItem): Promise<SaveOutcome>;
  /** Failures the device is not told of as such (a reading not stored is answered as failed). */
  warn(message: string, context: Record<string, unknown>): void;
}

/** How long a device nobody watches may buffer readings: the setting `schemas/reading.ts` declares. */
export { UNWATCHED_BUFFER_SECONDS };

/** The `bufferSeconds` of the answer: 0 while a dashboard may be watching the device (it streams), {@link UNWATCHED_BUFFER_SECONDS} otherwise. */
export const bufferSecondsOf = (watched: boolean): number => (watched ? 0 : UNWATCHED_BUFFER_SECONDS);

/** What became of one valid reading: stored now, stored before (same values), taken by other values, or not stored. */
export type StoreOutcome = 'stored' | 'duplicate' | 'conflict' | 'failed';

export interface ReadingOutcome {
  /** The reading's place in the request. */
  readonly index: number;
  readonly item: ReadingItem;
  readonly outcome: StoreOutcome;
  /** For a conflict with an earlier reading of the same batch: that reading's index. */
  readonly repeatOf?: number;
}

/** When and under which correlation id the readings arrived, and how long they are kept. */
export interface IngestContext {
  readonly correlationId: string;
  /** Names this upload on every reading it stores, so the announcer announces them together. */
  readonly uploadId: string;
  readonly receivedAt: Date;
  /** Each reading expires this long after its timestamp (the table's TTL attribute). */
  readonly retentionDays: number;
}

/**
 * Whether a repeat carries the values already recorded for its key. Numbers compare by value,
 * as DynamoDB normalises them (`-0`, `1.0` and `1e0` are stored as `0`, `1`, `1`).
 */
export const sameValues = (a: RecordedValues, b: RecordedValues): boolean => {
  const names = Object.keys(a.metrics);
  return (
    a.sequence === b.sequence &&
    names.length === Object.keys(b.metrics).length &&
    names.every((name) => Object.hasOwn(b.metrics, name) && a.metrics[name] === b.metrics[name])
  );
};

const outcomeOf = (saved: SaveOutcome, item: ReadingItem): StoreOutcome =>
  saved.stored ? 'stored' : sameValues(item, saved.existing) ? 'duplicate' : 'conflict';

/**
 * What a later item of a batch repeating an earlier one's key comes to: a conflict when its
 * values differ, else what the earlier item came to (a duplicate of it when that was stored).
 */
const repeatOutcome = (earlier: StoreOutcome, differs: boolean): StoreOutcome =>
  differs ? 'conflict' : earlier === 'stored' ? 'duplicate' : earlier;

/**
 * Stores each valid reading with a conditional put (a repeat with the same values comes to
 * `duplicate`, one with other values to `conflict`; neither changes anything). Storing is all:
 * each new reading is an INSERT on the readings table's stream, from which the announcer
 * publishes `ReadingRecorded` (the transactional outbox by change data capture), so the device
 * is acknowledged as soon as its reading is durably stored and nothing stored goes unannounced.
 * The readings of one request are of one device (the caller's key). Answers one outcome per
 * reading, in request order.
 */
export const ingest = async (
  readings: readonly ValidReading[],
  context: IngestContext,
  deps: IngestDeps,
): Promise<ReadingOutcome[]> => {
  const receivedAt = context.receivedAt.toISOString();
  const firstOfKey = new Map<string, number>();
  const items = readings.map(({ index, reading }) => {
    const timestamp = canonicalTimestamp(reading.timestamp);
    const readingId = readingIdOf(reading.deviceId, timestamp);
    const item: ReadingItem = {
      deviceId: reading.deviceId,
      timestamp,
      metrics: reading.metrics,
      ...(reading.sequence !== undefined ? { sequence: reading.sequence } : {}),
      receivedAt,
      readingId,
      correlationId: context.correlationId,
      uploadId: context.uploadId,
      expiresAt: expiresAtOf(timestamp, context.retentionDays),
    };
    const first = firstOfKey.get(readingId);
    if (first === undefined) firstOfKey.set(readingId, index);
    return { index, item, first };
  });

  const firsts = items.filter(({ first }) => first === undefined);
  const saved = await mapWithLimit(firsts, STORE_CONCURRENCY, async ({ index, item }) => {
    try {
      return { index, item, outcome: outcomeOf(await deps.saveIfAbsent(item), item) };
    } catch (error) {
      deps.warn('Reading could not be stored', { ...readingLogKeys(item), error });
      return { index, item, outcome: 'failed' as const };
    }
  });

  const outcomes = new Map(saved.map(({ index, item, outcome }) => [index, { item, outcome }]));
  return items.map(({ index, item, first }) => {
    const earlier = first === undefined ? undefined : outcomes.get(first);
    const differs = earlier !== undefined && !sameValues(item, earlier.item);
    return {
      index,
      item,
      outcome: earlier ? repeatOutcome(earlier.outcome, differs) : (outcomes.get(index)?.outcome ?? 'failed'),
      ...(differs && first !== undefined ? { repeatOf: first } : {}),
    };
  });
};
