import { mapWithLimit } from '../lib/concurrency.ts';
import { groupBy } from '../lib/group-by.ts';
import {
  type HourItem,
  hourEndMs,
  hourKeyOf,
  PACKED_HOUR_BYTES,
  type PackedUpload,
  packedOf,
  packedSize,
  recordedValuesOf,
  sizeOf,
  slotKeyOf,
  uploadRefOf,
} from '../lib/hour-items.ts';
import { canonicalTimestamp, readingIdOf } from '../lib/ids.ts';
import { readingLogKeys } from '../lib/logger.ts';
import type {
  AppendOutcome,
  HourAppend,
  HourProbe,
  ReadingItem,
  RecordedValues,
  SaveOutcome,
} from '../lib/readings-store.ts';
import { expiresAtOf } from '../lib/ttl.ts';
import type { ValidReading } from './request.ts';

/** Conditional writes in flight at once for one batch. */
export const STORE_CONCURRENCY = 25;

/**
 * Writes one hour's readings may retry when other writers keep changing its hour item under it
 * (each retry follows a refusal that showed what changed, so a few always suffice but for a storm).
 */
const HOUR_ATTEMPTS = 8;

/** Ports of the ingest use case (the readings table's writes, see `readings-store.ts`); adapters live in `handler.ts`. */
export interface IngestDeps {
  saveIfAbsent(item: ReadingItem): Promise<SaveOutcome>;
  readHour(deviceId: string, hour: string, consistent: boolean): Promise<HourItem | undefined>;
  appendToHour(append: HourAppend): Promise<AppendOutcome>;
  createHour(item: HourItem): Promise<boolean>;
  probeHour(deviceId: string, hour: string): Promise<HourProbe>;
  markFull(deviceId: string, hour: string): Promise<HourItem | undefined>;
  /** Failures the device is not told of as such (a reading not stored is answered as failed). */
  warn(message: string, context: Record<string, unknown>): void;
}

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
  /**
   * Whether a dashboard may be watching the device: then it streams a reading an upload, and each
   * goes to a reading item of its own (1 write unit) rather than into a growing hour item.
   */
  readonly watched: boolean;
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

/** What each reading of one hour came to, by timestamp; a reading not in it when its hour failed came to `failed`. */
type HourOutcomes = Map<string, StoreOutcome>;

/** The prefix of `items` whose packed readings fit in `room` bytes, with what they add. */
const fitting = (items: readonly ReadingItem[], ref: string, room: number) => {
  const readings: [string, ReturnType<typeof packedOf>][] = [];
  let bytes = 0;
  for (const item of items) {
    const slot = slotKeyOf(item.timestamp);
    const packed = packedOf(item, ref);
    const size = packedSize(slot, packed);
    if (bytes + size > room) break;
    readings.push([slot, packed]);
    bytes += size;
  }
  return { readings, bytes };
};

/**
 * Stores the readings of one upload that fall in one UTC hour. Unwatched, they go into the hour's
 * item in one conditional write (created if absent); a watched device's readings, those past the
 * item's byte budget, and those of an hour already `full` go to reading items, each with today's
 * conditional put, once the hour item is known to be full: packing appends require it not to be,
 * so from then on its packed readings are frozen and every repeat is found either there or by the
 * put. A reading already packed is a duplicate (or a conflict) as a reading item would be; one
 * packed by this very upload (a write answered lost and retried) is stored.
 *
 * An upload of a lone reading from an unwatched device (one that does not buffer, or a flush of
 * one) is appended only to an hour item already open; where the hour has none, it is stored as a
 * watched device's is, behind an hour item created full. An append is billed on the whole item,
 * a kilobyte of it a write unit (an hour of a reading a minute grows to 6 KB), so packing pays
 * only for several readings at once, and a device that posts each reading would otherwise pay for
 * its hour item again with every reading.
 */
const storeHour = async (
  hour: string,
  /** Whether to read the hour before writing: an hour after an upload's first is most often new. */
  probeFirst: boolean,
  items: readonly ReadingItem[],
  context: IngestContext & {
    readonly receivedAtIso: string;
    /** Whether the hour's readings go to reading items once its item is known full (created so if absent). */
    readonly streams: boolean;
  },
  deps: IngestDeps,
  outcomes: HourOutcomes,
): Promise<void> => {
  const first = items[0];
  if (!first) return;
  const { deviceId } = first;
  const upload: PackedUpload = { id: context.uploadId, at: context.receivedAtIso, c: context.correlationId };
  const expiresAt = expiresAtOf(hourEndMs(hour), context.retentionDays);
  const marker = (r: HourItem['r'] = {}, u: HourItem['u'] = {}, bytes = 0, full = true): HourItem => ({
    deviceId,
    timestamp: hour,
    r,
    u,
    bytes,
    ...(full ? { full: true } : {}),
    expiresAt,
  });
  const { streams } = context;
  let pending = [...items];
  /** What the hour item was when last seen (`null`: absent), or `undefined` when not seen yet. */
  let seen: HourItem | null | undefined;
  /** Whether the hour has reading items, once known: it cannot change while the hour item is absent. */
  let legacy: boolean | undefined;
  const probe = async () => {
    const probed = await deps.probeHour(deviceId, hour);
    legacy = probed.legacy;
    seen = probed.image ?? null;
  };
  const settle = (decided: readonly ReadingItem[], outcome: StoreOutcome) => {
    for (const item of decided) outcomes.set(item.timestamp, outcome);
    const done = new Set(decided);
    pending = pending.filter((item) => !done.has(item));
  };
  /** Answers the readings the item already holds: stored by this upload, else duplicate or conflict. */
  const settleSeen = (image: HourItem) => {
    for (const item of [...pending]) {
      const packed = image.r[slotKeyOf(item.timestamp)];
      if (!packed) continue;
      const outcome: StoreOutcome =
        image.u[packed.u]?.id === context.uploadId
          ? 'stored'
          : sameValues(item, recordedValuesOf(packed))
            ? 'duplicate'
            : 'conflict';
      settle([item], outcome);
    }
  };
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt >= HOUR_ATTEMPTS) throw new Error(`The hour item ${deviceId}/${hour} kept changing; retry`);
    if (seen) settleSeen(seen);
    if (pending.length === 0) return;
    if (seen?.full) {
      const saved = await mapWithLimit(pending, STORE_CONCURRENCY, async (item) => {
        try {
          return { item, outcome: outcomeOf(await deps.saveIfAbsent(item), item) };
        } catch (error) {
          deps.warn('Reading could not be stored', { ...readingLogKeys(item), error });
          return { item, outcome: 'failed' as const };
        }
      });
      for (const { item, outcome } of saved) settle([item], outcome);
      return;
    }
    if (seen === undefined && streams) {
      seen = (await deps.readHour(deviceId, hour, false)) ?? null;
      continue;
    }
    if (seen === undefined && probeFirst && attempt === 0) {
      await probe();
      continue;
    }
    const ref = uploadRefOf(context.uploadId, seen?.u);
    const uploadBytes = seen?.u[ref] ? 0 : 1 + Buffer.byteLength(ref) + sizeOf(upload);
    if (seen === null) {
      // A streaming hour's item is created full whatever the hour holds.
      if (legacy === undefined && !streams) {
        await probe();
        if (seen !== null) continue;
      }
      const batch = streams || legacy ? undefined : fitting(pending, ref, PACKED_HOUR_BYTES - uploadBytes);
      const packed = batch && batch.readings.length > 0 ? batch : undefined;
      // Created full, an hour item is a marker holding no reading; one that packs readings is created
      // open, and set full by the write after when readings are past the budget.
      const item = packed
        ? marker(Object.fromEntries(packed.readings), { [ref]: upload }, packed.bytes + uploadBytes, false)
        : marker();
      if (!(await deps.createHour(item))) {
        seen = (await deps.readHour(deviceId, hour, true)) ?? null;
        continue;
      }
      if (packed) settle(pending.slice(0, packed.readings.length), 'stored');
      seen = item.full
        ? item
        : pending.length > 0
          ? ((await deps.markFull(deviceId, hour)) ?? undefined)
          : undefined;
      continue;
    }
    if (seen && context.watched) {
      seen = (await deps.markFull(deviceId, hour)) ?? undefined;
      continue;
    }
    const room = PACKED_HOUR_BYTES - uploadBytes - (seen?.bytes ?? 0);
    const batch = fitting(pending, ref, room);
    if (batch.readings.length === 0) {
      seen = seen
        ? ((await deps.markFull(deviceId, hour)) ?? undefined)
        : ((await deps.readHour(deviceId, hour, true)) ?? null);
      continue;
    }
    const appended = await deps.appendToHour({
      deviceId,
      hour,
      readings: batch.readings,
      ref,
      upload,
      bytes: batch.bytes + uploadBytes,
    });
    if (appended.appended) {
      settle(pending.slice(0, batch.readings.length), 'stored');
      // What did not fit in the room left does not fit at all: the rest of the hour is reading items.
      if (pending.length > 0) seen = (await deps.markFull(deviceId, hour)) ?? undefined;
      continue;
    }
    seen = appended.image ?? null;
    // Refused for the budget alone (no slot taken, room seen): the item's `bytes` grew since.
  }
};

/**
 * Stores each valid reading (a repeat with the same values comes to `duplicate`, one with other
 * values to `conflict`; neither changes anything): the readings of each UTC hour in one write to
 * the hour's item when nobody watches the device, else each in a reading item, as is a lone
 * reading whose hour has no open item (see {@link storeHour}). Storing is all: each new reading
 * is an INSERT or MODIFY on the readings table's stream, from which the announcer publishes
 * `ReadingRecorded` (the transactional outbox
 * by change data capture), so the device is acknowledged as soon as its reading is durably stored
 * and nothing stored goes unannounced. The readings of one request are of one device (the
 * caller's key). Answers one outcome per reading, in request order.
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

  /** Each reading's first occurrence in the request: the ones to store. */
  const toStore = items.filter(({ first }) => first === undefined);
  const byHour = groupBy(
    toStore.map(({ item }) => item),
    (item) => hourKeyOf(item.timestamp),
  );
  const stored: HourOutcomes = new Map();
  const hourContext = {
    ...context,
    receivedAtIso: receivedAt,
    streams: context.watched || toStore.length === 1,
  };
  const firstHour = [...byHour.keys()].sort()[0];
  await mapWithLimit([...byHour], STORE_CONCURRENCY, async ([hour, hourItems]) => {
    try {
      await storeHour(hour, hour !== firstHour, hourItems, hourContext, deps, stored);
    } catch (error) {
      const first = hourItems[0];
      if (first)
        deps.warn('Readings of an hour could not be stored', { ...readingLogKeys(first), hour, error });
    }
  });

  const outcomes = new Map(
    toStore.map(({ index, item }) => [
      index,
      { item, outcome: stored.get(item.timestamp) ?? ('failed' as const) },
    ]),
  );
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
