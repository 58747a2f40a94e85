import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { ErrorDetail } from '../../schemas/error.ts';
import { BatchEnvelope, type IngestItemResult, MAX_FUTURE_SKEW_MS, Reading } from '../../schemas/reading.ts';
import { mapWithLimit } from '../lib/concurrency.ts';
import { detailsOf, ForbiddenError, ValidationError, validationError } from '../lib/errors.ts';
import type { PublishOutcome } from '../lib/events.ts';
import { canonicalTimestamp, readingIdOf } from '../lib/ids.ts';
import { shapeProblem } from '../lib/json-shape.ts';
import { readingLogKeys } from '../lib/logger.ts';
import { readingRecordedEntry } from '../lib/reading-events.ts';
import {
  outboxShardOf,
  type ReadingItem,
  type RecordedValues,
  type SaveOutcome,
} from '../lib/readings-store.ts';

/** Conditional puts and mark updates in flight at once for one batch. */
export const STORE_CONCURRENCY = 25;

/** Ports of the ingest use case; adapters live in `handler.ts`. */
export interface IngestDeps {
  saveIfAbsent(item: ReadingItem): Promise<SaveOutcome>;
  clearOutboxMark(key: { deviceId: string; timestamp: string }): Promise<void>;
  publish(entries: PutEventsRequestEntry[]): Promise<PublishOutcome>;
  /** Failures that are repaired later (mark clearing) are reported here, not to the device. */
  warn(message: string, context: Record<string, unknown>): void;
  busName: string;
  now(): Date;
}

export type ItemResult = IngestItemResult;
export type AcceptedItem = Extract<ItemResult, { status: 202 }>;
export type RejectedItem = Exclude<ItemResult, AcceptedItem>;

export interface IngestAnswer {
  readonly statusCode: 202 | 207 | 409 | 503;
  readonly body: unknown;
}

/** What became of one valid reading: stored now, stored before (same values), taken by other values, or not stored. */
type StoreOutcome = 'stored' | 'duplicate' | 'conflict' | 'failed';

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

interface ValidReading {
  readonly index: number;
  readonly reading: Reading;
}

const ownerOf = (item: unknown): unknown =>
  typeof item === 'object' && item !== null && 'deviceId' in item ? item.deviceId : undefined;

/**
 * Validates one reading: the schema, then the clock rule (at most 5 minutes ahead). Returns the
 * field-level details of every problem, or the typed reading.
 */
const validateReading = (input: unknown, now: Date, prefix: PropertyKey[]): Reading | ErrorDetail[] => {
  const badShape = shapeProblem(input, { prototypeKeys: true, prefix });
  if (badShape) return [{ path: badShape.path, message: badShape.message }];
  const parsed = Reading.safeParse(input);
  if (!parsed.success) return detailsOf(parsed.error.issues, prefix);
  const path = [...prefix, 'timestamp'].join('.');
  const canonical = canonicalTimestamp(parsed.data.timestamp);
  if (!/^\d{4}-/.test(canonical)) {
    return [{ path, message: 'must be between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in UTC' }];
  }
  if (Date.parse(canonical) - now.getTime() > MAX_FUTURE_SKEW_MS) {
    return [{ path, message: 'must be at most 5 minutes in the future' }];
  }
  return parsed.data;
};

/**
 * Ingests a single reading or a batch for the device the caller's key belongs to: validate,
 * store each reading with a conditional put (a repeat with the same values is answered
 * `duplicate`, one with other values 409 `Conflict`; neither changes anything), announce the
 * new ones on the bus, then clear their outbox marks. A reading that
 * could not be announced keeps its mark and is re-published by the outbox relay, so the device
 * is acknowledged as soon as its reading is durably stored.
 */
export const ingest = async (
  body: unknown,
  callerDeviceId: string,
  correlationId: string,
  deps: IngestDeps,
): Promise<IngestAnswer> => {
  const now = deps.now();
  const isBatch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'readings' in body;
  let inputs: unknown[];
  if (isBatch) {
    if (Object.hasOwn(body, '__proto__')) {
      throw new ValidationError('Request is not valid', [
        { path: '__proto__', message: 'is not an allowed field name' },
      ]);
    }
    const envelope = BatchEnvelope.safeParse(body);
    if (!envelope.success) throw validationError(envelope.error.issues);
    inputs = envelope.data.readings;
  } else {
    inputs = [body];
  }

  const foreign = inputs.map(ownerOf).find((owner) => typeof owner === 'string' && owner !== callerDeviceId);
  if (foreign !== undefined) {
    throw new ForbiddenError(
      `This API key belongs to device ${callerDeviceId}; it may not post readings of ${String(foreign)}`,
    );
  }

  const valid: ValidReading[] = [];
  const results: ItemResult[] = [];
  inputs.forEach((input, index) => {
    const outcome = validateReading(input, now, isBatch ? ['readings', index] : []);
    if (Array.isArray(outcome)) {
      results[index] = {
        index,
        status: 400,
        error: { code: 'ValidationError', message: 'Reading is not valid', details: outcome },
      };
    } else {
      valid.push({ index, reading: outcome });
    }
  });

  if (valid.length === 0) {
    throw new ValidationError(
      isBatch ? 'No reading of the batch is valid' : 'Reading is not valid',
      results.flatMap((r) => ('error' in r ? (r.error.details ?? []) : [])),
    );
  }

  const receivedAt = now.toISOString();
  const firstOfKey = new Map<string, number>();
  const items = valid.map(({ index, reading }) => {
    const timestamp = canonicalTimestamp(reading.timestamp);
    const readingId = readingIdOf(reading.deviceId, timestamp);
    const item: ReadingItem = {
      deviceId: reading.deviceId,
      timestamp,
      metrics: reading.metrics,
      ...(reading.sequence !== undefined ? { sequence: reading.sequence } : {}),
      receivedAt,
      readingId,
      correlationId,
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
    deps,
  );

  const outcomes = new Map(saved.map(({ index, item, outcome }) => [index, { item, outcome }]));
  for (const { index, item, first } of items) {
    const prefix = isBatch ? ['readings', index] : [];
    const earlier = first === undefined ? undefined : outcomes.get(first);
    const differs = earlier !== undefined && !sameValues(item, earlier.item);
    results[index] = itemResult(
      index,
      item,
      earlier ? repeatOutcome(earlier.outcome, differs) : (outcomes.get(index)?.outcome ?? 'failed'),
      prefix,
      differs ? first : undefined,
    );
  }

  return answer(results, isBatch);
};

/**
 * What a later item of a batch repeating an earlier one's key comes to: a conflict when its
 * values differ, else what the earlier item came to (a duplicate of it when that was stored).
 */
const repeatOutcome = (earlier: StoreOutcome, differs: boolean): StoreOutcome =>
  differs ? 'conflict' : earlier === 'stored' ? 'duplicate' : earlier;

const itemResult = (
  index: number,
  item: ReadingItem,
  outcome: StoreOutcome,
  prefix: readonly PropertyKey[],
  repeatOf: number | undefined,
): ItemResult => {
  switch (outcome) {
    case 'failed':
      return {
        index,
        status: 503,
        error: {
          code: 'StoreUnavailable',
          message: 'The reading could not be stored; retry it',
          details: [],
        },
      };
    case 'conflict':
      return {
        index,
        status: 409,
        error: {
          code: 'Conflict',
          message: `A reading of ${item.deviceId} at ${item.timestamp} is already recorded with other values`,
          details: [
            {
              path: [...prefix, 'timestamp'].join('.'),
              message:
                repeatOf === undefined
                  ? 'already names a stored reading with other metrics or sequence'
                  : `repeats the timestamp of readings.${repeatOf} with other metrics or sequence`,
            },
          ],
        },
      };
    default:
      return {
        index,
        status: 202,
        readingId: item.readingId,
        deviceId: item.deviceId,
        timestamp: item.timestamp,
        duplicate: outcome === 'duplicate',
      };
  }
};

/** Publishes `ReadingRecorded` for newly stored readings and clears the marks of those the bus accepted. */
const announce = async (stored: readonly ReadingItem[], deps: IngestDeps): Promise<void> => {
  if (stored.length === 0) return;
  const outcome = await deps.publish(
    stored.map((item) => readingRecordedEntry(item, deps.busName, deps.now())),
  );
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

const answer = (results: ItemResult[], isBatch: boolean): IngestAnswer => {
  const accepted = results.filter((r): r is AcceptedItem => r.status === 202);
  const failed = results.filter((r): r is RejectedItem => r.status !== 202);
  if (!isBatch) {
    const only = results[0];
    if (only === undefined) throw new Error('A single reading came to no result');
    if (only.status === 202) {
      const { index: _index, status: _status, ...item } = only;
      return { statusCode: 202, body: item };
    }
    if (only.status === 400) throw new ValidationError(only.error.message, only.error.details);
    return { statusCode: only.status, body: { error: only.error } };
  }
  const body = { accepted: accepted.length, rejected: failed.length, results };
  if (failed.length === 0) return { statusCode: 202, body };
  if (accepted.length === 0 && failed.every((r) => r.status === 503)) return { statusCode: 503, body };
  return { statusCode: 207, body };
};
