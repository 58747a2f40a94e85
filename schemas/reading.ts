import * as z from 'zod';
import { DeviceId, Metrics, Timestamp } from './common.ts';

export const MAX_BATCH = 100;
/** How far ahead of the server clock a reading's timestamp may be. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** One reading as a device posts it. Unknown fields are rejected so typos never pass silently. */
export const Reading = z
  .object({
    deviceId: DeviceId,
    timestamp: Timestamp,
    metrics: Metrics,
    sequence: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .meta({ description: 'Device-side counter, kept for tracing' }),
  })
  .strict();
export type Reading = z.infer<typeof Reading>;

export const ReadingBatch = z
  .object({
    readings: z.array(Reading).min(1).max(MAX_BATCH),
  })
  .strict();

/** Body of `POST /readings`: one reading, or a batch of 1..100. */
export const IngestRequest = z.union([Reading, ReadingBatch]);

/** The envelope of a batch, checked before its items so each item can be accepted or rejected on its own. */
export const BatchEnvelope = z
  .object({
    readings: z
      .array(z.unknown())
      .min(1, 'must hold at least 1 reading')
      .max(MAX_BATCH, `must hold at most ${MAX_BATCH} readings`),
  })
  .strict();

export const AcceptedReading = z
  .object({
    readingId: z.string(),
    deviceId: DeviceId,
    timestamp: Timestamp,
    duplicate: z.boolean(),
  })
  .strict();
export type AcceptedReading = z.infer<typeof AcceptedReading>;

/**
 * One item of a batch answer: accepted (stored now or before), rejected with field-level details
 * (400), or not stored because the store was unavailable (503: post it again).
 */
export const IngestItemResult = z.union([
  AcceptedReading.extend({ index: z.number().int(), status: z.literal(202) }).strict(),
  z
    .object({
      index: z.number().int(),
      status: z.union([z.literal(400), z.literal(503)]),
      error: z
        .object({
          code: z.string(),
          message: z.string(),
          details: z.array(z.object({ path: z.string(), message: z.string() }).strict()).optional(),
        })
        .strict(),
    })
    .strict(),
]);

/** The body of a batch's 202 or 207 answer. */
export const IngestBatchAnswer = z
  .object({
    accepted: z.number().int(),
    rejected: z.number().int(),
    results: z.array(IngestItemResult),
  })
  .strict();

/** A reading as stored and served by `GET /devices/{id}/readings`. */
export const StoredReading = z
  .object({
    deviceId: DeviceId,
    timestamp: Timestamp,
    metrics: Metrics,
    sequence: z.number().int().optional(),
    receivedAt: Timestamp,
    enrichment: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type StoredReading = z.infer<typeof StoredReading>;

export const ReadingsPage = z
  .object({ items: z.array(StoredReading), nextCursor: z.string().nullable() })
  .strict();

/** Query of `GET /devices/{id}/readings`. */
export const ReadingsQuery = z
  .object({
    from: Timestamp.optional(),
    to: Timestamp.optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().min(1).optional(),
  })
  .strict();
export type ReadingsQuery = z.infer<typeof ReadingsQuery>;
