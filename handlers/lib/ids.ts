import { v5 as uuidv5 } from 'uuid';

const NAMESPACE = 'b1f4d1b2-4a0e-5c6f-9a57-3c1f6f0d9e11';

/** Canonical form of a reading timestamp: UTC, millisecond precision, so equal instants are one key. */
export const canonicalTimestamp = (timestamp: string): string =>
  // V8 misreads fractions of ten or more digits; the identity is at millisecond precision anyway.
  new Date(timestamp.replace(/(\.\d{3})\d+/, '$1')).toISOString();

/**
 * Whether a canonical timestamp is of the years 0000 to 9999: `toISOString` writes the others with
 * a sign and six digits, which no stored reading's key holds.
 */
export const inFourDigitYears = (canonical: string): boolean => /^\d{4}-/.test(canonical);

/** The same reading always gets the same id, whoever computes it. */
export const readingIdOf = (deviceId: string, timestamp: string): string =>
  uuidv5(`reading/${deviceId}/${canonicalTimestamp(timestamp)}`, NAMESPACE);

/** Deterministic event id: one business fact announced as one detail-type always has the same id. */
export const eventIdOf = (detailType: string, idempotencyKey: string): string =>
  uuidv5(`event/${detailType}/${idempotencyKey}`, NAMESPACE);

/**
 * One id for a set of readings, whatever order they are listed in: an event announcing the same
 * readings again (a retried stream batch) names the same fact, so it gets the same event id.
 */
export const readingSetIdOf = (readingIds: readonly string[]): string =>
  uuidv5(`readings/${[...readingIds].sort().join(',')}`, NAMESPACE);
