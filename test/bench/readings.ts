import { z } from 'zod';
import type { Reading } from '../../schemas/reading.ts';

/**
 * A device's sequence of distinct readings: reading `i` is timestamped `epochMs + i` minutes, so
 * no two readings of a device share the key `(deviceId, timestamp)` and every write really stores,
 * and each UTC hour holds 60 readings, as of a device reporting once a minute. A device nobody
 * watches has an hour's readings packed into one item up to a byte budget (`hour-items.ts`) that
 * an hour of a reading a minute stays within: readings a millisecond apart, as the bench once
 * posted them, put thousands in one hour, and all but the first hundred or so went the way only
 * an hour past its budget goes (a refused append, a read, then an item of their own).
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

/** One device of a load: its reading stream, and the API key it posts with (absent: the load's headers carry it). */
export const DeviceStream = ReadingStream.extend({ apiKey: z.string().optional() });
export type DeviceStream = z.infer<typeof DeviceStream>;

/** The time between two readings of a stream: a reading a minute. */
export const READING_INTERVAL_MS = 60_000;

/**
 * Readings a stream may hand out before its timestamps reach the present (the API refuses them
 * more than 5 minutes ahead): 180 days of a reading a minute, more than a target posts.
 */
export const STREAM_READINGS = 180 * 1440;

/** The epoch of this run's reading streams: {@link STREAM_READINGS} minutes ago, on a whole second. */
export const streamEpochMs = (now = Date.now()): number =>
  Math.floor(now / 1000) * 1000 - STREAM_READINGS * READING_INTERVAL_MS;

/** The epoch of the end-to-end run's readings (a millisecond apart, watched devices): a day ago, on a whole second. */
export const benchEpochMs = (now = Date.now()): number => Math.floor(now / 1000) * 1000 - 86_400_000;

export const timestampAt = (epochMs: number, index: number): string =>
  new Date(epochMs + index * READING_INTERVAL_MS).toISOString();

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
