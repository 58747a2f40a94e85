import type * as z from 'zod/mini';
import type { IngestBatchAnswer, IngestItemResult, IngestReadingAnswer } from '../../schemas/reading.ts';
import { ValidationError } from '../lib/errors.ts';
import type { UploadAdvice } from './advice.ts';
import type { ReadingOutcome } from './ingest.ts';
import type { IngestRequest, InvalidReading } from './request.ts';

type ItemResult = z.infer<typeof IngestItemResult>;

export interface IngestAnswer {
  readonly statusCode: 202 | 207 | 409 | 503;
  readonly body: unknown;
}

const pathOf = (batch: boolean, index: number, field: string): string =>
  [...(batch ? ['readings', index] : []), field].join('.');

const invalidResult = ({ index, details }: InvalidReading): ItemResult => ({
  index,
  status: 400,
  error: { code: 'ValidationError', message: 'Reading is not valid', details },
});

const itemResult = ({ index, item, outcome, repeatOf }: ReadingOutcome, batch: boolean): ItemResult => {
  switch (outcome) {
    case 'failed':
      return {
        index,
        status: 503,
        error: {
          code: 'StoreUnavailable',
          message: 'The reading could not be stored; retry it',
          details: [],
        },
      };
    case 'conflict':
      return {
        index,
        status: 409,
        error: {
          code: 'Conflict',
          message: `A reading of ${item.deviceId} at ${item.timestamp} is already recorded with other values`,
          details: [
            {
              path: pathOf(batch, index, 'timestamp'),
              message:
                repeatOf === undefined
                  ? 'already names a stored reading with other metrics or sequence'
                  : `repeats the timestamp of readings.${repeatOf} with other metrics or sequence`,
            },
          ],
        },
      };
    default:
      return {
        index,
        status: 202,
        readingId: item.readingId,
        deviceId: item.deviceId,
        timestamp: item.timestamp,
        duplicate: outcome === 'duplicate',
      };
  }
};

/**
 * The HTTP answer to `POST /readings`. One reading: 202 with it, or its error (400 thrown as a
 * `ValidationError`, 409, 503). A batch: 202 when every reading was accepted, 503 when the store
 * took none of them, else 207 with one result per reading. A 202 or 207 carries the advice on the
 * device's next uploads: how long it may buffer them (`bufferSeconds`), and on which limits it
 * posts at once (`flushWhen`).
 */
export const answerOf = (
  request: IngestRequest,
  outcomes: readonly ReadingOutcome[],
  advice: UploadAdvice,
): IngestAnswer => {
  const results: ItemResult[] = [];
  for (const invalid of request.invalid) results[invalid.index] = invalidResult(invalid);
  for (const outcome of outcomes) results[outcome.index] = itemResult(outcome, request.batch);
  if (!request.batch) {
    const only = results[0];
    if (only === undefined) throw new Error('A single reading came to no result');
    if (only.status === 202) {
      const { index: _index, status: _status, ...item } = only;
      const body: z.infer<typeof IngestReadingAnswer> = { ...item, ...adviceFields(advice) };
      return { statusCode: 202, body };
    }
    if (only.status === 400) throw new ValidationError(only.error.message, only.error.details);
    return { statusCode: only.status, body: { error: only.error } };
  }
  const failed = results.filter((r) => r.status !== 202);
  const body: z.infer<typeof IngestBatchAnswer> = {
    accepted: results.length - failed.length,
    rejected: failed.length,
    results,
  };
  if (failed.length === results.length && failed.every((r) => r.status === 503))
    return { statusCode: 503, body };
  return { statusCode: failed.length === 0 ? 202 : 207, body: { ...body, ...adviceFields(advice) } };
};

/** The answer's advice fields: `flushWhen` only beside a `bufferSeconds` above 0. */
const adviceFields = ({ bufferSeconds, flushWhen }: UploadAdvice) =>
  bufferSeconds > 0 && flushWhen ? { bufferSeconds, flushWhen: [...flushWhen] } : { bufferSeconds };
