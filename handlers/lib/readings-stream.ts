import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isHourKey, parseHourItem } from './hour-items.ts';
import { parseReadingItem, type ReadingItem, readingsOfHour } from './readings-store.ts';
import type { StreamRecordLike } from './stream-batch.ts';

/** A reading a stream record brought, with the record's sequence number. */
export interface NewReading {
  readonly reading: ReadingItem;
  readonly sequenceNumber: string | undefined;
}

/**
 * The readings each record of the readings table's stream stored, in record order: a reading
 * item INSERTed, and for an hour item (INSERTed, or MODIFYed by an append) each reading of its new
 * image that its old image lacked, with the upload it names. A MODIFY that packs nothing (the hour
 * set full, a reading item's `enrichmentError`) and a REMOVE (TTL expiry) bring none. Both
 * consumers of the stream, the announcer and the rollups, read it through this one function
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html, view type
 * `NEW_AND_OLD_IMAGES`). An image that is neither a reading nor an hour item is told to `invalid`
 * and passed over: it cannot be announced, now or on a retry.
 */
export const newReadingsOf = (
  records: readonly StreamRecordLike[],
  invalid: (record: StreamRecordLike, error: unknown) => void,
): NewReading[] =>
  records.flatMap((record) => {
    const image = record.dynamodb?.NewImage;
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if ((record.eventName !== 'INSERT' && record.eventName !== 'MODIFY') || !image) return [];
    try {
      const item = unmarshall(image);
      if (typeof item.timestamp === 'string' && isHourKey(item.timestamp)) {
        const hour = parseHourItem(item);
        const old = record.dynamodb?.OldImage;
        const before = old ? parseHourItem(unmarshall(old)).r : {};
        const added = Object.keys(hour.r).filter((slot) => !Object.hasOwn(before, slot));
        return readingsOfHour(hour, added).map((reading) => ({ reading, sequenceNumber }));
      }
      if (record.eventName !== 'INSERT') return [];
      return [{ reading: parseReadingItem(item), sequenceNumber }];
    } catch (error) {
      invalid(record, error);
      return [];
    }
  });
