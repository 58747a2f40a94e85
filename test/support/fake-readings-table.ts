import { marshall } from '@aws-sdk/util-dynamodb';
import type { IngestDeps } from '../../handlers/ingest/ingest.ts';
import { type HourItem, isHourKey, PACKED_HOUR_BYTES } from '../../handlers/lib/hour-items.ts';
import { type ReadingItem, readingsOfItems } from '../../handlers/lib/readings-store.ts';
import type { StreamRecordLike } from '../../handlers/lib/stream-batch.ts';

type StorePorts = Omit<IngestDeps, 'warn'>;

/**
 * The readings table in memory, with the conditions of `readings-store.ts`'s writes and a stream of
 * records in Lambda's DynamoDB event shape (view type `NEW_AND_OLD_IMAGES`), as DynamoDB would
 * write them: a write that changes nothing makes no record. `fail` makes a write throw, as a
 * throttled or unreachable table would, for the readings of an hour or a reading's timestamp.
 */
export const fakeReadingsTable = (fail: { hour?: string; timestamp?: string } = {}) => {
  const items = new Map<string, Record<string, unknown>>();
  const stream: StreamRecordLike[] = [];
  const writes: string[] = [];
  let sequence = 0;
  const keyOf = (deviceId: string, timestamp: string) => `${deviceId}|${timestamp}`;
  const copy = <T>(value: T): T => structuredClone(value);
  const write = (key: string, item: Record<string, unknown>) => {
    const old = items.get(key);
    items.set(key, copy(item));
    sequence += 1;
    stream.push({
      eventName: old ? 'MODIFY' : 'INSERT',
      dynamodb: {
        NewImage: marshall(item, { removeUndefinedValues: true }),
        ...(old ? { OldImage: marshall(old, { removeUndefinedValues: true }) } : {}),
        SequenceNumber: String(sequence),
      },
    });
  };
  const hourOf = (deviceId: string, hour: string) => {
    const item = items.get(keyOf(deviceId, hour));
    return item ? (copy(item) as unknown as HourItem) : undefined;
  };
  const failing = (what: string, hour: string) => {
    if (fail.hour === hour) throw new Error(`${what}: throttled`);
  };
  const ports: StorePorts = {
    async saveIfAbsent(item) {
      writes.push(`put ${item.timestamp}`);
      if (item.timestamp === fail.timestamp) throw new Error('throttled');
      const key = keyOf(item.deviceId, item.timestamp);
      const existing = items.get(key) as ReadingItem | undefined;
      if (existing) return { stored: false, existing };
      write(key, { ...item });
      return { stored: true };
    },
    async readHour(deviceId, hour) {
      return hourOf(deviceId, hour);
    },
    async appendToHour(append) {
      writes.push(`append ${append.hour} ${append.readings.length}`);
      failing('append', append.hour);
      const image = hourOf(append.deviceId, append.hour);
      const holder = image?.u[append.ref];
      if (
        !image ||
        image.full ||
        image.bytes > PACKED_HOUR_BYTES - append.bytes ||
        (holder && holder.id !== append.upload.id) ||
        append.readings.some(([slot]) => Object.hasOwn(image.r, slot))
      )
        return { appended: false, image };
      write(keyOf(append.deviceId, append.hour), {
        ...image,
        r: { ...image.r, ...Object.fromEntries(append.readings) },
        u: { ...image.u, [append.ref]: append.upload },
        bytes: image.bytes + append.bytes,
      });
      return { appended: true };
    },
    async createHour(item) {
      writes.push(`create ${item.timestamp}${item.full ? ' full' : ''}`);
      failing('create', item.timestamp);
      const key = keyOf(item.deviceId, item.timestamp);
      if (items.has(key)) return false;
      write(key, { ...item });
      return true;
    },
    async probeHour(deviceId, hour) {
      writes.push(`probe ${hour}`);
      return {
        image: hourOf(deviceId, hour),
        legacy: [...items.keys()].some((key) => key.startsWith(`${deviceId}|${hour}:`)),
      };
    },
    async markFull(deviceId, hour) {
      writes.push(`full ${hour}`);
      failing('full', hour);
      const image = hourOf(deviceId, hour);
      if (!image) return undefined;
      if (!image.full) write(keyOf(deviceId, hour), { ...image, full: true });
      return hourOf(deviceId, hour);
    },
  };
  return {
    ports,
    stream,
    /** Every write (and probe) the ingest made, in order: `put <timestamp>`, `append <hour> <readings>`, `create <hour>`, `full <hour>`, and the reads `probe <hour>`. */
    writes,
    /** The stored items, hour items included. */
    items: () => [...items.values()],
    /** The hour items' keys. */
    hours: () => [...items.values()].filter((item) => isHourKey(String(item.timestamp))),
    /** Every stored reading (hour items flattened), by `deviceId|timestamp`. */
    readings: () =>
      new Map(readingsOfItems([...items.values()]).map((r) => [keyOf(r.deviceId, r.timestamp), r])),
    /** Puts an item as it is, as data written before hour items would be. */
    seed(item: Record<string, unknown>) {
      items.set(keyOf(String(item.deviceId), String(item.timestamp)), copy(item));
    },
  };
};
