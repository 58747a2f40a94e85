import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tables } from '../../infra/topology.ts';
import { AcceptedReading, IngestReadingAnswer } from '../../schemas/reading.ts';
import { recordedReadings, startTestCloud, streamDrained, type TestCloud } from '../support/local-cloud.ts';
import {
  ABSENT,
  type Answer,
  BODY_LIMIT,
  breaksShapeLimits,
  CANONICAL,
  exchange,
  expectErrorBody,
  isPlainObject,
  metricName,
  nested,
  OWN,
  objectOf,
  partition,
  RawJson,
  type ReadingVerdict,
  rawDynamo,
  readingsOfPartition,
  readingVerdict,
  shapedJson,
  toJsonText,
} from './support.ts';

/** A registered device that never posts: readings naming it must never be stored. */
const OTHER = 'fz-other';
/** Every answer `POST /readings` may give, by the contract. */
const ALLOWED = [202, 207, 400, 401, 403, 409, 413, 415];
const VOCABULARY = new Set([
  'deviceId',
  'timestamp',
  'metrics',
  'sequence',
  'readings',
  'x-api-key',
  'content-type',
]);

let t: TestCloud;
let raw: ReturnType<typeof rawDynamo>;
let runs = 0;

/** A year: the past timestamps drawn below (up to 400 days back) reach past it. */
const RETENTION_DAYS = 365;

beforeAll(async () => {
  t = await startTestCloud({ readingsRetentionDays: RETENTION_DAYS });
  raw = rawDynamo(t.cloud);
  await t.registerDevice(OTHER);
});
afterAll(() => t.stop());

interface Device {
  readonly id: string;
  readonly key: string;
}
/** Each property run posts as a device of its own, so a run's table starts empty and shrinking replays cleanly. */
const freshDevice = async (): Promise<Device> => {
  const id = `fz-in-${++runs}`;
  return { id, key: await t.registerDevice(id) };
};

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const mostly = <T, U>(arbitrary: fc.Arbitrary<T>, rarely: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof(
    { weight: 12, arbitrary: arbitrary as fc.Arbitrary<T | U> },
    { weight: 1, arbitrary: rarely as fc.Arbitrary<T | U> },
  );

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `epoch` written in the local time of `offsetMinutes`, with 0..12 fraction digits. */
const formatAt = (epoch: number, offsetMinutes: number, fractionDigits: number, zulu: boolean): string => {
  const local = new Date(epoch + offsetMinutes * 60_000).toISOString();
  const fraction =
    fractionDigits === 0 ? '' : `.${`${local.slice(20, 23)}000000000`.slice(0, fractionDigits)}`;
  const abs = Math.abs(offsetMinutes);
  const offset =
    zulu && offsetMinutes === 0
      ? 'Z'
      : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${local.slice(0, 19)}${fraction}${offset}`;
};

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Local time at `offset` minutes from UTC, with 0..12 fraction digits, clear of the 5-minute limit by a minute. */
const timeAround = (deltas: fc.Arbitrary<number>, fractionDigits: fc.Arbitrary<number>) =>
  fc
    .record({
      delta: deltas,
      offset: fc.oneof(fc.constant(0), fc.integer({ min: -1439, max: 1439 })),
      fraction: fractionDigits,
      zulu: fc.boolean(),
    })
    .map(({ delta, offset, fraction, zulu }) => formatAt(Date.now() + delta, offset, fraction, zulu));
const past = fc.integer({ min: -400 * DAY, max: 4 * MINUTE });
/** Well inside the retention (and clear of its edge by more than the clock slack). */
const kept = fc.integer({ min: -300 * DAY, max: 4 * MINUTE });
const future = fc.integer({ min: 6 * MINUTE, max: 50 * 365 * DAY });

/** RFC 3339 shapes assembled field by field, each field sometimes out of range. */
const assembled = fc
  .record({
    year: fc.oneof(fc.constantFrom(0, 1, 99, 1900, 1969, 1970, 2000, 2024, 2025, 2100, 9999), fc.nat(9999)),
    month: mostly(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 13)),
    day: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.constantFrom(0, 29, 30, 31, 32)),
    hour: mostly(fc.nat(23), fc.constant(24)),
    minute: mostly(fc.nat(59), fc.constant(60)),
    second: mostly(fc.nat(59), fc.constantFrom(60, 61)),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,12}$/)),
    separator: mostly(fc.constant('T'), fc.constantFrom('t', ' ', '_')),
    offset: fc.oneof(
      fc.constantFrom('Z', '+00:00', '-00:00'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.nat(23), fc.nat(59))
        .map(([sign, h, m]) => `${sign}${pad(h)}:${pad(m)}`),
      fc.constantFrom('z', '', '+24:00', '-01:60', '+0100', '+01', 'UTC', ' Z', '+1:00'),
    ),
  })
  .map(
    (f) =>
      `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}${f.separator}${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}${f.fraction === null ? '' : `.${f.fraction}`}${f.offset}`,
  );

/**
 * Well-formed timestamps that are easy to get wrong: leap days, year 0, offsets that cross a day
 * or a year. Those older than the retention are refused by it.
 */
const trickyValid = fc.constantFrom(
  '2024-02-29T12:00:00Z',
  '2000-02-29T00:00:00+01:00',
  '0000-02-29T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '0000-01-01T00:00:00-00:01',
  '0001-01-01T00:00:00+14:00',
  '1969-12-31T23:59:59.999999Z',
  '1970-01-01T00:00:00+01:00',
  '1999-12-31T23:59:59-23:59',
  '2025-12-31T23:30:00-01:00',
  '2026-03-29T02:30:00+02:00',
);

/** Timestamps the contract refuses, or that no stored canonical form can hold. */
const trickyInvalid = fc.constantFrom(
  '1900-02-29T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '2100-02-29T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '0000-01-01T00:00:00+00:01',
  '0000-01-01T00:30:00+01:00',
  '9999-12-31T23:59:59.999-23:59',
  '2026-01-01T00:00:00',
  '2026-01-01',
  '2026-01-01T00:00Z',
  '+002026-01-01T00:00:00Z',
  '20260101T000000Z',
  '2026-01-01T00:00:00.Z',
  '2026-W01-1T00:00:00Z',
  '2026-01-01T00:00:00Z ',
  '２０２６-01-01T00:00:00Z',
);

const timestamp = fc.oneof(
  { weight: 6, arbitrary: timeAround(past, fc.integer({ min: 0, max: 12 })) },
  { weight: 2, arbitrary: trickyValid },
  { weight: 2, arbitrary: assembled },
  { weight: 1, arbitrary: timeAround(future, fc.nat(3)) },
  { weight: 1, arbitrary: trickyInvalid },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null)) },
);

const metricValue = fc.oneof(
  { weight: 10, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }) },
  { weight: 4, arbitrary: fc.integer() },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('-0', '-0.0', '0.1', '1E2', '1e+2', '9007199254740991', '-9007199254740991', '1e-128')
      .map((text) => new RawJson(text)),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc
        .constantFrom(
          '1e308',
          '-1e308',
          '5e-324',
          '9007199254740993',
          '-9007199254740993',
          '18446744073709551616',
          '1e-131',
          '9.99e125',
          '1e126',
          '1.7976931348623157e308',
          '123456789012345678901234567890',
        )
        .map((text) => new RawJson(text)),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(new RawJson('1e999'), new RawJson('-1e999'), null, true, [], {}, [1]),
  },
  { weight: 1, arbitrary: fc.constantFrom('1', '1e3', 'NaN', 'Infinity', '-0', '0x10', ' 42', '') },
);

const metrics = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .uniqueArray(fc.tuple(metricName, metricValue), {
        selector: ([name]) => name,
        minLength: 1,
        maxLength: 4,
      })
      .map(objectOf),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(0, 50, 51, 3000)
      .map((count) => objectOf(Array.from({ length: count }, (_, i) => [`m${i}`, i]))),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, [], 5, 'temperature', [['t', 1]]) },
);

const notOwnDeviceId = fc.oneof(
  fc.constant(OTHER),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.constantFrom('', 'x'.repeat(65), '../etc', 'fz in', null, 42, true, [], {}, ABSENT),
);

const sequence = fc.oneof(
  { weight: 8, arbitrary: fc.constant<unknown>(ABSENT) },
  { weight: 2, arbitrary: fc.nat() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      -1,
      1.5,
      2 ** 53,
      '1',
      null,
      new RawJson('-0'),
      new RawJson('1e20'),
      new RawJson('9007199254740993'),
    ),
  },
);

const extraFields = fc.oneof(
  { weight: 10, arbitrary: fc.constant<[string, unknown][]>([]) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.tuple(
        fc.constantFrom('extra', '__proto__', 'constructor', 'prototype', 'Timestamp', 'deviceid', 'admin'),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ admin: true })),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  },
);

/** A reading shaped as the contract says, each field fuzzed; `foreign` weighs a deviceId other than the caller's. */
const readingWith = (ownWeight: number) =>
  fc
    .record({
      deviceId: fc.oneof(
        { weight: ownWeight, arbitrary: fc.constant<unknown>(OWN) },
        { weight: 1, arbitrary: notOwnDeviceId },
      ),
      timestamp: mostly(timestamp, fc.constant(ABSENT)),
      metrics: mostly(metrics, fc.constant(ABSENT)),
      sequence,
      extra: extraFields,
    })
    .map(({ extra, ...fields }) =>
      objectOf([
        ['deviceId', fields.deviceId],
        ['timestamp', fields.timestamp],
        ['metrics', fields.metrics],
        ['sequence', fields.sequence],
        ...extra,
      ]),
    );
/** A reading the contract accepts, so batches also come out all-valid and duplicates get exercised. */
const cleanReading = fc
  .record({
    timestamp: timeAround(kept, fc.nat(9)),
    metrics: fc
      .uniqueArray(
        fc.tuple(
          fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,63}$/),
          fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 })),
        ),
        { selector: ([name]) => name, minLength: 1, maxLength: 4 },
      )
      .map(objectOf),
    sequence: fc.oneof(fc.constant(ABSENT), fc.nat()),
  })
  .map(({ timestamp, metrics, sequence }) =>
    objectOf([
      ['deviceId', OWN],
      ['timestamp', timestamp],
      ['metrics', metrics],
      ['sequence', sequence],
    ]),
  );
const reading = fc.oneof({ weight: 1, arbitrary: cleanReading }, { weight: 3, arbitrary: readingWith(8) });

/**
 * 0..120 items, mostly readings, some repeating an earlier item's timestamp with other metrics.
 * One foreign deviceId refuses a whole batch (403), so they are rare per item.
 */
const batchItem = fc.oneof(
  { weight: 20, arbitrary: cleanReading },
  { weight: 20, arbitrary: readingWith(400) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const batch = fc
  .record({
    items: fc.oneof(
      { weight: 6, arbitrary: fc.array(batchItem, { minLength: 1, maxLength: 10 }) },
      { weight: 4, arbitrary: fc.array(batchItem, { minLength: 11, maxLength: 120, size: 'max' }) },
      { weight: 1, arbitrary: fc.constant([]) },
    ),
    repeats: fc.array(fc.tuple(fc.nat(), fc.nat(), metrics), { maxLength: 6 }),
    extra: extraFields,
  })
  .map(({ items, repeats, extra }) => {
    const readings: unknown[] = [...items];
    for (const [from, to, changed] of repeats) {
      const source = readings[from % Math.max(readings.length, 1)];
      if (!isPlainObject(source)) continue;
      readings.splice(
        to % (readings.length + 1),
        0,
        objectOf([...Object.entries(source), ['metrics', changed]]),
      );
    }
    return objectOf([['readings', readings], ...extra]);
  });

type Auth = 'own' | 'other' | 'missing' | 'bad';
type Body =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'padded'; readonly value: unknown; readonly size: number; readonly padding: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array };
interface Post {
  readonly body: Body;
  readonly contentType: string | undefined;
  readonly auth: Auth;
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'];
const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...JSON_TYPES) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/jsonp',
    ),
  },
);
const auth = fc.oneof(
  { weight: 16, arbitrary: fc.constant<Auth>('own') },
  { weight: 1, arbitrary: fc.constantFrom<Auth>('other', 'missing', 'bad') },
);
const post = (body: fc.Arbitrary<Body>, types = contentType): fc.Arbitrary<Post> =>
  fc.record({ body, contentType: types, auth });
const asValue = (value: unknown): Body => ({ kind: 'value', value });

const render = (body: Body, own: string): Buffer => {
  switch (body.kind) {
    case 'value':
      return Buffer.from(toJsonText(body.value, own));
    case 'padded': {
      const text = toJsonText(body.value, own);
      const missing = Math.max(0, body.size - Buffer.byteLength(text));
      return Buffer.from(
        text + body.padding.repeat(Math.ceil(missing / body.padding.length)).slice(0, missing),
      );
    }
    case 'text':
      return Buffer.from(body.text);
    case 'bytes':
      return Buffer.from(body.bytes);
  }
};

// ---------------------------------------------------------------------------------------------
// What the contract predicts, and what the system must then show
// ---------------------------------------------------------------------------------------------

type Expectation =
  | { readonly kind: 'refused'; readonly statuses: readonly number[]; readonly sent: unknown }
  | { readonly kind: 'single'; readonly item: ReadingVerdict; readonly sent: unknown }
  | { readonly kind: 'batch'; readonly items: readonly ReadingVerdict[]; readonly sent: unknown };

const refused = (statuses: number[], sent?: unknown): Expectation => ({ kind: 'refused', statuses, sent });

/** The contract's answer to a request, worked out from the bytes by the test's own reading of the rules. */
const predict = (bytes: Buffer, request: Post, callerId: string, now: number): Expectation => {
  if (request.auth === 'missing' || request.auth === 'bad') return refused([401]);
  const mediaType = request.contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') return refused([415]);
  if (bytes.length > BODY_LIMIT) return refused([413]);
  const text = bytes.toString('utf8');
  if (!isUtf8(bytes) && Buffer.byteLength(text) > BODY_LIMIT) return refused([400, 413]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refused([400]);
  }
  if (breaksShapeLimits(value)) return refused([400], value);
  const isBatch = isPlainObject(value) && Object.hasOwn(value, 'readings');
  let items: unknown[] = [value];
  if (isPlainObject(value) && isBatch) {
    const envelope = value.readings;
    if (
      Object.keys(value).length !== 1 ||
      !Array.isArray(envelope) ||
      envelope.length < 1 ||
      envelope.length > 100
    )
      return refused([400], value);
    items = envelope;
  }
  const foreign = items.some(
    (item) => isPlainObject(item) && typeof item.deviceId === 'string' && item.deviceId !== callerId,
  );
  if (foreign) return refused([403], value);
  const verdicts = items.map((item) => readingVerdict(item, callerId, now, RETENTION_DAYS));
  return isBatch
    ? { kind: 'batch', items: verdicts, sent: value }
    : { kind: 'single', item: verdicts[0] ?? { verdict: 'invalid' }, sent: value };
};

/** What the table must hold for the caller: the first accepted reading of each timestamp. */
interface Stored {
  readonly readingId: string;
  readonly metrics: Record<string, unknown>;
  readonly sequence?: unknown;
}
type Model = Map<string, Stored>;

interface ItemAnswer {
  readonly status: number;
  readonly readingId?: string;
  readonly timestamp?: string;
  readonly duplicate?: boolean;
}

const itemOf = (sent: unknown, index: number | undefined): Record<string, unknown> => {
  const item =
    index === undefined
      ? sent
      : isPlainObject(sent) && Array.isArray(sent.readings)
        ? sent.readings[index]
        : undefined;
  return isPlainObject(item) ? item : {};
};

/** Whether a repeat carries the values the model holds for its timestamp (numbers by value, as DynamoDB keeps them). */
const sameValues = (earlier: Stored, item: Record<string, unknown>): boolean => {
  const metrics = isPlainObject(item.metrics) ? item.metrics : {};
  const names = Object.keys(earlier.metrics);
  return (
    names.length === Object.keys(metrics).length &&
    names.every((name) => Object.hasOwn(metrics, name) && metrics[name] === earlier.metrics[name]) &&
    (Object.hasOwn(item, 'sequence') ? item.sequence : undefined) === earlier.sequence
  );
};

/** A 409 item: the contract's Conflict naming the timestamp, for a timestamp the model holds with other values. */
const expectConflict = (
  error: unknown,
  verdict: ReadingVerdict,
  model: Model,
  item: Record<string, unknown>,
  index: number,
) => {
  expect(verdict.verdict, `item ${index} is invalid, not a conflict`).not.toBe('invalid');
  expect(error).toMatchObject({
    code: 'Conflict',
    details: [{ path: `readings.${index}.timestamp`, message: expect.any(String) }],
  });
  if (verdict.canonical === undefined) return;
  const earlier = model.get(verdict.canonical);
  expect(earlier, `409 for ${verdict.canonical}, which was not stored before`).toBeDefined();
  if (earlier)
    expect(sameValues(earlier, item), `409 for an identical repeat of ${verdict.canonical}`).toBe(false);
};

const expectAccepted = (
  body: unknown,
  verdict: ReadingVerdict,
  callerId: string,
  model: Model,
  item: Record<string, unknown>,
  schema: typeof AcceptedReading | typeof IngestReadingAnswer = AcceptedReading,
): ItemAnswer => {
  const accepted = schema.safeParse(body);
  expect(accepted.success, `not an accepted reading: ${JSON.stringify(body)}`).toBe(true);
  const { readingId = '', deviceId, timestamp: stamp = '', duplicate } = accepted.data ?? {};
  expect(deviceId).toBe(callerId);
  if (verdict.canonical !== undefined) expect(stamp).toBe(verdict.canonical);
  expect(stamp).toMatch(CANONICAL);
  const earlier = model.get(stamp);
  expect(duplicate, `duplicate flag of ${stamp}`).toBe(earlier !== undefined);
  if (earlier) {
    expect(readingId).toBe(earlier.readingId);
    expect(sameValues(earlier, item), `a repeat of ${stamp} with other values was accepted`).toBe(true);
  } else
    model.set(stamp, {
      readingId,
      metrics: isPlainObject(item.metrics) ? item.metrics : {},
      ...(Object.hasOwn(item, 'sequence') ? { sequence: item.sequence } : {}),
    });
  return { status: 202, readingId, timestamp: stamp, ...(duplicate !== undefined ? { duplicate } : {}) };
};

const expectRejectedItem = (error: unknown, index: number, sent: unknown) => {
  const details = expectErrorBody(
    { status: 400, text: JSON.stringify(error), json: { error } },
    sent,
    VOCABULARY,
  ).details;
  expect(details.length).toBeGreaterThan(0);
  for (const detail of details) expect(detail.path.startsWith(`readings.${index}`), detail.path).toBe(true);
};

/** Checks an answer against the expectation, updating the model with what was accepted; returns per-item outcomes. */
const assess = (answer: Answer, expected: Expectation, callerId: string, model: Model): ItemAnswer[] => {
  expect(ALLOWED, `status ${answer.status}: ${answer.text.slice(0, 500)}`).toContain(answer.status);
  if (expected.kind === 'refused') {
    expect(expected.statuses, `status ${answer.status}: ${answer.text.slice(0, 500)}`).toContain(
      answer.status,
    );
    expectErrorBody(answer, expected.sent, VOCABULARY);
    return [];
  }
  if (expected.kind === 'single') {
    const allowed = { valid: [202], invalid: [400], either: [202, 400] }[expected.item.verdict];
    expect(allowed, `status ${answer.status}: ${answer.text.slice(0, 500)}`).toContain(answer.status);
    if (answer.status === 202)
      return [
        expectAccepted(
          answer.json,
          expected.item,
          callerId,
          model,
          itemOf(expected.sent, undefined),
          IngestReadingAnswer,
        ),
      ];
    expect(expectErrorBody(answer, expected.sent, VOCABULARY).details.length).toBeGreaterThan(0);
    return [{ status: 400 }];
  }

  const verdicts = expected.items;
  expect([202, 207, 400], `status ${answer.status}: ${answer.text.slice(0, 500)}`).toContain(answer.status);
  if (answer.status === 400) {
    expect(
      verdicts.every((v) => v.verdict !== 'valid'),
      'a batch with valid readings was refused whole',
    ).toBe(true);
    expect(expectErrorBody(answer, expected.sent, VOCABULARY).details.length).toBeGreaterThan(0);
    return verdicts.map(() => ({ status: 400 }));
  }
  const body = answer.json as {
    accepted?: unknown;
    rejected?: unknown;
    results?: unknown;
    bufferSeconds?: unknown;
    flushWhen?: unknown;
  };
  // `bufferSeconds` tells the device how long it may buffer, and `flushWhen` beside one above 0 the
  // limits it posts at once on; a 503 (nothing stored) has neither.
  const { bufferSeconds, flushWhen, ...counted } = body;
  expect(Object.keys(counted).sort()).toEqual(['accepted', 'rejected', 'results']);
  if (answer.status !== 503) expect(Number.isInteger(bufferSeconds) && Number(bufferSeconds) >= 0).toBe(true);
  expect(Array.isArray(flushWhen)).toBe(answer.status !== 503 && Number(bufferSeconds) > 0);
  expect(Array.isArray(body.results) ? body.results.length : -1).toBe(verdicts.length);
  const results = (body.results ?? []) as Record<string, unknown>[];
  const outcomes = results.map((result, index): ItemAnswer => {
    const verdict = verdicts[index] ?? { verdict: 'invalid' };
    const { index: at, status, ...rest } = result;
    expect(at).toBe(index);
    expect(
      { valid: [202, 409], invalid: [400], either: [202, 400, 409] }[verdict.verdict],
      `item ${index}`,
    ).toContain(status);
    if (status === 202) return expectAccepted(rest, verdict, callerId, model, itemOf(expected.sent, index));
    if (status === 409) {
      expectConflict(rest.error, verdict, model, itemOf(expected.sent, index), index);
      return { status: 409 };
    }
    expect(Object.keys(rest)).toEqual(['error']);
    expectRejectedItem(rest.error, index, expected.sent);
    return { status: 400 };
  });
  const acceptedCount = outcomes.filter((o) => o.status === 202).length;
  expect(body.accepted).toBe(acceptedCount);
  expect(body.rejected).toBe(outcomes.length - acceptedCount);
  expect(answer.status).toBe(acceptedCount === outcomes.length ? 202 : 207);
  expect(outcomes.some((o) => o.status === 202 || o.status === 409)).toBe(true);
  return outcomes;
};

/** The caller's partition holds exactly the model: each accepted reading once, canonical, announced, and nothing else. */
const expectTableMatches = async (deviceId: string, model: Model) => {
  const items = readingsOfPartition(await partition(raw, tables.readings.name, 'deviceId', deviceId));
  expect(items.map((item) => item.timestamp).sort()).toEqual([...model.keys()].sort());
  for (const item of items) {
    const stamp = String(item.timestamp);
    const expected = model.get(stamp);
    expect(stamp).toMatch(CANONICAL);
    expect(item.readingId).toBe(expected?.readingId);
    expect(typeof item.uploadId, `${stamp} names the upload it is announced with`).toBe('string');
    const storedMetrics = item.metrics as Record<string, string>;
    expect(Object.keys(storedMetrics).sort()).toEqual(Object.keys(expected?.metrics ?? {}).sort());
    for (const [name, value] of Object.entries(expected?.metrics ?? {}))
      expect(Number(storedMetrics[name]), `${stamp} ${name}`).toBe(value === 0 ? 0 : value);
    if (expected?.sequence !== undefined)
      expect(Number(item.sequence)).toBe(expected.sequence === 0 ? 0 : expected.sequence);
  }
  return items;
};

/**
 * The devices whose announcements are still to be checked, with what each stored. Every run posts
 * as a fresh device, so the checks are independent: they wait for the readings stream once per
 * property (`expectAllAnnouncedOnce`), not twice per run, which cost most of this file's time.
 */
const toAnnounce: { deviceId: string; model: Model }[] = [];

/**
 * Each stored reading of every device posted since the last check announced exactly once, across
 * its ReadingRecorded (v2) events, and nothing else, once the readings stream's announcer has taken
 * every record written so far.
 */
const expectAllAnnouncedOnce = async () => {
  await streamDrained(t);
  for (const { deviceId, model } of toAnnounce.splice(0)) {
    const announced = recordedReadings(t, deviceId).map((reading) => reading.readingId);
    expect(announced.sort(), `${deviceId} announced once each`).toEqual(
      [...model.values()].map((stored) => stored.readingId).sort(),
    );
  }
};

/** Runs a property, then checks that every run's accepted readings were announced exactly once. */
const assertPosting = async (property: fc.IAsyncProperty<[Post]>, numRuns: number) => {
  toAnnounce.splice(0);
  await fc.assert(property, { numRuns });
  await expectAllAnnouncedOnce();
};

const send = (bytes: Buffer, request: Post, key: string) =>
  exchange(`${t.cloud.apiUrl}/readings`, {
    method: 'POST',
    headers: {
      ...(request.contentType !== undefined ? { 'content-type': request.contentType } : {}),
      ...(request.auth === 'own' || request.auth === 'other' ? { 'x-api-key': key } : {}),
      ...(request.auth === 'bad' ? { 'x-api-key': `sbk_${'A'.repeat(43)}` } : {}),
    },
    body: new Uint8Array(bytes),
  });

/**
 * One property run: post as a fresh device, then check the answer against the contract and the table
 * against what was accepted (the bus against what was stored once the property has run); a 2xx body
 * posted again stores nothing.
 */
const postAndAssess = async (request: Post): Promise<void> => {
  // Prepare
  const caller = await freshDevice();
  const owner = request.auth === 'other' ? await freshDevice() : caller;
  const bytes = render(request.body, owner.id);
  const model: Model = new Map();
  const expected = predict(bytes, request, caller.id, Date.now());

  // Act
  const answer = await send(bytes, request, caller.key);

  // Assess
  const outcomes = assess(answer, expected, caller.id, model);
  const stored = await expectTableMatches(caller.id, model);
  toAnnounce.push({ deviceId: caller.id, model });
  expect(await partition(raw, tables.readings.name, 'deviceId', OTHER)).toEqual([]);
  if (owner !== caller) expect(await partition(raw, tables.readings.name, 'deviceId', owner.id)).toEqual([]);
  if (answer.status !== 202 && answer.status !== 207) return;

  // Act: the same bytes again
  const again = await send(bytes, request, caller.key);

  // Assess: every accepted item is now a duplicate, and nothing new is stored or announced
  expect(again.status, again.text.slice(0, 500)).toBe(answer.status);
  const body = again.json as { results?: ItemAnswer[] } & ItemAnswer;
  const repeated = expected.kind === 'batch' ? (body.results ?? []) : [body];
  expect(repeated.map((r) => r.status ?? 202)).toEqual(outcomes.map((o) => o.status));
  repeated.forEach((result, i) => {
    if (outcomes[i]?.status !== 202) return;
    expect(result).toMatchObject({
      readingId: outcomes[i]?.readingId,
      timestamp: outcomes[i]?.timestamp,
      duplicate: true,
    });
  });
  const storedAgain = await expectTableMatches(caller.id, model);
  expect(storedAgain.map((item) => item.receivedAt)).toEqual(stored.map((item) => item.receivedAt));
};

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const validReadingAround = (size: number) =>
  fc.constantFrom(-1, 0, 1, 2).map((delta) => ({
    kind: 'padded' as const,
    value: objectOf([
      ['deviceId', OWN],
      ['timestamp', '2026-01-01T00:00:00Z'],
      ['metrics', { t: 1 }],
    ]),
    size: size + delta,
    padding: ' ',
  }));

describe('POST /readings under fuzzed input', () => {
  it('answers single readings with fuzzed fields per the contract, storing exactly what it accepted', async () => {
    await assertPosting(fc.asyncProperty(post(reading.map(asValue)), postAndAssess), 150);
  }, 120_000);

  it('answers batches of 0..120 mixed items per item, storing only the accepted ones, once', async () => {
    await assertPosting(fc.asyncProperty(post(batch.map(asValue)), postAndAssess), 40);
  }, 120_000);

  it('answers arbitrary JSON, deep nesting, thousands of keys and long strings per the contract, never a 5xx', async () => {
    const valid = { deviceId: OWN, timestamp: '2026-01-02T00:00:00Z', metrics: { t: 1 } };
    const deep = fc
      .record({
        depth: fc.constantFrom(10, 999, 1000, 1001, 5000, 20_000, 100_000),
        shape: fc.constantFrom<'object' | 'array'>('object', 'array'),
        where: fc.constantFrom('body', 'metric', 'item', 'extra', 'deviceId'),
      })
      .map(({ depth, shape, where }): Body => {
        const value = new RawJson(nested(depth, shape));
        if (where === 'body') return { kind: 'text', text: value.text };
        if (where === 'metric') return asValue({ ...valid, metrics: { t: value } });
        if (where === 'item') return asValue({ readings: [valid, value] });
        if (where === 'deviceId') return asValue({ ...valid, deviceId: value });
        return asValue({ ...valid, extra: value });
      });
    const manyKeys = fc
      .record({ count: fc.constantFrom(1000, 5000), where: fc.constantFrom('body', 'metrics', 'item') })
      .map(({ count, where }): Body => {
        const keys = objectOf(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
        if (where === 'body') return asValue({ ...valid, ...keys });
        if (where === 'metrics') return asValue({ ...valid, metrics: keys });
        return asValue({ readings: [{ ...valid, ...keys }] });
      });
    const longStrings = fc
      .record({
        length: fc.constantFrom(10_000, 200_000),
        where: fc.constantFrom('deviceId', 'timestamp', 'metric', 'body', 'sequence'),
        char: fc.constantFrom('a', 'é', '😀', '\\', '"'),
      })
      .map(({ length, where, char }): Body => {
        const long = char.repeat(Math.floor(length / Buffer.byteLength(char)));
        if (where === 'deviceId') return asValue({ ...valid, deviceId: long });
        if (where === 'timestamp')
          return asValue({ ...valid, timestamp: `2026-01-01T00:00:00.${'1'.repeat(length)}Z` });
        if (where === 'metric') return asValue({ ...valid, metrics: { [long]: 1 } });
        if (where === 'sequence') return asValue({ ...valid, sequence: new RawJson('9'.repeat(length)) });
        return asValue(long);
      });
    /** Each field of a reading, of a batch and the body itself replaced by a fuzzed shape. */
    const inner = JSON.stringify({ ...valid, deviceId: 'x' });
    const shaped = fc
      .record({
        shape: shapedJson(inner),
        where: fc.constantFrom(
          'body',
          'deviceId',
          'timestamp',
          'metrics',
          'metric',
          'sequence',
          'readings',
          'item',
          'itemMetric',
        ),
      })
      .map(({ shape, where }): Body => {
        if (where === 'body') return { kind: 'text', text: shape.text };
        if (where === 'metrics') return asValue({ ...valid, metrics: shape });
        if (where === 'metric') return asValue({ ...valid, metrics: { t: shape } });
        if (where === 'readings') return asValue({ readings: shape });
        if (where === 'item') return asValue({ readings: [valid, shape] });
        if (where === 'itemMetric')
          return asValue({ readings: [valid, { ...valid, metrics: { t: shape } }] });
        return asValue({ ...valid, [where]: shape });
      });
    const arbitraryJson = fc.oneof(
      { weight: 4, arbitrary: fc.jsonValue().map(asValue) },
      { weight: 2, arbitrary: fc.json().map((text): Body => ({ kind: 'text', text })) },
      { weight: 2, arbitrary: fc.jsonValue().map((value) => asValue({ readings: value })) },
      { weight: 2, arbitrary: deep },
      { weight: 1, arbitrary: manyKeys },
      { weight: 1, arbitrary: longStrings },
      { weight: 4, arbitrary: shaped },
    );
    await assertPosting(fc.asyncProperty(post(arbitraryJson), postAndAssess), 80);
  }, 120_000);

  it('answers non-JSON bytes, invalid UTF-8, bodies around 256 KiB and other content types per the contract', async () => {
    const invalidUtf8 = fc
      .tuple(
        fc.constantFrom(
          [0xff],
          [0xc3, 0x28],
          [0xed, 0xa0, 0x80],
          [0xf0, 0x9f, 0x98],
          [0xc0, 0xaf],
          [0xf8, 0x88, 0x80, 0x80, 0x80],
        ),
        fc.constantFrom('{"deviceId":"', '{"metrics":{"', '', '{"timestamp":"2026-01-01T00:00:00Z"} '),
      )
      .map(
        ([bytes, prefix]): Body => ({
          kind: 'bytes',
          bytes: Buffer.concat([Buffer.from(prefix), Buffer.from(bytes), Buffer.from('"}')]),
        }),
      );
    const body = fc.oneof(
      {
        weight: 2,
        arbitrary: fc.uint8Array({ maxLength: 2000 }).map((bytes): Body => ({ kind: 'bytes', bytes })),
      },
      {
        weight: 2,
        arbitrary: fc
          .string({ unit: 'binary', maxLength: 300 })
          .map((text): Body => ({ kind: 'text', text })),
      },
      { weight: 2, arbitrary: invalidUtf8 },
      {
        weight: 1,
        arbitrary: fc.constantFrom<Body>(
          { kind: 'text', text: '' },
          { kind: 'text', text: ' \n\t ' },
          { kind: 'text', text: 'null' },
          { kind: 'text', text: '{"deviceId": ' },
          { kind: 'text', text: '\uFEFF{"readings":[]}' },
          { kind: 'text', text: '{"a":1}{"b":2}' },
          { kind: 'text', text: "{'deviceId':'x'}" },
          { kind: 'text', text: 'deviceId=x&timestamp=y' },
        ),
      },
      { weight: 3, arbitrary: validReadingAround(BODY_LIMIT) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(200 * 1024, BODY_LIMIT, 300 * 1024)
          .map((size): Body => ({ kind: 'bytes', bytes: new Uint8Array(size).fill(0xff) })),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('é', '😀', '\t').map(
          (padding): Body => ({
            kind: 'padded',
            value: { deviceId: OWN, timestamp: '2026-01-03T00:00:00Z', metrics: { t: 2 } },
            size: BODY_LIMIT + 1,
            padding,
          }),
        ),
      },
    );
    const types = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...JSON_TYPES) },
      { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/octet-stream') },
    );
    await assertPosting(fc.asyncProperty(post(body, types), postAndAssess), 80);
  }, 120_000);
});
