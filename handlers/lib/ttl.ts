/**
 * DynamoDB TTL (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html): an item
 * whose TTL attribute, in epoch seconds, has passed may be deleted. Readings, their enrichment and
 * the rollups are each kept so many days after an instant of their own.
 */
const SECONDS_PER_DAY = 86_400;

/** Epoch seconds `days` after `instant` (an ISO timestamp or epoch milliseconds). */
export const expiresAtOf = (instant: string | number, days: number): number =>
  Math.floor((typeof instant === 'number' ? instant : Date.parse(instant)) / 1000) + days * SECONDS_PER_DAY;
