/**
 * DynamoDB item sizes and the request units they cost, by the rules of
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
 * strings are their UTF-8 bytes; a number is about one byte per two significant digits plus one
 * (at most 21); booleans and nulls one byte; a map or list 3 bytes plus each element (a map
 * element with its name) plus one byte per element; an item the sum of its attribute names and
 * values. A write costs one WRU per started KB of the larger of the item before and after; an
 * eventually consistent read half an RRU per started 4 KB, a strongly consistent one a whole RRU.
 */

export { itemSize, valueSize } from '../../handlers/lib/dynamo-size.ts';

/** Write request units of one write touching an item of `sizeBytes` (the larger of before and after). */
export const writeUnits = (sizeBytes: number): number => Math.max(1, Math.ceil(sizeBytes / 1024));

/** Read request units of one read of `sizeBytes` (a Query or Scan: the total of the items read). */
export const readUnits = (sizeBytes: number, consistency: 'eventual' | 'strong'): number =>
  Math.max(1, Math.ceil(sizeBytes / 4096)) * (consistency === 'strong' ? 1 : 0.5);

/** Bytes DynamoDB adds to every stored item for indexing, in the storage bill. */
export const STORAGE_OVERHEAD_BYTES = 100;
