import { mapWithLimit } from '../lib/concurrency.ts';
import type { EventEntry } from '../lib/events.ts';
import { groupBy } from '../lib/group-by.ts';
import { readingRecordedEntries, uploadIdOf } from '../lib/reading-events.ts';
import type { ReadingItem } from '../lib/readings-store.ts';
import { newReadingsOf } from '../lib/readings-stream.ts';
import { StreamBatch, type StreamRecordLike } from '../lib/stream-batch.ts';
import { isWatched, type WatchingDeps } from '../lib/watching.ts';

/** Ports of the announcer; adapters live in `handler.ts`. */
export interface AnnounceDeps extends WatchingDeps {
  readonly busName: string;
  /** Puts every entry on the bus, or throws (`PublishError`) naming those it could not. */
  publishAll(entries: readonly EventEntry[]): Promise<void>;
  now(): Date;
}

export interface AnnounceReport {
  readonly uploads: number;
  readonly readings: number;
  readonly events: number;
}

/** Devices looked up at once for one batch. */
const LOOKUP_CONCURRENCY = 25;

/**
 * The readings a batch of the readings table's stream stored ({@link newReadingsOf}). A new image
 * that is not a reading cannot be announced, now or on a retry: it is reported and passed over
 * rather than holding up the readings after it.
 */
export const insertedReadings = (
  records: readonly StreamRecordLike[],
  warn: WatchingDeps['warn'],
): ReadingItem[] =>
  newReadingsOf(records, (record, error) =>
    warn('A new item of the readings table is not a reading; not announced', {
      sequenceNumber: record.dynamodb?.SequenceNumber,
      error,
    }),
  ).map(({ reading }) => reading);

/** Readings grouped by the device and upload they came in, in the order each upload first appears. */
export const uploadsOf = (items: readonly ReadingItem[]): ReadingItem[][] => [
  ...groupBy(items, (item) => `${item.deviceId}/${uploadIdOf(item)}`).values(),
];

/**
 * Announces the readings a stream batch inserted: one `ReadingRecorded` v2 per upload (a few when
 * it is large), built by {@link readingRecordedEntries}, whose event id comes from the set of
 * readings it carries. A batch is retried whole when any event is refused, and the same records
 * make the same uploads and the same ids, so an event that did reach the bus before is dropped by
 * its consumers as a repeat. Each device is looked up once per batch for `watched`.
 */
export const announce = async (
  items: readonly ReadingItem[],
  deps: AnnounceDeps,
): Promise<AnnounceReport> => {
  const uploads = uploadsOf(items);
  const now = deps.now();
  const watched = new Map<string, Promise<boolean>>();
  const watchedNow = (deviceId: string) => {
    const known = watched.get(deviceId);
    if (known) return known;
    const lookup = isWatched(deviceId, now, deps);
    watched.set(deviceId, lookup);
    return lookup;
  };
  const entries = await mapWithLimit(uploads, LOOKUP_CONCURRENCY, async (upload) => {
    const deviceId = upload[0]?.deviceId;
    if (deviceId === undefined) return [];
    const options = { busName: deps.busName, producedAt: now, watched: await watchedNow(deviceId) };
    return readingRecordedEntries(upload, options).map((run) => run.entry);
  });
  const events = entries.flat();
  await deps.publishAll(events);
  return { uploads: uploads.length, readings: items.length, events: events.length };
};

/** One invocation of the announcer: a stream batch in Lambda's DynamoDB event shape, validated at the edge. */
export const announceStreamBatch = (event: unknown, deps: AnnounceDeps): Promise<AnnounceReport> =>
  announce(insertedReadings(StreamBatch.parse(event).Records, deps.warn), deps);
