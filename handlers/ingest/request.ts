import type { ErrorDetail } from '../../schemas/error.ts';
import { BatchEnvelope, MAX_FUTURE_SKEW_MS, Reading } from '../../schemas/reading.ts';
import { detailsOf, ForbiddenError, ValidationError, validationError } from '../lib/errors.ts';
import { canonicalTimestamp, inFourDigitYears } from '../lib/ids.ts';
import { shapeProblem } from '../lib/json-shape.ts';

/** A reading of the request that passed validation, with its place in the batch. */
export interface ValidReading {
  readonly index: number;
  readonly reading: Reading;
}

/** A reading of a batch that did not pass validation: every problem, by field path. */
export interface InvalidReading {
  readonly index: number;
  readonly details: ErrorDetail[];
}

/** `POST /readings` after validation: at least one valid reading, and the invalid ones of a batch. */
export interface IngestRequest {
  /** Whether the body was a `{ readings: [...] }` batch rather than one reading. */
  readonly batch: boolean;
  readonly valid: ValidReading[];
  readonly invalid: InvalidReading[];
}

const ownerOf = (item: unknown): unknown =>
  typeof item === 'object' && item !== null && 'deviceId' in item ? item.deviceId : undefined;

/** The clock a request is checked against: the time now, and how far back a reading is still kept. */
export interface IngestClock {
  readonly now: Date;
  /** Readings are kept this long after their timestamp; an older one would expire on arrival. */
  readonly retentionDays: number;
}

const MS_PER_DAY = 86_400_000;

/**
 * Validates one reading: the schema, then the clock rules (at most 5 minutes ahead, not older
 * than the retention). Returns the field-level details of every problem, or the typed reading.
 */
const validateReading = (
  input: unknown,
  clock: IngestClock,
  prefix: PropertyKey[],
): Reading | ErrorDetail[] => {
  const badShape = shapeProblem(input, { prototypeKeys: true, prefix });
  if (badShape) return [{ path: badShape.path, message: badShape.message }];
  const parsed = Reading.safeParse(input);
  if (!parsed.success) return detailsOf(parsed.error.issues, prefix);
  const path = [...prefix, 'timestamp'].join('.');
  const canonical = canonicalTimestamp(parsed.data.timestamp);
  if (!inFourDigitYears(canonical)) {
    return [{ path, message: 'must be between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in UTC' }];
  }
  const at = Date.parse(canonical);
  if (at - clock.now.getTime() > MAX_FUTURE_SKEW_MS) {
    return [{ path, message: 'must be at most 5 minutes in the future' }];
  }
  if (clock.now.getTime() - at > clock.retentionDays * MS_PER_DAY) {
    return [
      {
        path,
        message: `must be at most ${clock.retentionDays} days in the past (readings are kept ${clock.retentionDays} days)`,
      },
    ];
  }
  return parsed.data;
};

/**
 * Validates the body of `POST /readings`, one reading or a batch, for the device the caller's key
 * belongs to. A reading of another device refuses the whole request before anything else is
 * looked at (403); a batch keeps its invalid readings for the per-item answer; a request with no
 * valid reading at all is a 400 naming every bad field.
 */
export const parseIngestRequest = (
  body: unknown,
  callerDeviceId: string,
  clock: IngestClock,
): IngestRequest => {
  const batch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'readings' in body;
  let inputs: unknown[];
  if (batch) {
    if (Object.hasOwn(body, '__proto__')) {
      throw new ValidationError('Request is not valid', [
        { path: '__proto__', message: 'is not an allowed field name' },
      ]);
    }
    const envelope = BatchEnvelope.safeParse(body);
    if (!envelope.success) throw validationError(envelope.error.issues);
    inputs = envelope.data.readings;
  } else {
    inputs = [body];
  }

  const foreign = inputs.map(ownerOf).find((owner) => typeof owner === 'string' && owner !== callerDeviceId);
  if (foreign !== undefined) {
    throw new ForbiddenError(
      `This API key belongs to device ${callerDeviceId}; it may not post readings of ${String(foreign)}`,
    );
  }

  const valid: ValidReading[] = [];
  const invalid: InvalidReading[] = [];
  inputs.forEach((input, index) => {
    const outcome = validateReading(input, clock, batch ? ['readings', index] : []);
    if (Array.isArray(outcome)) invalid.push({ index, details: outcome });
    else valid.push({ index, reading: outcome });
  });

  if (valid.length === 0) {
    throw new ValidationError(
      batch ? 'No reading of the batch is valid' : 'Reading is not valid',
      invalid.flatMap((r) => r.details),
    );
  }
  return { batch, valid, invalid };
};
