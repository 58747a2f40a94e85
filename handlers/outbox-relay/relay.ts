import { mapWithLimit } from '../lib/concurrency.ts';
import type { PublishOutcome } from '../lib/events.ts';
import { uploadIdOf } from '../lib/reading-events.ts';
import type { ReadingItem } from '../lib/readings-store.ts';

/** Ports of the relay; adapters live in `handler.ts`. */
export interface RelayDeps {
  pendingOutbox(olderThan: string, limitPerShard: number): Promise<ReadingItem[]>;
  claimOutbox(item: ReadingItem, now: string): Promise<boolean>;
  clearOutboxMark(key: { deviceId: string; timestamp: string }): Promise<void>;
  /**
   * Announces stored readings of one upload of one device, as the ingest does (`ReadingRecorded`
   * v2); `accepted` and `failed` index into `items`. Throws when they cannot be announced at all.
   */
  announce(items: readonly ReadingItem[]): Promise<PublishOutcome>;
  warn(message: string, context: Record<string, unknown>): void;
  now(): Date;
  /** Readings marked more recently than this are left to the ingest call that is still publishing them. */
  minAgeSeconds: number;
}

export interface RelayReport {
  readonly republished: number;
  readonly failed: number;
}

const PAGE_PER_SHARD = 100;
const MAX_PASSES = 20;
/** Uploads announced at once by one relay run. */
const ANNOUNCE_CONCURRENCY = 10;

/** Readings grouped by the upload they came in, so each upload is announced as the ingest would have. */
const byUpload = (items: readonly ReadingItem[]): ReadingItem[][] => {
  const groups = new Map<string, ReadingItem[]>();
  for (const item of items) {
    const key = `${item.deviceId}/${uploadIdOf(item)}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups.values()];
};

/**
 * Re-publishes every reading whose outbox mark is older than `minAgeSeconds`: the ones whose
 * `ReadingRecorded` never reached the bus (bus down, process killed between store and emit).
 * Readings are announced grouped by upload, with the function the ingest uses, so the same
 * readings make the same event with the same `eventId` and a reading published twice is deduped
 * downstream; each reading is claimed first, so concurrent runs do not both publish it.
 */
export const relay = async (deps: RelayDeps): Promise<RelayReport> => {
  let republished = 0;
  let failed = 0;
  const seen = new Set<string>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const cutoff = new Date(deps.now().getTime() - deps.minAgeSeconds * 1000).toISOString();
    const candidates = (await deps.pendingOutbox(cutoff, PAGE_PER_SHARD)).filter(
      (item) => !seen.has(item.readingId),
    );
    if (candidates.length === 0) break;
    const claimedAt = deps.now().toISOString();
    const claims = await Promise.all(candidates.map((item) => deps.claimOutbox(item, claimedAt)));
    const pending = candidates.filter((_, i) => claims[i]);
    for (const item of candidates) seen.add(item.readingId);
    if (pending.length === 0) continue;
    let acceptedThisPass = 0;
    // Uploads are announced side by side: one after the other, a backlog of many small uploads
    // (a bus outage) costs a round trip each and outlasts the function's timeout.
    await mapWithLimit(byUpload(pending), ANNOUNCE_CONCURRENCY, async (upload) => {
      let outcome: PublishOutcome;
      try {
        outcome = await deps.announce(upload);
      } catch (error) {
        deps.warn('Stored readings cannot be announced; left marked for a person to look at', {
          readingIds: upload.map((item) => item.readingId),
          error,
        });
        return;
      }
      for (const { index, error } of outcome.failed) {
        deps.warn('Relay could not publish ReadingRecorded; will retry next run', {
          readingId: upload[index]?.readingId,
          error,
        });
      }
      failed += outcome.failed.length;
      acceptedThisPass += outcome.accepted.length;
      await Promise.all(
        outcome.accepted.map(async (index) => {
          const item = upload[index];
          if (!item) return;
          await deps.clearOutboxMark(item);
          republished++;
        }),
      );
    });
    if (acceptedThisPass === 0) break;
  }
  return { republished, failed };
};
