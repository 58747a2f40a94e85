import type { PublishOutcome } from '../lib/events.ts';
import type { ReadingItem } from '../lib/readings-store.ts';

/** Ports of the relay; `Entry` is whatever the bus adapter publishes, built by `entryOf`. */
export interface RelayDeps<Entry> {
  pendingOutbox(olderThan: string, limitPerShard: number): Promise<ReadingItem[]>;
  claimOutbox(item: ReadingItem, now: string): Promise<boolean>;
  clearOutboxMark(key: { deviceId: string; timestamp: string }): Promise<void>;
  publish(entries: Entry[]): Promise<PublishOutcome>;
  /** The announcement of a stored reading; throws when the item cannot be announced. */
  entryOf(item: ReadingItem, producedAt: Date): Entry;
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

/**
 * Re-publishes every reading whose outbox mark is older than `minAgeSeconds`: the ones whose
 * `ReadingRecorded` never reached the bus (bus down, process killed between store and emit).
 * The event is rebuilt with the same `eventId`, so a reading published twice is deduped downstream;
 * each reading is claimed first, so concurrent runs do not both publish it.
 */
export const relay = async <Entry>(deps: RelayDeps<Entry>): Promise<RelayReport> => {
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
    const entries: Entry[] = [];
    const publishable: ReadingItem[] = [];
    for (const item of pending) {
      try {
        entries.push(deps.entryOf(item, deps.now()));
        publishable.push(item);
      } catch (error) {
        deps.warn('Stored reading cannot be announced; left marked for a person to look at', {
          readingId: item.readingId,
          error,
        });
      }
    }
    const outcome = await deps.publish(entries);
    for (const { index, error } of outcome.failed) {
      const item = publishable[index];
      if (item) seen.add(item.readingId);
      deps.warn('Relay could not publish ReadingRecorded; will retry next run', {
        readingId: item?.readingId,
        error,
      });
    }
    failed += outcome.failed.length;
    await Promise.all(
      outcome.accepted.map(async (index) => {
        const item = publishable[index];
        if (!item) return;
        await deps.clearOutboxMark(item);
        republished++;
      }),
    );
    if (outcome.accepted.length === 0) break;
  }
  return { republished, failed };
};
