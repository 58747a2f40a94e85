import { UNWATCHED_BUFFER_SECONDS } from '../../schemas/reading.ts';
import { mapWithLimit } from '../lib/concurrency.ts';
import type { PublishOutcome } from '../lib/events.ts';
import { canonicalTimestamp, readingIdOf } from '../lib/ids.ts';
import { readingLogKeys } from '../lib/logger.ts';
import {
  outboxShardOf,
  type ReadingItem,
  type RecordedValues,
  type SaveOutcome,
} from '../lib/readings-store.ts';
import type { ValidReading } from './request.ts';

/** Conditional puts and mark updates in flight at once for one batch. */
export const STORE_CONCURRENCY = 25;

/** Ports of the ingest use case; adapters live in `handler.ts`. */
export interface IngestDeps {
  saveIfAbsent(item: ReadingItem): Promise<SaveOutcome>;
  clearOutboxMark(key: { deviceId: string; timestamp: string }): Promise<void>;
  /**
   * Announces newly stored readings of one upload (`ReadingRecorded` v2, in as few events as fit);
   * `accepted` and `failed` index into `items`, each reading by the event that carries it.
   */
  publishRecorded(items: readonly ReadingItem[], watched: boolean): Promise<PublishOutcome>;
  /** Failures that are repaired later (mark clearing) are reported here, not to the device. */
  warn(message: string, context: Record<string, unknown>): void;
  /** Until when a dashboard may be watching the device (ISO time), if one ever subscribed to it. */
  watchedUntil(deviceId: string): Promise<string | undefined>;
}

/** How long a device nobody watches may buffer readings: the setting `schemas/reading.ts` declares. */
export { UNWATCHED_BUFFER_SECONDS };

/**
 * Whether a dashboard may be watching the device now. When the device cannot be looked up, yes:
 * a device told to stream and an upload forwarded to dashboards cost a little more, one told to
 * buffer while watched would freeze a dashboard. Never rejects.
 */
export const isWatched = async (deviceId: string, now: Date, deps: IngestDeps): Promise<boolean> => {
  try {
    const until = await deps.watchedUntil(deviceId);
    return until !== undefined && Date.parse(until) > now.getTime();
  } catch (error) {
    deps.warn('Could not tell whether the device is watched; it is told to stream', { deviceId, error });
    return true;
  }
};

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
  /** Names this upload on every reading it stores, so the relay can announce them together again. */
  readonly uploadId: string;
  readonly receivedAt: Date;
  /** Whether a dashboard may be watching the device ({@link isWatched}); awaited only to announce. */
  readonly watched: PromiseLike<boolean>;
  /** Each reading expires this long after its timestamp (the table's TTL attribute). */
  readonly retentionDays: number;
}

const SECONDS_PER_DAY = 86_400;

/** When DynamoDB TTL may delete a reading: epoch seconds, `retentionDays` after its timestamp. */
export const expiresAtOf = (timestamp: string, retentionDays: number): number =>
  Math.floor(Date.parse(timestamp) / 1000) + retentionDays * SECONDS_PER_DAY;

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
 * `duplicate`, one with other values to `conflict`; neither changes anything), announces the
 * new ones together, as one upload (one `ReadingRecorded` v2, or a few when it is large), then
 * clears their outbox marks. A reading that could not be announced keeps its mark and is
 * re-published by the outbox relay, so the device is acknowledged as soon as its reading is
 * durably stored. The readings of one request are of one device (the caller's key). Answers one
 * outcome per reading, in request order.
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
      outboxShard: outboxShardOf(readingId),
      outboxAt: receivedAt,
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

  await announce(
    saved.filter((s) => s.outcome === 'stored').map((s) => s.item),
    context.watched,
    deps,
  );

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

/** Announces the newly stored readings and clears the marks of those the bus accepted. */
const announce = async (
  stored: readonly ReadingItem[],
  watched: PromiseLike<boolean>,
  deps: IngestDeps,
): Promise<void> => {
  if (stored.length === 0) return;
  const outcome = await deps.publishRecorded(stored, await watched);
  for (const failure of outcome.failed) {
    const item = stored[failure.index];
    deps.warn('ReadingRecorded not accepted by the bus; the outbox relay will re-publish it', {
      ...(item ? readingLogKeys(item) : {}),
      error: failure.error,
    });
  }
  await mapWithLimit(outcome.accepted, STORE_CONCURRENCY, async (i) => {
    const item = stored[i];
    if (!item) return;
    try {
      await deps.clearOutboxMark(item);
    } catch (error) {
      deps.warn('Outbox mark not cleared; the relay will re-publish and consumers dedupe by eventId', {
        ...readingLogKeys(item),
        error,
      });
    }
  });
};
