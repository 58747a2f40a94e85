import { ReadingRecorded } from '../../schemas/events.ts';
import { buildEntry, entriesOfRuns, type ItemsEntry } from './events.ts';
import { readingSetIdOf } from './ids.ts';
import type { ReadingItem } from './readings-store.ts';

/** The upload a stored reading came in; a reading stored before uploads were recorded is its own. */
export const uploadIdOf = (item: ReadingItem): string => item.uploadId ?? item.readingId;

/** Stored readings oldest first, each timestamp once. */
const oldestFirst = (items: readonly ReadingItem[]): ReadingItem[] => {
  const byTimestamp = new Map(items.map((item) => [item.timestamp, item]));
  return [...byTimestamp.values()].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
};

/**
 * The announcement of stored readings of one upload of one device: `ReadingRecorded` v2 entries,
 * oldest first, split into runs when one entry would exceed a billed 64 KB chunk. The same
 * readings always make the same events with the same ids, so an announcement repeated (a stream
 * batch retried) is dropped by consumers as a repeat.
 */
export const readingRecordedEntries = (
  items: readonly ReadingItem[],
  options: { busName: string; producedAt: Date; watched: boolean },
): ItemsEntry<ReadingItem>[] => {
  const first = items[0];
  if (!first) return [];
  const strangers = items.filter(
    (item) => item.deviceId !== first.deviceId || uploadIdOf(item) !== uploadIdOf(first),
  );
  if (strangers.length > 0)
    throw new RangeError('One announcement carries readings of one upload of one device');
  return entriesOfRuns(oldestFirst(items), (run) =>
    buildEntry(ReadingRecorded, {
      busName: options.busName,
      idempotencyKey: `upload/${first.deviceId}/${readingSetIdOf(run.map((item) => item.readingId))}`,
      correlationId: first.correlationId,
      producedAt: options.producedAt.toISOString(),
      time: first.receivedAt,
      data: {
        deviceId: first.deviceId,
        uploadId: uploadIdOf(first),
        receivedAt: first.receivedAt,
        watched: options.watched,
        readings: run.map((item) => ({
          readingId: item.readingId,
          timestamp: item.timestamp,
          metrics: item.metrics,
          ...(item.sequence !== undefined ? { sequence: item.sequence } : {}),
        })),
      },
    }),
  );
};
