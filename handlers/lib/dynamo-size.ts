/**
 * DynamoDB's size of an item and its values, by the rules of
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
 * strings are their UTF-8 bytes; a number is about one byte per two significant digits plus one
 * (at most 21); booleans and nulls one byte; a map or list 3 bytes plus each element (a map
 * element with its name) plus one byte per element; an item the sum of its attribute names and
 * values. The hour items' budget (`hour-items.ts`) and the cost model (`tools/cost/`) both size by it.
 */

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Significant digits of a finite number, leading and trailing zeroes trimmed. */
const significantDigits = (value: number): number => {
  const digits = String(Math.abs(value))
    .replace(/e.*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.max(1, digits.length);
};

/** The size of one attribute value (without its name). */
export const valueSize = (value: unknown): number => {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return bytes(value);
  if (typeof value === 'number') return Math.min(21, Math.ceil(significantDigits(value) / 2) + 1);
  if (Array.isArray(value))
    return 3 + value.reduce((sum: number, element) => sum + valueSize(element) + 1, 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value).reduce(
        (sum: number, [name, element]) => sum + bytes(name) + valueSize(element) + 1,
        0,
      )
    );
  }
  throw new TypeError(`No DynamoDB size for a ${typeof value}`);
};

/** The size of an item: its attribute names plus their values. */
export const itemSize = (item: Readonly<Record<string, unknown>>): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + bytes(name) + valueSize(value), 0);
