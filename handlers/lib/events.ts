import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { z } from 'zod/mini';
import type { EventContract, EventMetadata } from '../../schemas/events.ts';
import { EVENT_BILLING_CHUNK_BYTES, PUT_EVENTS_MAX_BYTES, PUT_EVENTS_MAX_ENTRIES } from './aws-limits.ts';
import { eventIdOf } from './ids.ts';

/**
 * One event for a bus, as the use cases build it and their `publish` ports take it: a PutEvents
 * entry (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_EventEntry.html)
 * without the SDK's types, which only the adapter below hands to the client.
 */
export interface EventEntry {
  readonly EventBusName: string;
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly Time?: Date;
  readonly Resources?: string[];
}

/** Builds one PutEvents entry from an event contract; the detail is validated, never assumed. */
export const buildEntry = <TData extends z.ZodMiniType>(
  contract: EventContract<string, TData>,
  args: {
    busName: string;
    data: z.input<TData>;
    idempotencyKey: string;
    correlationId: string;
    time?: string;
    producedAt: string;
    resources?: string[];
  },
): EventEntry => {
  const metadata: EventMetadata = {
    eventId: eventIdOf(contract.detailType, args.idempotencyKey),
    idempotencyKey: args.idempotencyKey,
    correlationId: args.correlationId,
    schemaVersion: contract.version,
    producedAt: args.producedAt,
  };
  const detail = contract.detail.parse({ metadata, data: args.data });
  return {
    EventBusName: args.busName,
    Source: contract.source,
    DetailType: contract.detailType,
    Detail: JSON.stringify(detail),
    ...(args.time ? { Time: new Date(args.time) } : {}),
    ...(args.resources ? { Resources: args.resources } : {}),
  };
};

/** The size EventBridge counts for an entry (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html). */
export const entrySize = (entry: EventEntry): number =>
  Buffer.byteLength(entry.Detail ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(entry.Source ?? '') +
  (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0) +
  (entry.Time ? 14 : 0);

/** Splits entries into PutEvents calls that respect both the count and the size limit. */
export const chunkEntries = <T>(items: readonly T[], entryOf: (item: T) => EventEntry): T[][] => {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const entry of items) {
    const bytes = entrySize(entryOf(entry));
    if (
      current.length > 0 &&
      (current.length === PUT_EVENTS_MAX_ENTRIES || size + bytes > PUT_EVENTS_MAX_BYTES)
    ) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
};

/** Entries built from runs of `items`, each with the items it carries. */
export interface ItemsEntry<T> {
  readonly entry: EventEntry;
  readonly items: readonly T[];
}

/**
 * Announces ordered items in as few entries as keep each within `maxBytes` (by default one
 * billed 64 KB chunk, so each entry costs one event): all in one entry when they fit, else split
 * into runs of about equal count, each split again until it fits. The same items always give the
 * same runs. A single item larger than `maxBytes` still gets its own entry; one larger than
 * PutEvents takes is an error, as no split can help it.
 */
export const entriesOfRuns = <T>(
  items: readonly T[],
  entryOf: (run: readonly T[]) => EventEntry,
  maxBytes: number = EVENT_BILLING_CHUNK_BYTES,
): ItemsEntry<T>[] => {
  if (items.length === 0) return [];
  const entry = entryOf(items);
  const size = entrySize(entry);
  if (size <= maxBytes || items.length === 1) {
    if (size > PUT_EVENTS_MAX_BYTES)
      throw new RangeError(`One event entry of ${size} bytes exceeds ${PUT_EVENTS_MAX_BYTES}`);
    return [{ entry, items }];
  }
  const parts = Math.min(items.length, Math.ceil(size / maxBytes));
  const runs: ItemsEntry<T>[] = [];
  for (let part = 0; part < parts; part++) {
    const run = items.slice(
      Math.floor((part * items.length) / parts),
      Math.floor(((part + 1) * items.length) / parts),
    );
    runs.push(...entriesOfRuns(run, entryOf, maxBytes));
  }
  return runs;
};

export interface PublishOutcome {
  /** Indexes (into the input) of entries the bus accepted. */
  readonly accepted: number[];
  /** Indexes of entries still not accepted after every attempt, with the last error. */
  readonly failed: { index: number; error: string }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends entries with PutEvents, retrying only the entries that failed (PutEvents is not atomic:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-failures.html), with
 * exponential backoff and full jitter. Never throws: what could not be sent is reported, for the
 * caller to retry or fail with.
 */
export const publishEntries = async (
  client: EventBridgeClient,
  entries: readonly EventEntry[],
  options: { attempts?: number; baseDelayMs?: number } = {},
): Promise<PublishOutcome> => {
  const attempts = options.attempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 25;
  const accepted: number[] = [];
  const lastError = new Map<number, string>();
  let pending = entries.map((entry, index) => ({ entry, index }));

  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    if (attempt > 0) await sleep(Math.random() * baseDelayMs * 2 ** attempt);
    const retry: typeof pending = [];
    await Promise.all(
      chunkEntries(pending, (p) => p.entry).map(async (chunk) => {
        try {
          const result = await client.send(new PutEventsCommand({ Entries: chunk.map((p) => p.entry) }));
          chunk.forEach((item, i) => {
            const outcome = result.Entries?.[i];
            if (outcome?.EventId && !outcome.ErrorCode) {
              accepted.push(item.index);
            } else {
              lastError.set(item.index, `${outcome?.ErrorCode ?? 'Unknown'}: ${outcome?.ErrorMessage ?? ''}`);
              retry.push(item);
            }
          });
        } catch (error) {
          const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          for (const item of chunk) {
            lastError.set(item.index, message);
            retry.push(item);
          }
        }
      }),
    );
    pending = retry;
  }
  return {
    accepted: accepted.sort((a, b) => a - b),
    failed: pending.map(({ index }) => ({ index, error: lastError.get(index) ?? 'unknown' })),
  };
};

/** Why a publish that must succeed did not: the entries the bus still refused after every attempt. */
export class PublishError extends Error {
  constructor(readonly failed: PublishOutcome['failed']) {
    super(`The bus refused ${failed.length} event(s): ${failed.map((f) => f.error).join('; ')}`);
    this.name = new.target.name;
  }
}

/** {@link publishEntries} for a caller that must not answer before every event is on the bus. */
export const publishAll = async (
  client: EventBridgeClient,
  entries: readonly EventEntry[],
): Promise<void> => {
  const outcome = await publishEntries(client, entries);
  if (outcome.failed.length > 0) throw new PublishError(outcome.failed);
};
