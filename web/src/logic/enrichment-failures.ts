/**
 * Readings the enrichment workflow gave up on, per device: history items say so with
 * `enrichmentError`; a `ReadingEnriched` push (after a redrive) takes one off the list.
 */
import type { EnrichmentError } from '../../../schemas/reading.ts';
import type { EnrichedData, ReadingData } from './messages.ts';
import { parseTime } from './status.ts';

/** Failed readings of one device, by epoch-ms timestamp (a reading's identity within its device). */
export type EnrichmentFailures = ReadonlyMap<number, EnrichmentError>;

/** Adds the readings that carry an error and forgets those that arrive enriched. */
export const applyFailures = (
  failures: EnrichmentFailures,
  readings: readonly ReadingData[],
): EnrichmentFailures => {
  let next: Map<number, EnrichmentError> | undefined;
  for (const reading of readings) {
    const t = parseTime(reading.timestamp);
    if (t === undefined) continue;
    if (reading.enrichmentError) {
      next ??= new Map(failures);
      next.set(t, reading.enrichmentError);
    } else if (reading.enrichment && failures.has(t)) {
      next ??= new Map(failures);
      next.delete(t);
    }
  }
  return next ?? failures;
};

/** A reading was enriched after all (a redrive): it no longer counts. */
export const clearFailure = (failures: EnrichmentFailures, enriched: EnrichedData): EnrichmentFailures => {
  const t = parseTime(enriched.timestamp);
  if (t === undefined || !failures.has(t)) return failures;
  const next = new Map(failures);
  next.delete(t);
  return next;
};

/** Keeps the failures of the shown range only. */
export const pruneFailures = (failures: EnrichmentFailures, fromMs: number): EnrichmentFailures => {
  const kept = [...failures].filter(([t]) => t >= fromMs);
  return kept.length === failures.size ? failures : new Map(kept);
};

/**
 * The notice beside a device's charts, e.g. "3 readings of Boiler 1 could not be enriched
 * (Lambda.ServiceException) …", or undefined when every reading was enriched.
 */
export const failureNotice = (failures: EnrichmentFailures, deviceName: string): string | undefined => {
  if (failures.size === 0) return undefined;
  const errors = [...new Set([...failures.values()].map((failure) => failure.error))].sort();
  const readings = failures.size === 1 ? '1 reading' : `${failures.size} readings`;
  const verb = failures.size === 1 ? 'waits' : 'wait';
  return `${readings} of ${deviceName} could not be enriched (${errors.join(', ')}): no derived metrics or alarm checks for ${failures.size === 1 ? 'it' : 'them'} yet. ${failures.size === 1 ? 'It' : 'They'} ${verb} in the enrichment dead-letter queue for an operator to redrive.`;
};
