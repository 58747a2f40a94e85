import * as z from 'zod/mini';
import { valueSize } from './dynamo-size.ts';

/**
 * Bytes an hour item's packed readings may reach. An UpdateItem is billed on the larger of the
 * item before and after it, in 1 KB write units
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html#write-operation-consumption):
 * the budget bounds what one append costs (8 WRU at most), while an hour of a reading a minute
 * with a few metrics stays within it. Readings past it go to reading items of their own.
 */
export const PACKED_HOUR_BYTES = 8 * 1024;

/** Length of an hour item's sort key, `YYYY-MM-DDTHH`: it sorts before every reading timestamp of its hour. */
export const HOUR_KEY_LENGTH = 13;

/** The hour item's sort key of a canonical reading timestamp (`YYYY-MM-DDTHH`). */
export const hourKeyOf = (timestamp: string): string => timestamp.slice(0, HOUR_KEY_LENGTH);

/** Whether a sort key of the readings table names an hour item rather than a reading. */
export const isHourKey = (timestamp: string): boolean => timestamp.length === HOUR_KEY_LENGTH;

/** A reading's key in its hour item's `r` map: `mm:ss.sss`. */
export const slotKeyOf = (timestamp: string): string => timestamp.slice(HOUR_KEY_LENGTH + 1, -1);

/** The reading timestamp an hour item's `r` key stands for. */
export const timestampOfSlot = (hour: string, slot: string): string => `${hour}:${slot}Z`;

/** The instant an hour item's hour ends, in epoch milliseconds. */
export const hourEndMs = (hour: string): number => Date.parse(`${hour}:00:00.000Z`) + 3_600_000;

/** A reading as an hour item packs it: metrics, sequence if any, and the ref of its upload in `u`. */
export interface PackedReading {
  readonly m: Record<string, number>;
  readonly s?: number;
  readonly u: string;
}

/** An upload as an hour item names it once for all its readings. */
export interface PackedUpload {
  readonly id: string;
  /** `receivedAt` of the upload's readings. */
  readonly at: string;
  /** `correlationId` of the upload's readings. */
  readonly c: string;
}

/**
 * An hour item of the readings table: the readings of one device and one UTC hour that uploads
 * packed, one item written per upload instead of one per reading. Once `full` is set it is never
 * unset, and no reading is packed into it any more: the hour's further readings are reading items.
 */
export interface HourItem {
  readonly deviceId: string;
  /** The hour, `YYYY-MM-DDTHH`. */
  readonly timestamp: string;
  readonly r: Record<string, PackedReading>;
  readonly u: Record<string, PackedUpload>;
  /** The estimated size of `r` and `u`, kept by the appends themselves. */
  readonly bytes: number;
  readonly full?: boolean;
  readonly expiresAt?: number;
}

const PackedReadingSchema = /* @__PURE__ */ z.object({
  m: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), /* @__PURE__ */ z.number()),
  s: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
  u: /* @__PURE__ */ z.string(),
});
const PackedUploadSchema = /* @__PURE__ */ z.object({
  id: /* @__PURE__ */ z.string(),
  at: /* @__PURE__ */ z.string(),
  c: /* @__PURE__ */ z.string(),
});
const HourItemSchema = /* @__PURE__ */ z.object({
  deviceId: /* @__PURE__ */ z.string(),
  timestamp: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.length(HOUR_KEY_LENGTH)),
  r: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), PackedReadingSchema),
  u: /* @__PURE__ */ z.record(/* @__PURE__ */ z.string(), PackedUploadSchema),
  bytes: /* @__PURE__ */ z.number(),
  full: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.boolean()),
  expiresAt: /* @__PURE__ */ z.optional(/* @__PURE__ */ z.number()),
});

/** An hour item, validated (from a read, or a stream record's image). */
export const parseHourItem = (item: Record<string, unknown>): HourItem => HourItemSchema.parse(item);

/** The values a packed reading records, to compare a repeat with (`sameValues`). */
export const recordedValuesOf = (
  packed: PackedReading,
): { metrics: Record<string, number>; sequence?: number } => ({
  metrics: packed.m,
  ...(packed.s !== undefined ? { sequence: packed.s } : {}),
});

/** The packed form of a reading, under the ref of its upload. */
export const packedOf = (
  item: { readonly metrics: Readonly<Record<string, number>>; readonly sequence?: number | undefined },
  ref: string,
): PackedReading => ({
  m: { ...item.metrics },
  ...(item.sequence !== undefined ? { s: item.sequence } : {}),
  u: ref,
});

/** The bytes a value adds to an item, as DynamoDB sizes items. */
export const sizeOf = valueSize;

/** The bytes a reading packed under `slot` adds to its hour item. */
export const packedSize = (slot: string, packed: PackedReading): number =>
  1 + Buffer.byteLength(slot) + sizeOf(packed);

/**
 * The short name of an upload in an hour item: the first 8 hex digits of its id, more when
 * another upload of the hour already holds those.
 */
export const uploadRefOf = (
  uploadId: string,
  uploads: Readonly<Record<string, PackedUpload>> = {},
): string => {
  const hex = uploadId.replaceAll('-', '');
  for (let length = 8; length < hex.length; length += 4) {
    const ref = hex.slice(0, length);
    const holder = uploads[ref];
    if (holder === undefined || holder.id === uploadId) return ref;
  }
  return hex;
};
