import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { ErrorDetail } from '../../schemas/error.ts';
import { BatchEnvelope, MAX_FUTURE_SKEW_MS, Reading } from '../../schemas/reading.ts';
import { mapWithLimit } from '../lib/concurrency.ts';
import {
  detailsOf,
  ForbiddenError,
  prototypeKeyDetail,
  ValidationError,
  validationError,
} from '../lib/errors.ts';
import type { PublishOutcome } from '../lib/events.ts';
import { canonicalTimestamp, readingIdOf } from '../lib/ids.ts';
import { readingRecordedEntry } from '../lib/reading-events.ts';
import { outboxShardOf, type ReadingItem, type SaveOutcome } from '../lib/readings-store.ts';

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

export interface AcceptedItem {
  readonly index: number;
  readonly status: 202;
  readonly readingId: string;
  readonly deviceId: string;
  readonly timestamp: string;
  readonly duplicate: boolean;
}
export interface RejectedItem {
  readonly index: number;
  readonly status: 400 | 503;
  readonly error: { code: string; message: string; details?: ErrorDetail[] };
}
export type ItemResult = AcceptedItem | RejectedItem;

export interface IngestAnswer {
  readonly statusCode: 202 | 207 | 400 | 503;
  readonly body: unknown;
}

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
  const prototypeKey = prototypeKeyDetail(input, prefix);
  if (prototypeKey) return [prototypeKey];
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
 * store each reading with a conditional put (a repeat is answered `duplicate` and changes
 * nothing), announce the new ones on the bus, then clear their outbox marks. A reading that
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
  const firstOfKey = new Map<string, ReadingItem>();
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
    const repeatInBatch = firstOfKey.has(readingId);
    if (!repeatInBatch) firstOfKey.set(readingId, item);
    return { index, item, repeatInBatch };
  });

  const saved = await mapWithLimit(items, STORE_CONCURRENCY, async ({ index, item, repeatInBatch }) => {
    if (repeatInBatch) return { index, item, outcome: 'duplicate' as const };
    try {
      return { index, item, outcome: await deps.saveIfAbsent(item) };
    } catch (error) {
      deps.warn('Reading could not be stored', {
        deviceId: item.deviceId,
        timestamp: item.timestamp,
        error,
      });
      return { index, item, outcome: 'failed' as const };
    }
  });

  const stored = saved.filter((s) => s.outcome === 'stored').map((s) => s.item);
  await announce(stored, deps);

  for (const { index, item, outcome } of saved) {
    results[index] =
      outcome === 'failed'
        ? {
            index,
            status: 503,
            error: { code: 'StoreUnavailable', message: 'The reading could not be stored; retry it' },
          }
        : {
            index,
            status: 202,
            readingId: item.readingId,
            deviceId: item.deviceId,
            timestamp: item.timestamp,
            duplicate: outcome === 'duplicate',
          };
  }

  return answer(results, isBatch);
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
      deviceId: item?.deviceId,
      timestamp: item?.timestamp,
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
        deviceId: item.deviceId,
        timestamp: item.timestamp,
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
    if (only && only.status === 202) {
      const { index: _index, status: _status, ...item } = only;
      return { statusCode: 202, body: item };
    }
    return {
      statusCode: 503,
      body: { error: only && 'error' in only ? only.error : { code: 'InternalError', message: '' } },
    };
  }
  const body = { accepted: accepted.length, rejected: failed.length, results };
  if (failed.length === 0) return { statusCode: 202, body };
  if (accepted.length === 0 && failed.every((r) => r.status === 503)) return { statusCode: 503, body };
  return { statusCode: 207, body };
};
