import { z } from 'zod';
import type { Reading } from '../../schemas/reading.ts';

/**
 * A device's sequence of distinct readings: reading `i` is timestamped `epochMs + i` ms, so no two
 * readings of a device share the key `(deviceId, timestamp)` and every conditional put really
 * stores. The epoch lies in the past, far from the 5-minute future limit.
 */
export const ReadingStream = z.object({
  deviceId: z.string(),
  epochMs: z.number().int(),
  /** Index of the first reading this stream hands out. */
  firstIndex: z.number().int().nonnegative(),
  /** Readings per request body: 1 posts a bare reading, more post `{readings: [...]}`. */
  batchSize: z.number().int().min(1).max(100),
});
export type ReadingStream = z.infer<typeof ReadingStream>;

/** The epoch of this run's streams: a day ago, on a whole second. */
export const benchEpochMs = (now = Date.now()): number => Math.floor(now / 1000) * 1000 - 86_400_000;

export const timestampAt = (epochMs: number, index: number): string =>
  new Date(epochMs + index).toISOString();

/** Reading `index` of a device, shaped like what a field device posts. */
export const readingAt = (deviceId: string, epochMs: number, index: number): Reading => ({
  deviceId,
  timestamp: timestampAt(epochMs, index),
  metrics: { temperature: 20 + (index % 97) / 10, humidity: 40 + (index % 31) },
  sequence: index,
});

/** The request body holding readings `index .. index + batchSize - 1`. */
export const bodyAt = (stream: ReadingStream, index: number): string => {
  if (stream.batchSize === 1) return JSON.stringify(readingAt(stream.deviceId, stream.epochMs, index));
  const readings = Array.from({ length: stream.batchSize }, (_, i) =>
    readingAt(stream.deviceId, stream.epochMs, index + i),
  );
  return JSON.stringify({ readings });
};
