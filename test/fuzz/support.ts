import { type DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { expect } from 'vitest';
import { isHourKey, timestampOfSlot } from '../../handlers/lib/hour-items.ts';
import { readingIdOf } from '../../handlers/lib/ids.ts';
import { MAX_JSON_DEPTH, MAX_JSON_ENTRIES } from '../../handlers/lib/json-shape.ts';
import { ErrorBody } from '../../schemas/error.ts';
import { type EdgeAccess, edgeDynamo } from '../support/local-cloud.ts';

/** Every request of a fuzz test must be answered within this; a hang fails the property, not the suite. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** The contract's body limit (256 KiB). */
export const BODY_LIMIT = 256 * 1024;

export interface Answer {
  readonly status: number;
  readonly text: string;
  /** The body as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown;
}

/**
 * One HTTP exchange with a per-request deadline. A 429 from the stage's throttle is sent again after
 * its `Retry-After`, as a client does: the suites send as fast as they are answered, and what they
 * judge is the answer to the request, not the throttle (throttling.test.ts holds that).
 */
export const exchange = async (url: string, init: RequestInit): Promise<Answer> => {
  let response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  for (let retry = 1; response.status === 429 && retry <= 5; retry++) {
    await response.arrayBuffer();
    const seconds = Number(response.headers.get('retry-after') ?? 1);
    await new Promise((resolve) => setTimeout(resolve, 1000 * (Number.isFinite(seconds) ? seconds : 1)));
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
};

/**
 * JSON text inserted verbatim, so a body can carry what `JSON.stringify` never writes: `-0`,
 * `1e999`, 2^53 + 1, or nesting thousands of levels deep.
 */
export class RawJson {
  constructor(readonly text: string) {}
  [fc.toStringMethod](): string {
    const shown =
      this.text.length > 80 ? `${this.text.slice(0, 40)}… (${this.text.length} chars)` : this.text;
    return `raw(${shown})`;
  }
}

/** Stands for the id of the device a property run registered, which the arbitraries cannot know. */
export const OWN = Symbol('own deviceId');

/** Serialises a generated value as JSON text: `RawJson`s verbatim, `OWN` as the run's device id. */
export const toJsonText = (value: unknown, own: string): string => {
  if (value === OWN) return JSON.stringify(own);
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => toJsonText(item, own)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .map((key) => `${JSON.stringify(key)}:${toJsonText(record[key], own)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
};

/** `{"a":{"a":...1...}}` or `[[...1...]]`, `depth` levels deep. */
export const nested = (depth: number, kind: 'object' | 'array'): string =>
  kind === 'object'
    ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    : `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/**
 * Whether a parsed body breaks the contract's shape limits (objects and arrays nested more than
 * 32 levels, or holding more than 1000 entries), which refuse the whole request with a 400.
 * Iterative, as bodies may nest 100,000 levels.
 */
export const breaksShapeLimits = (root: unknown): boolean => {
  const pending: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, depth } = next;
    if (typeof value !== 'object' || value === null) continue;
    const children = Object.values(value);
    if (depth > MAX_JSON_DEPTH || children.length > MAX_JSON_ENTRIES) return true;
    for (const child of children) pending.push({ value: child, depth: depth + 1 });
  }
  return false;
};

/** Depths around the limit and far past it, to nest a value at. */
export const depths = (deepest = 100_000) =>
  fc.constantFrom(2, MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 1000, deepest);
/** Entry counts around the limit and past it, for one object or array. */
export const entryCounts = fc.constantFrom(0, 1, MAX_JSON_ENTRIES - 5, MAX_JSON_ENTRIES + 1, 5000);

/**
 * A JSON value of a fuzzed shape, as text: a scalar, an object or an array, nested to a depth or
 * holding many entries, or an object repeating a key (JSON.parse keeps the last). `deepest`
 * bounds the nesting where the text must stay small (128 KiB WebSocket frames).
 */
export const shapedJson = (inner: string, deepest?: number): fc.Arbitrary<RawJson> =>
  fc
    .oneof(
      fc.constantFrom('null', 'true', '0', '-1.5', '""', '"x"', '[]', '{}', `[${inner}]`, `{"a":${inner}}`),
      fc
        .record({ depth: depths(deepest), kind: fc.constantFrom<'object' | 'array'>('object', 'array') })
        .map(({ depth, kind }) => nested(depth, kind)),
      fc
        .record({ count: entryCounts, kind: fc.constantFrom<'object' | 'array'>('object', 'array') })
        .map(({ count, kind }) => {
          const entries = Array.from({ length: count }, (_, i) =>
            kind === 'object' ? `"k${i}":${i}` : `${i}`,
          );
          return kind === 'object' ? `{${entries.join(',')}}` : `[${entries.join(',')}]`;
        }),
      fc.constant(`{"a":1,"a":${inner}}`),
    )
    .map((text) => new RawJson(text));

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What the contract says about one input: it must be accepted, must be rejected, or either is fine. */
export type Verdict = 'valid' | 'invalid' | 'either';

export const worst = (...verdicts: Verdict[]): Verdict =>
  verdicts.includes('invalid') ? 'invalid' : verdicts.includes('either') ? 'either' : 'valid';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
};

const civilFromDays = (days: number): [number, number, number] => {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [era * 400 + yoe + (month <= 2 ? 1 : 0), month, day];
};

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number) =>
  [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})([Tt])(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The canonical form the contract stores: UTC, milliseconds, four-digit year. */
export const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const FIVE_MINUTES = 5 * 60 * 1000;
/** Around the "5 minutes ahead" limit either answer is fine: the test's clock is not the handler's. */
const CLOCK_SLACK = 30 * 1000;

const DAY = 86_400_000;

/**
 * An independent reading of RFC 3339 (section 5.6) and of the contract's rules for `timestamp`:
 * with an offset, at most 5 minutes ahead, at most `retentionDays` old, and representable in the
 * stored canonical form.
 * Lower-case `t`/`z` and leap seconds are RFC 3339 but not in the contract's examples: either answer.
 */
export const timestampVerdict = (
  text: unknown,
  now: number,
  retentionDays = Number.POSITIVE_INFINITY,
): { verdict: Verdict; canonical?: string } => {
  if (typeof text !== 'string') return { verdict: 'invalid' };
  const match = RFC3339.exec(text);
  if (!match) return { verdict: 'invalid' };
  const [, y, mo, d, t, h, mi, s, fraction, offset] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return { verdict: 'invalid' };
  if (hour > 23 || minute > 59 || second > 60) return { verdict: 'invalid' };
  let offsetMinutes = 0;
  if (offset && offset.toUpperCase() !== 'Z') {
    const offsetHours = Number(offset.slice(1, 3));
    const offsetMins = Number(offset.slice(4, 6));
    if (offsetHours > 23 || offsetMins > 59) return { verdict: 'invalid' };
    offsetMinutes = (offset.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const lenient = t === 't' || offset === 'z' || second === 60;
  const millis = Number((fraction ?? '.0').slice(1).padEnd(3, '0').slice(0, 3));
  const epoch =
    daysFromCivil(year, month, day) * 86_400_000 +
    ((hour * 60 + minute - offsetMinutes) * 60 + Math.min(second, 59)) * 1000 +
    millis;
  const days = Math.floor(epoch / 86_400_000);
  const [utcYear, utcMonth, utcDay] = civilFromDays(days);
  if (utcYear < 0 || utcYear > 9999) return { verdict: 'invalid' };
  const ahead = epoch - now;
  if (ahead > FIVE_MINUTES + CLOCK_SLACK) return { verdict: 'invalid' };
  const age = now - epoch;
  if (age > retentionDays * DAY + CLOCK_SLACK) return { verdict: 'invalid' };
  const inTime: Verdict =
    ahead > FIVE_MINUTES - CLOCK_SLACK || age > retentionDays * DAY - CLOCK_SLACK ? 'either' : 'valid';
  if (lenient) return { verdict: worst(inTime, 'either') };
  const ms = epoch - days * 86_400_000;
  const canonical = `${pad(utcYear, 4)}-${pad(utcMonth, 2)}-${pad(utcDay, 2)}T${pad(Math.floor(ms / 3_600_000), 2)}:${pad(Math.floor(ms / 60_000) % 60, 2)}:${pad(Math.floor(ms / 1000) % 60, 2)}.${pad(ms % 1000, 3)}Z`;
  return { verdict: inTime, canonical };
};

export const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Finite numbers are valid by the contract; those DynamoDB or the SDK's marshalling cannot hold
 * exactly (beyond ±2^53, or below DynamoDB's 1e-130) may be refused with a 400 or stored exactly.
 */
export const numberVerdict = (value: unknown): Verdict => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'invalid';
  const magnitude = Math.abs(value);
  return value === 0 || (magnitude <= Number.MAX_SAFE_INTEGER && magnitude >= 1e-128) ? 'valid' : 'either';
};

export const metricsVerdict = (metrics: unknown): Verdict => {
  if (!isPlainObject(metrics)) return 'invalid';
  const names = Object.keys(metrics);
  if (names.length < 1 || names.length > 50) return 'invalid';
  return worst(...names.map((name) => (METRIC_NAME.test(name) ? numberVerdict(metrics[name]) : 'invalid')));
};

const READING_FIELDS = new Set(['deviceId', 'timestamp', 'metrics', 'sequence']);

export interface ReadingVerdict {
  readonly verdict: Verdict;
  readonly canonical?: string;
}

/** The contract's reading rules, applied to a parsed body (or batch item) by the test's own code. */
export const readingVerdict = (
  input: unknown,
  own: string,
  now: number,
  retentionDays: number,
): ReadingVerdict => {
  if (!isPlainObject(input)) return { verdict: 'invalid' };
  const unknownField = Object.keys(input).some((key) => !READING_FIELDS.has(key));
  const { verdict: time, canonical } = timestampVerdict(input.timestamp, now, retentionDays);
  const sequence = Object.hasOwn(input, 'sequence') ? input.sequence : 0;
  const verdict = worst(
    unknownField ? 'invalid' : 'valid',
    input.deviceId === own ? 'valid' : 'invalid',
    time,
    metricsVerdict(input.metrics),
    typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 0 ? 'valid' : 'invalid',
  );
  return canonical === undefined ? { verdict } : { verdict, canonical };
};

/**
 * Whether an error detail's `path` names a field: empty (the whole body), a header, or a dotted
 * path whose segments are keys (a long one cut, ending in `…`) or indexes of what was sent,
 * ending, if the field is missing, in names the schema knows.
 */
export const pathNamesField = (path: string, sent: unknown, vocabulary: ReadonlySet<string>): boolean => {
  if (path === '') return true;
  const walk = (segments: readonly string[], value: unknown): boolean => {
    if (segments.length === 0) return true;
    if (typeof value === 'object' && value !== null) {
      for (let take = segments.length; take >= 1; take--) {
        const shown = segments.slice(0, take).join('.');
        // A key longer than 64 characters is shown cut, ending in `…`
        const keys = shown.endsWith('…')
          ? Object.keys(value).filter((key) => key.length > 64 && key.startsWith(shown.slice(0, -1)))
          : Object.hasOwn(value, shown)
            ? [shown]
            : [];
        if (keys.some((key) => walk(segments.slice(take), (value as Record<string, unknown>)[key])))
          return true;
      }
    }
    return segments.every((segment) => vocabulary.has(segment) || /^\d+$/.test(segment));
  };
  return walk(path.split('.'), sent);
};

/**
 * Asserts the contract's error body: exactly `{"error":{"code","message","details"}}`, with a
 * non-empty code and message and every detail naming a field of what was sent.
 */
export const expectErrorBody = (
  answer: Answer,
  sent: unknown,
  vocabulary: ReadonlySet<string>,
): { code: string; details: { path: string; message: string }[] } => {
  const parsed = ErrorBody.safeParse(answer.json);
  expect(parsed.success, `not the error shape: ${answer.status} ${answer.text.slice(0, 500)}`).toBe(true);
  const error = parsed.data?.error ?? { code: '', message: '', details: [] };
  expect(error.code, answer.text.slice(0, 500)).not.toBe('');
  expect(error.message, answer.text.slice(0, 500)).not.toBe('');
  for (const detail of error.details ?? []) {
    expect(
      pathNamesField(detail.path, sent, vocabulary),
      `detail path ${JSON.stringify(detail.path)} names no field of what was sent`,
    ).toBe(true);
    expect(detail.message, `detail of ${detail.path} has no message`).not.toBe('');
  }
  return { code: error.code, details: error.details ?? [] };
};

/** A document client on the edge that hands numbers back as the strings DynamoDB stored. */
export const rawDynamo = (edge: EdgeAccess) =>
  edgeDynamo(edge, { unmarshallOptions: { wrapNumbers: (text: string) => text } });

/** Every item of one partition, all pages, strongly consistent. */
export const partition = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  partitionKey: string,
  value: string,
): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :v',
        ExpressionAttributeNames: { '#pk': partitionKey },
        ExpressionAttributeValues: { ':v': value },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
};

/** Every item of a table (small tables only), all pages. */
export const scanAll = async (
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
};

export const getItem = async (
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> =>
  (await client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;

/** Every own key anywhere inside a value, to look for prototype-pollution keys that got stored. */
export const allKeys = (value: unknown, into: Set<string> = new Set()): Set<string> => {
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      into.add(key);
      allKeys((value as Record<string, unknown>)[key], into);
    }
  }
  return into;
};

/** What `Object.prototype` and friends look like now, to prove nothing polluted them. */
export const prototypeSnapshot = (): string =>
  JSON.stringify(
    [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((proto) =>
      Reflect.ownKeys(proto).map(String).sort(),
    ),
  );

/**
 * A path parameter as a client might write it in the URL: ids from `pool` (so existing resources
 * are hit), ids matching `pattern`, ids at and past the length limit, and hostile shapes: dot
 * segments, encoded slashes and dots, broken percent-encoding, NUL, unicode, prototype names,
 * reserved characters.
 */
export const hostileSegment = (pattern: RegExp, pool: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.stringMatching(pattern) },
    { weight: 1, arbitrary: fc.constantFrom('a'.repeat(64), 'b'.repeat(65), 'c'.repeat(5000)) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        '..',
        '.',
        '%2E%2E',
        '%2e',
        'a%2Fb',
        '%2F',
        'a/b',
        '',
        '..%2F..%2Fadmin',
        '%00',
        '%25',
        '%',
        '%E0%A4%A',
        'caf%C3%A9',
        '%F0%9F%98%80',
        '%C0%AE%C0%AE',
        '-leading-dash',
        '_x',
        'a%20b',
        'a+b',
        '__proto__',
        'constructor',
        '%5F%5Fproto%5F%5F',
        'a?b',
        'a#b',
        'a;b',
        'a%3Bb',
        'readings',
        'devices',
        'tokens',
        'alerts',
        'alert-subscriptions',
      ),
    },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 70 }).map(encodeURIComponent) },
  );

/** Marks a field left out of the object it belongs to. */
export const ABSENT = Symbol('absent');

/** The object of `entries`, leaving out those whose value is {@link ABSENT}. */
export const objectOf = (entries: readonly (readonly [string, unknown])[]) =>
  Object.fromEntries(entries.filter(([, value]) => value !== ABSENT));

/** `arbitrary`'s values `weight` times out of `weight + absentWeight`, else {@link ABSENT}. */
export const orAbsent = <T>(arbitrary: fc.Arbitrary<T>, weight: number, absentWeight: number) =>
  fc.oneof(
    { weight, arbitrary: arbitrary as fc.Arbitrary<T | typeof ABSENT> },
    { weight: absentWeight, arbitrary: fc.constant<T | typeof ABSENT>(ABSENT) },
  );

/**
 * A metric name as a client might send it: valid names, names that are `Object.prototype`'s or at
 * the length limit, and invalid ones (empty, too long, leading digit, unicode, NUL, `__proto__`).
 */
export const metricName = fc.oneof(
  { weight: 16, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,63}$/) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'constructor',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'a'.repeat(64),
      `T${'9'.repeat(63)}`,
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '__proto__',
      '',
      'b'.repeat(65),
      '1st',
      '_x',
      'a-b',
      'a.b',
      'a b',
      'température',
      'Ωmega',
      '温度',
      '😀',
      'x\u0000',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 70 }) },
);

/**
 * The readings of a partition of the readings table read raw (numbers as their stored text): an
 * hour item stands for each reading it packs, with the id derived and the upload its ref names.
 */
export const readingsOfPartition = (items: readonly Record<string, unknown>[]): Record<string, unknown>[] =>
  items.flatMap((item) => {
    const hour = String(item.timestamp);
    if (!isHourKey(hour)) return [item];
    const packed = (item.r ?? {}) as Record<string, { m: unknown; s?: unknown; u: string }>;
    const uploads = (item.u ?? {}) as Record<string, { id: string }>;
    return Object.entries(packed).map(([slot, reading]) => {
      const timestamp = timestampOfSlot(hour, slot);
      return {
        deviceId: item.deviceId,
        timestamp,
        readingId: readingIdOf(String(item.deviceId), timestamp),
        uploadId: uploads[reading.u]?.id,
        metrics: reading.m,
        ...(reading.s !== undefined ? { sequence: reading.s } : {}),
      };
    });
  });
