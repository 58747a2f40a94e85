import { ListSubscriptionsByTopicCommand, SNSClient, type Subscription } from '@aws-sdk/client-sns';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../infra/topology.ts';
import { localArns } from '../../local-cloud/launcher/arns.ts';
import { AggregatesPage } from '../../schemas/reading.ts';
import { MAX_TOKEN_TTL_SECONDS } from '../../schemas/token.ts';
import { edgeClientConfig, startTestCloud, type TestCloud } from '../support/local-cloud.ts';
import {
  type Answer,
  BODY_LIMIT,
  breaksShapeLimits,
  exchange,
  expectErrorBody,
  hostileSegment,
  isPlainObject,
  nested,
  objectOf,
  orAbsent,
  prototypeSnapshot,
  RawJson,
  shapedJson,
  timestampVerdict,
  toJsonText,
  type Verdict,
  worst,
} from './support.ts';

/**
 * The admin routes, the query strings of the read routes, and hostile path parameters on every
 * route, fuzzed along the same dimensions as the ingest and devices suites (nesting depth, entry
 * count, body shape). Every answer is one of the contract's codes with its error body, never a
 * 5xx or a hang, and a refused request creates nothing.
 */

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The device with readings the viewer token may see, and one it may not. */
const SEEN = 'fz-r1';
const UNSEEN = 'fz-r2';
const READING_TIMES = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z'];

let t: TestCloud;
let viewerToken: string;
let sns: SNSClient;
/** A cursor the readings route issued, so valid cursors are fuzzed too. */
let issuedCursor: string;
const alertsTopicArn = localArns.topic(topics.alerts.name);

beforeAll(async () => {
  t = await startTestCloud();
  sns = new SNSClient(edgeClientConfig(t.cloud));
  viewerToken = await t.viewerToken([SEEN]);
  const apiKey = await t.registerDevice(SEEN, { metrics: { t: { unit: 'C' } } });
  await t.registerDevice(UNSEEN);
  const posted = await t.api('/readings', {
    method: 'POST',
    apiKey,
    json: { readings: READING_TIMES.map((timestamp) => ({ deviceId: SEEN, timestamp, metrics: { t: 1 } })) },
  });
  expect(posted.status).toBe(202);
  const page = await t.api(`/devices/${SEEN}/readings?limit=1`, { token: t.adminToken });
  issuedCursor = ((await page.json()) as { nextCursor: string }).nextCursor;
});
afterAll(async () => {
  sns.destroy();
  await t.stop();
});

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

type Auth = 'admin' | 'viewer' | 'none';
const auth = fc.oneof(
  { weight: 14, arbitrary: fc.constant<Auth>('admin') },
  { weight: 1, arbitrary: fc.constantFrom<Auth>('viewer', 'none') },
);
const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded') },
);

const bearerOf = (who: Auth): Record<string, string> =>
  who === 'admin'
    ? { authorization: `Bearer ${t.adminToken}` }
    : who === 'viewer'
      ? { authorization: `Bearer ${viewerToken}` }
      : {};

type Body =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'text'; readonly text: string };

const maybe = <T>(arbitrary: fc.Arbitrary<T>, weight = 3) => orAbsent(arbitrary, weight, 1);

/** Fields no body schema knows, prototype-pollution keys among them. */
const unknownFields = fc.oneof(
  { weight: 10, arbitrary: fc.constant<[string, unknown][]>([]) },
  {
    weight: 2,
    arbitrary: fc.array(
      fc.tuple(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'prototype',
          'admin',
          'devices',
          'sub',
          'exp',
          'topicArn',
        ),
        fc.oneof(
          fc.constantFrom({ admin: true }, { prototype: { admin: true } }, 'x'),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  },
);

/** Bodies that are not a request at all: empty, not JSON, pollution attempts, deep or wide. */
const oddBodies = fc.constantFrom<Body>(
  { kind: 'text', text: '' },
  { kind: 'text', text: '   ' },
  { kind: 'text', text: 'not json' },
  { kind: 'text', text: '{"__proto__":{"admin":true}}' },
  { kind: 'text', text: '{"constructor":{"prototype":{"admin":true}}}' },
  { kind: 'text', text: `{"deviceIds":${nested(5000, 'array')}}` },
  { kind: 'text', text: '{"a":1,"a":2}' },
);

const deviceIdPool = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(SEEN, UNSEEN, 'fz-other', '0', 'a.b_c-d') },
  { weight: 2, arbitrary: fc.stringMatching(DEVICE_ID) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '*', 'a/b', 'b'.repeat(65), '-x', 'café', '__proto__', 1, null),
  },
);

/** One JSON request to an admin route: where, with what, as whom. */
interface Post {
  readonly body: Body;
  readonly contentType: string;
  readonly auth: Auth;
}

interface Sent {
  readonly bytes: Buffer;
  /** The body as the handler parses it, or `undefined` when it is not JSON. */
  readonly parsed: unknown;
}

const sentOf = (body: Body): Sent => {
  const bytes = Buffer.from(body.kind === 'text' ? body.text : toJsonText(body.value, ''));
  try {
    return { bytes, parsed: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { bytes, parsed: undefined };
  }
};

const post = (path: string, request: Post, sent: Sent): Promise<Answer> =>
  exchange(`${t.cloud.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': request.contentType, ...bearerOf(request.auth) },
    body: new Uint8Array(sent.bytes),
  });

/**
 * The statuses the contract allows for a JSON request to an admin-only route, in the order the
 * checks are made: the bearer token, the media type, the size, then the body.
 */
const allowedForAdminPost = (request: Post, sent: Sent, verdict: (body: unknown) => Verdict) => {
  if (request.auth === 'none') return [401];
  if (request.auth === 'viewer') return [403];
  if (!request.contentType.startsWith('application/json')) return [415];
  if (sent.bytes.length > BODY_LIMIT) return [413];
  if (sent.parsed === undefined || breaksShapeLimits(sent.parsed)) return [400];
  return { valid: [201], invalid: [400], either: [201, 400] }[verdict(sent.parsed)];
};

/** A refusal carries the contract's error body; a 400 names at least one field. */
const expectRefusal = (answer: Answer, sent: unknown, vocabulary: ReadonlySet<string>) => {
  const { details } = expectErrorBody(answer, sent, vocabulary);
  if (answer.status === 400) expect(details.length, answer.text.slice(0, 300)).toBeGreaterThan(0);
};

const strictKeys = (value: Record<string, unknown>, allowed: readonly string[]): Verdict =>
  Object.keys(value).every((key) => allowed.includes(key)) ? 'valid' : 'invalid';

const deviceIdsVerdict = (value: unknown, max: number): Verdict =>
  Array.isArray(value) &&
  value.length >= 1 &&
  value.length <= max &&
  value.every((id) => typeof id === 'string' && DEVICE_ID.test(id))
    ? 'valid'
    : 'invalid';

// ---------------------------------------------------------------------------------------------
// POST /tokens
// ---------------------------------------------------------------------------------------------

const TOKEN_VOCABULARY = new Set(['role', 'deviceIds', 'ttlSeconds', 'authorization', 'content-type']);
const DEFAULT_TTL = 24 * 60 * 60;

const tokenBody = fc
  .record({
    role: maybe(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('viewer', 'operator', 'admin') },
        {
          weight: 2,
          arbitrary: fc.constantFrom<unknown>('root', 'Operator', 'Viewer', '', null, 1, ['viewer']),
        },
      ),
      8,
    ),
    deviceIds: maybe(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<unknown>('*') },
        { weight: 5, arbitrary: fc.array(deviceIdPool, { minLength: 1, maxLength: 5 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>([], ['*'], '**', null, SEEN, {}, [[SEEN]]) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(1000, 1001).map((n) => Array.from({ length: n }, (_, i) => `d${i}`)),
        },
      ),
      8,
    ),
    ttlSeconds: maybe(
      fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 60, max: MAX_TOKEN_TTL_SECONDS }) },
        {
          weight: 2,
          arbitrary: fc.constantFrom<unknown>(
            59,
            0,
            -1,
            60.5,
            MAX_TOKEN_TTL_SECONDS + 1,
            '3600',
            null,
            2 ** 53,
          ),
        },
        { weight: 1, arbitrary: fc.constantFrom('1e999', '-0', '6e1').map((text) => new RawJson(text)) },
      ),
    ),
    extra: unknownFields,
  })
  .map(({ extra, ...fields }) => objectOf([...Object.entries(fields), ...extra]));

const tokenBodies = fc.oneof(
  { weight: 10, arbitrary: tokenBody.map((value): Body => ({ kind: 'value', value })) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        shape: shapedJson('"viewer"'),
        where: fc.constantFrom('body', 'role', 'deviceIds', 'ttlSeconds', 'deviceId'),
      })
      .map(({ shape, where }): Body => {
        const values: Record<string, unknown> = {
          role: { role: shape, deviceIds: '*' },
          deviceIds: { role: 'viewer', deviceIds: shape },
          ttlSeconds: { role: 'viewer', deviceIds: '*', ttlSeconds: shape },
          deviceId: { role: 'viewer', deviceIds: [SEEN, shape] },
        };
        return where === 'body'
          ? { kind: 'text', text: shape.text }
          : { kind: 'value', value: values[where] };
      }),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((value): Body => ({ kind: 'value', value })) },
  { weight: 1, arbitrary: oddBodies },
);

const tokenVerdict = (body: unknown): Verdict => {
  if (!isPlainObject(body)) return 'invalid';
  const ttl = body.ttlSeconds;
  return worst(
    strictKeys(body, ['role', 'deviceIds', 'ttlSeconds']),
    ['viewer', 'operator', 'admin'].includes(body.role as string) ? 'valid' : 'invalid',
    body.deviceIds === '*' ? 'valid' : deviceIdsVerdict(body.deviceIds, 1000),
    !Object.hasOwn(body, 'ttlSeconds') ||
      (Number.isInteger(ttl) && (ttl as number) >= 60 && (ttl as number) <= MAX_TOKEN_TTL_SECONDS)
      ? 'valid'
      : 'invalid',
  );
};

/** The claims of a JWT, read without verifying it (the bearer authorizer verifies; this checks what was asked for). */
const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

describe('POST /tokens under fuzzed input', () => {
  it('answers 201 with a token carrying exactly what was asked for, or the contract error', async () => {
    const request = fc.record({ body: tokenBodies, contentType, auth });
    await fc.assert(
      fc.asyncProperty(request, async (request) => {
        // Prepare
        const sent = sentOf(request.body);
        const prototypesBefore = prototypeSnapshot();

        // Act
        const answer = await post('/tokens', request, sent);

        // Assess
        const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
        expect(allowedForAdminPost(request, sent, tokenVerdict), shown).toContain(answer.status);
        if (answer.status !== 201) {
          expectRefusal(answer, sent.parsed, TOKEN_VOCABULARY);
        } else {
          const body = sent.parsed as { role: string; deviceIds: unknown; ttlSeconds?: number };
          const { token, expiresAt, ...rest } = answer.json as { token: string; expiresAt: string };
          expect(rest).toEqual({});
          const claims = claimsOf(token);
          expect(claims.role).toBe(body.role);
          expect(claims.devices).toEqual(body.deviceIds);
          expect((claims.exp as number) - (claims.iat as number)).toBe(body.ttlSeconds ?? DEFAULT_TTL);
          expect(expiresAt).toBe(new Date((claims.exp as number) * 1000).toISOString());
        }
        expect(({} as Record<string, unknown>).admin).toBeUndefined();
        expect(prototypeSnapshot()).toBe(prototypesBefore);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('issues tokens the API honours for exactly the devices named', async () => {
    // Act
    const issued = await t.api('/tokens', {
      method: 'POST',
      token: t.adminToken,
      json: { role: 'viewer', deviceIds: [SEEN], ttlSeconds: 60 },
    });
    const { token } = (await issued.json()) as { token: string };
    const seen = await t.api(`/devices/${SEEN}`, { token });
    const unseen = await t.api(`/devices/${UNSEEN}`, { token });
    const minting = await t.api('/tokens', {
      method: 'POST',
      token,
      json: { role: 'viewer', deviceIds: '*' },
    });

    // Assess
    expect([issued.status, seen.status, unseen.status, minting.status]).toEqual([201, 200, 403, 403]);
  });
});

// ---------------------------------------------------------------------------------------------
// POST /alert-subscriptions
// ---------------------------------------------------------------------------------------------

const SUBSCRIPTION_VOCABULARY = new Set([
  'protocol',
  'endpoint',
  'deviceIds',
  'severities',
  'authorization',
  'content-type',
]);

/**
 * An endpoint and what each protocol makes of it. Endpoints either protocol accepts are made
 * unique per run (`{n}`), so each accepted request adds one subscription; https ones point at
 * a closed local port, so no delivery leaves the machine.
 */
interface Endpoint {
  readonly value: unknown;
  readonly email: Verdict;
  readonly https: Verdict;
}
const endpoint: fc.Arbitrary<Endpoint> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      { value: 'ops{n}@example.com', email: 'valid', https: 'invalid' },
      { value: 'a.b+c{n}@alerts.example.org', email: 'valid', https: 'invalid' },
      { value: 'https://127.0.0.1:9/hook/{n}', email: 'invalid', https: 'valid' },
      { value: 'https://localhost:9/a/{n}?b=c', email: 'invalid', https: 'valid' },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Endpoint>(
      { value: 'not-an-email', email: 'invalid', https: 'invalid' },
      { value: '@example.com', email: 'invalid', https: 'invalid' },
      { value: 'a@', email: 'invalid', https: 'invalid' },
      { value: '', email: 'invalid', https: 'invalid' },
      { value: 'http://127.0.0.1:9/hook', email: 'invalid', https: 'invalid' },
      { value: 'ftp://127.0.0.1:9/', email: 'invalid', https: 'invalid' },
      { value: 'https://', email: 'invalid', https: 'invalid' },
      { value: `https://127.0.0.1:9/${'a'.repeat(2100)}`, email: 'invalid', https: 'invalid' },
      { value: null, email: 'invalid', https: 'invalid' },
      { value: ['ops@example.com'], email: 'invalid', https: 'invalid' },
      { value: { url: 'https://127.0.0.1:9/' }, email: 'invalid', https: 'invalid' },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map(
      (text): Endpoint => ({
        value: text,
        email: text.includes('@') ? 'either' : 'invalid',
        https: 'invalid',
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map(
      (text): Endpoint => ({
        value: `https://127.0.0.1:9/{n}/${encodeURIComponent(text)}`,
        email: 'invalid',
        https: 'valid',
      }),
    ),
  },
);

const subscriptionRequest = fc.record({
  protocol: maybe(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('email', 'https') },
      {
        weight: 2,
        arbitrary: fc.constantFrom<unknown>('http', 'sms', 'lambda', 'EMAIL', '', null, ['email']),
      },
    ),
    10,
  ),
  endpoint,
  deviceIds: maybe(
    fc.oneof(
      { weight: 5, arbitrary: fc.array(deviceIdPool, { minLength: 1, maxLength: 4 }) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>([], '*', null, SEEN) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(100, 101).map((n) => Array.from({ length: n }, (_, i) => `d${i}`)),
      },
    ),
    1,
  ),
  severities: maybe(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.array(fc.constantFrom('warning', 'critical'), { minLength: 1, maxLength: 3 }),
      },
      { weight: 1, arbitrary: fc.constantFrom<unknown>([], ['fatal'], 'warning', [null], ['Warning']) },
    ),
    1,
  ),
  extra: unknownFields,
  shape: fc.option(
    fc.record({
      shape: shapedJson('"warning"', 1000),
      where: fc.constantFrom('body', 'endpoint', 'deviceIds', 'severities', 'severity'),
    }),
    { freq: 5 },
  ),
});

type SubscriptionRequest = typeof subscriptionRequest extends fc.Arbitrary<infer R> ? R : never;

/** The body to send, with `{n}` made unique for this run, and the endpoint as generated. */
const subscriptionBody = (generated: SubscriptionRequest, n: number): { body: Body; endpoint: unknown } => {
  const { endpoint: target, extra, shape, ...fields } = generated;
  const value = typeof target.value === 'string' ? target.value.replaceAll('{n}', String(n)) : target.value;
  const base = objectOf([...Object.entries(fields), ['endpoint', value], ...extra]);
  if (!shape) return { body: { kind: 'value', value: base }, endpoint: value };
  if (shape.where === 'body') return { body: { kind: 'text', text: shape.shape.text }, endpoint: value };
  const shaped =
    shape.where === 'severity'
      ? { ...base, severities: ['warning', shape.shape] }
      : { ...base, [shape.where]: shape.shape };
  return { body: { kind: 'value', value: shaped }, endpoint: value };
};

/** The contract's rules for a subscription body, given what each protocol makes of the generated endpoint. */
const subscriptionVerdict = (body: unknown, generated: unknown, target: Endpoint): Verdict => {
  if (!isPlainObject(body)) return 'invalid';
  const endpointVerdict = (protocol: 'email' | 'https'): Verdict =>
    Object.hasOwn(body, 'endpoint') && body.endpoint === generated ? target[protocol] : 'invalid';
  return worst(
    strictKeys(body, ['protocol', 'endpoint', 'deviceIds', 'severities']),
    body.protocol === 'email' || body.protocol === 'https' ? endpointVerdict(body.protocol) : 'invalid',
    Object.hasOwn(body, 'deviceIds') ? deviceIdsVerdict(body.deviceIds, 100) : 'valid',
    !Object.hasOwn(body, 'severities') ||
      (Array.isArray(body.severities) &&
        body.severities.length >= 1 &&
        body.severities.every((s) => s === 'warning' || s === 'critical'))
      ? 'valid'
      : 'invalid',
  );
};

/** Every subscription of the alerts topic, all pages (SNS answers 100 at a time). */
const subscriptions = async (): Promise<Subscription[]> => {
  const all: Subscription[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: alertsTopicArn, NextToken: nextToken }),
    );
    all.push(...(page.Subscriptions ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return all;
};

describe('POST /alert-subscriptions under fuzzed input', () => {
  it('adds exactly one subscription for an accepted request and none for a refused one', async () => {
    let run = 0;
    const request = fc.record({ generated: subscriptionRequest, contentType, auth });
    await fc.assert(
      fc.asyncProperty(request, async ({ generated, contentType, auth }) => {
        // Prepare
        run += 1;
        const { body, endpoint } = subscriptionBody(generated, run);
        const sent = sentOf(body);
        const before = await subscriptions();

        // Act
        const answer = await post('/alert-subscriptions', { body, contentType, auth }, sent);

        // Assess
        const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
        const verdict = (parsed: unknown) => subscriptionVerdict(parsed, endpoint, generated.endpoint);
        expect(allowedForAdminPost({ body, contentType, auth }, sent, verdict), shown).toContain(
          answer.status,
        );
        const after = await subscriptions();
        if (answer.status !== 201) {
          expectRefusal(answer, sent.parsed, SUBSCRIPTION_VOCABULARY);
          expect(after, 'a refused request created a subscription').toEqual(before);
        } else {
          const { protocol, endpoint } = sent.parsed as { protocol: string; endpoint: string };
          // Unconfirmed subscriptions all list as `PendingConfirmation`, so they are told apart by endpoint.
          const keyOf = (s: Subscription) => `${s.TopicArn} ${s.Protocol} ${s.Endpoint}`;
          const added = after.map(keyOf).filter((key) => !before.map(keyOf).includes(key));
          expect(after.length).toBe(before.length + 1);
          expect(added).toEqual([`${alertsTopicArn} ${protocol} ${endpoint}`]);
        }
      }),
      { numRuns: 50 },
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// Query strings: GET /devices/{id}/readings and GET /alerts
// ---------------------------------------------------------------------------------------------

/** One query parameter as the client writes it: name and value are encoded, or sent raw. */
type Param = readonly [name: string, value: string];

const timestamps = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({
        at: fc.date({
          min: new Date('2025-12-31T23:00:00Z'),
          max: new Date('2026-01-01T01:00:00Z'),
          noInvalidDate: true,
        }),
        offset: fc.constantFrom('Z', '+00:00', '+01:00', '-05:30', '+14:00'),
        precision: fc.constantFrom(0, 3, 6),
      })
      .map(({ at, offset, precision }) => {
        const sign = offset.startsWith('-') ? -1 : 1;
        const minutes =
          offset === 'Z' ? 0 : sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4)));
        const local = new Date(at.getTime() + minutes * 60_000).toISOString();
        const fraction = precision === 0 ? '' : `.${local.slice(20, 23).padEnd(precision, '0')}`;
        return `${local.slice(0, 19)}${fraction}${offset}`;
      }),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '2026-01-01',
      '2026-01-01T00:00:00',
      '2026-02-30T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00+25:00',
      '1767225600000',
      'now',
      '',
      'null',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
);

/** `limit` as `z.coerce.number()` reads it: whatever `Number()` makes of the text. */
const limits = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1000 }).map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '0',
      '-1',
      '1001',
      '1.5',
      '',
      ' ',
      'abc',
      '1e2',
      '0x10',
      'Infinity',
      '1_000',
      '٣',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

const cursors = fc.oneof(
  { weight: 2, arbitrary: fc.constant('{issued}') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      'x',
      '%',
      Buffer.from('{"after":"not a time"}').toString('base64url'),
      Buffer.from('{"after":"2026-01-01T00:00:00Z","extra":1}').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
      Buffer.from(nested(40, 'object')).toString('base64url'),
      'A'.repeat(5000),
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const BUCKET_SIZES = ['1m', '5m', '15m', '1h', '6h', '1d'];

/** `bucket`: each size the API offers, near misses, and anything. */
const buckets = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BUCKET_SIZES) },
  { weight: 2, arbitrary: fc.constantFrom('', '2m', '1H', '60s', '1d ', 'hour', '__proto__') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

const FORMATS = ['json', 'csv'];

/** `format`: each the API offers, near misses, and anything. */
const formats = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FORMATS) },
  { weight: 2, arbitrary: fc.constantFrom('', 'CSV', 'csv ', 'text/csv', 'xml', '__proto__') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

const unknownParams = fc.constantFrom<Param>(
  ['deviceId', SEEN],
  ['__proto__', 'x'],
  ['constructor', 'x'],
  ['limit[]', '5'],
  ['', 'x'],
  ['x'.repeat(200), '1'],
  ['from%00', 'x'],
);

/** Parameters in any order, some repeated (the handler sees the last), some unknown. */
const queryOf = (known: fc.Arbitrary<Param>, unknown: fc.Arbitrary<Param>) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.array(known, { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.tuple(fc.array(known, { maxLength: 3 }), unknown).map(([a, b]) => [...a, b]) },
  );

const encodeQuery = (params: readonly Param[]): string =>
  params.length === 0
    ? ''
    : `?${params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;

/** The query as the gateway hands it over: decoded, the last value of a repeated name winning. */
const queryAsSeen = (params: readonly Param[]): Record<string, string> =>
  Object.fromEntries(new URL(`http://gateway/${encodeQuery(params)}`).searchParams);

const limitVerdict = (text: string | undefined, max: number): Verdict => {
  if (text === undefined) return 'valid';
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= max ? 'valid' : 'invalid';
};

/** A timestamp bound of a query: any RFC 3339 time with an offset, past or future. */
const boundVerdict = (text: string | undefined) => {
  if (text === undefined) return { verdict: 'valid' as Verdict };
  const { verdict, canonical } = timestampVerdict(text, Number.POSITIVE_INFINITY);
  return { verdict: verdict === 'valid' && canonical === undefined ? 'either' : verdict, canonical };
};

const hostile = hostileSegment(DEVICE_ID, [SEEN, UNSEEN, 'fz-none']);

const READINGS_VOCABULARY = new Set([
  'deviceId',
  'from',
  'to',
  'limit',
  'cursor',
  'bucket',
  'format',
  'authorization',
]);

describe('GET /devices/{id}/readings under fuzzed ids and query strings', () => {
  it('serves pages in the contract shape or names the bad parameter, for ids of every shape', async () => {
    const readingsQuery = queryOf(
      fc.oneof(
        timestamps.map((v): Param => ['from', v]),
        timestamps.map((v): Param => ['to', v]),
        limits.map((v): Param => ['limit', v]),
        cursors.map((v): Param => ['cursor', v]),
        buckets.map((v): Param => ['bucket', v]),
        formats.map((v): Param => ['format', v]),
      ),
      unknownParams,
    );
    const request = fc.record({
      // A raw `?` or `#` would end the path before `/readings`: the path suite below sends those.
      segment: fc.oneof(
        { weight: 3, arbitrary: fc.constant(SEEN) },
        { weight: 2, arbitrary: hostile.filter((segment) => !/[?#]/.test(segment)) },
      ),
      params: readingsQuery,
      auth: fc.constantFrom<Auth>('admin', 'admin', 'viewer', 'none'),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ segment, params, auth }) => {
        // Prepare
        const withCursor = params.map(([k, v]): Param => [k, v === '{issued}' ? issuedCursor : v]);
        const pathname = new URL(`http://gateway/devices/${segment}/readings`).pathname;
        const routed = /^\/devices\/([^/]+)\/readings$/.exec(pathname)?.[1];
        const query = queryAsSeen(withCursor);

        // Act
        const answer = await exchange(`${t.cloud.apiUrl}${pathname}${encodeQuery(withCursor)}`, {
          headers: bearerOf(auth),
        });

        // Assess
        const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
        let allowed: readonly number[];
        const id = routed === undefined ? undefined : decodedParameter(routed);
        const from = boundVerdict(query.from);
        const to = boundVerdict(query.to);
        const unknown = Object.keys(query).some(
          (k) => !['from', 'to', 'limit', 'cursor', 'bucket', 'format'].includes(k),
        );
        const csv = query.format === 'csv';
        const verdict = worst(
          unknown ? 'invalid' : 'valid',
          from.verdict,
          to.verdict,
          limitVerdict(query.limit, 1000),
          query.cursor === '' ? 'invalid' : 'valid',
          query.bucket === undefined || BUCKET_SIZES.includes(query.bucket) ? 'valid' : 'invalid',
          query.format === undefined || FORMATS.includes(query.format) ? 'valid' : 'invalid',
          from.canonical && to.canonical && from.canonical > to.canonical ? 'invalid' : 'valid',
          // An export is the whole range: it takes no page size and no cursor.
          csv && (query.limit !== undefined || query.cursor !== undefined) ? 'invalid' : 'valid',
        );
        // The issued cursor continues raw readings: a page of buckets refuses it.
        const cursorIsOurs =
          query.cursor === undefined || (query.cursor === issuedCursor && query.bucket === undefined);
        // A dot segment (`.`, `%2e`) is removed by URL normalisation: `/devices/%2e/readings` is sent as
        // `/devices/readings`, which is `GET /devices/{deviceId}` for a device named `readings`.
        const otherDeviceRoute = routed === undefined && /^\/devices\/[^/]+$/.test(pathname);
        if (otherDeviceRoute) allowed = auth === 'none' ? [401] : auth === 'viewer' ? [403] : [404];
        else if (routed === undefined) allowed = [404, 405];
        else if (auth === 'none') allowed = [401];
        else if (id === undefined || !DEVICE_ID.test(id)) allowed = [400];
        else if (auth === 'viewer' && id !== SEEN) allowed = [403];
        else if (verdict === 'invalid') allowed = [400];
        else if (id !== SEEN && id !== UNSEEN) allowed = verdict === 'either' ? [400, 404] : [404];
        else if (!cursorIsOurs) allowed = [400];
        else allowed = verdict === 'either' ? [200, 400] : [200];
        expect(allowed, shown).toContain(answer.status);

        if (answer.status !== 200) {
          expectRefusal(
            answer,
            { ...query, ...(id === undefined ? {} : { deviceId: id }) },
            READINGS_VOCABULARY,
          );
          return;
        }
        if (csv) {
          const [header, ...rows] = answer.text.split('\r\n');
          expect(rows.pop(), 'the last record ends in CRLF').toBe('');
          const starts = rows.map((row) => row.split(',')[0] ?? '');
          expect(starts).toEqual([...new Set(starts)].sort());
          if (query.bucket !== undefined) {
            expect(header?.startsWith('start,end')).toBe(true);
            return;
          }
          expect(header?.startsWith('timestamp')).toBe(true);
          for (const time of starts) {
            if (from.canonical) expect(time >= from.canonical, `${time} before from`).toBe(true);
            if (to.canonical) expect(time <= to.canonical, `${time} after to`).toBe(true);
          }
          return;
        }
        if (query.bucket !== undefined) {
          const page = AggregatesPage.parse(answer.json);
          const starts = page.items.map((bucket) => bucket.start);
          expect(starts).toEqual([...new Set(starts)].sort());
          expect(starts.length).toBeLessThanOrEqual(Number(query.limit ?? 100));
          return;
        }
        const { items, nextCursor } = answer.json as {
          items: { deviceId: string; timestamp: string }[];
          nextCursor: string | null;
        };
        const times = items.map((item) => item.timestamp);
        expect(items.every((item) => item.deviceId === id)).toBe(true);
        expect(times).toEqual([...times].sort());
        expect(times.length).toBeLessThanOrEqual(Number(query.limit ?? 100));
        for (const time of times) {
          if (from.canonical) expect(time >= from.canonical, `${time} before from`).toBe(true);
          if (to.canonical) expect(time <= to.canonical, `${time} after to`).toBe(true);
          if (query.cursor)
            expect(time > (READING_TIMES[0] ?? ''), `${time} not after the cursor`).toBe(true);
        }
        expect(nextCursor === null || typeof nextCursor === 'string').toBe(true);
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});

const ALERTS_VOCABULARY = new Set([
  'deviceId',
  'state',
  'limit',
  'acknowledged',
  'severity',
  'authorization',
]);

describe('GET /alerts under fuzzed query strings', () => {
  it('lists only alerts the token may see, or names the bad parameter', async () => {
    const alertsQuery = queryOf(
      fc.oneof(
        deviceIdPool.filter((v): v is string => typeof v === 'string').map((v): Param => ['deviceId', v]),
        hostile.map((v): Param => ['deviceId', v]),
        fc
          .constantFrom('active', 'resolved', 'ACTIVE', '', 'open', 'active,resolved')
          .map((v): Param => ['state', v]),
        limits.map((v): Param => ['limit', v]),
      ),
      fc.oneof(
        unknownParams.filter(([name]) => name !== 'deviceId'),
        fc.constantFrom<Param>(['acknowledged', 'true'], ['severity', 'critical'], ['cursor', 'x']),
      ),
    );
    const request = fc.record({
      params: alertsQuery,
      auth: fc.constantFrom<Auth>('admin', 'viewer', 'viewer', 'none'),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ params, auth }) => {
        // Prepare
        const query = queryAsSeen(params);

        // Act
        const answer = await exchange(`${t.cloud.apiUrl}/alerts${encodeQuery(params)}`, {
          headers: bearerOf(auth),
        });

        // Assess
        const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
        const known = ['deviceId', 'state', 'limit'];
        /** In the contract, not yet served: refusing them with a 400 that names them is honest. */
        const announced = ['acknowledged', 'severity'];
        const names = Object.keys(query);
        const verdict = worst(
          names.some((k) => !known.includes(k) && !announced.includes(k)) ? 'invalid' : 'valid',
          names.some((k) => announced.includes(k)) ? 'either' : 'valid',
          query.deviceId === undefined || DEVICE_ID.test(query.deviceId) ? 'valid' : 'invalid',
          query.state === undefined || query.state === 'active' || query.state === 'resolved'
            ? 'valid'
            : 'invalid',
          limitVerdict(query.limit, 500),
        );
        const foreign = auth === 'viewer' && query.deviceId !== undefined && query.deviceId !== SEEN;
        let allowed: readonly number[];
        if (auth === 'none') allowed = [401];
        else if (verdict === 'invalid') allowed = [400];
        else if (foreign) allowed = verdict === 'either' ? [400, 403] : [403];
        else allowed = verdict === 'either' ? [200, 400] : [200];
        expect(allowed, shown).toContain(answer.status);

        if (answer.status !== 200) {
          expectRefusal(answer, query, ALERTS_VOCABULARY);
          return;
        }
        const { items } = answer.json as { items: { deviceId: string }[] };
        expect(items.length).toBeLessThanOrEqual(Number(query.limit ?? 100));
        if (auth === 'viewer') expect(items.every((item) => item.deviceId === SEEN)).toBe(true);
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// Hostile path parameters on every route
// ---------------------------------------------------------------------------------------------

/** A path parameter as the gateway hands it to the handler: decoded when it is valid percent-encoding. */
const decodedParameter = (raw: string): string => {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
};

interface PathCase {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly template: string;
}
/** Every route with a path parameter, and the ones the contract lists that this API does not serve. */
const PATH_CASES: readonly PathCase[] = [
  { method: 'GET', template: '/devices/{}' },
  { method: 'DELETE', template: '/devices/{}' },
  { method: 'GET', template: '/devices/{}/readings' },
  { method: 'POST', template: '/devices/{}/keys' },
  { method: 'DELETE', template: '/alert-subscriptions/{}' },
  { method: 'POST', template: '/alerts/{}/acknowledge' },
  { method: 'POST', template: '/tokens/{}' },
  { method: 'GET', template: '/{}' },
  { method: 'POST', template: '/{}' },
];

/** A hostile segment may land on any route, so any route's field may be named. */
const PATH_VOCABULARY = new Set([
  ...TOKEN_VOCABULARY,
  ...SUBSCRIPTION_VOCABULARY,
  ...READINGS_VOCABULARY,
  'x-api-key',
  'readings',
  'timestamp',
  'metrics',
  'alertId',
  'subscriptionId',
  'graceSeconds',
]);

describe('hostile path parameters on every route', () => {
  it('answers each with a contract code and the error body, and creates nothing', async () => {
    const devicesBefore = await t.api('/devices', { token: t.adminToken }).then((r) => r.text());
    const subscriptionsBefore = (await subscriptions()).length;
    const request = fc.record({
      route: fc.constantFrom(...PATH_CASES),
      segment: hostile,
      auth: fc.constantFrom<Auth>('admin', 'admin', 'viewer', 'none'),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ route, segment, auth }) => {
        // Prepare
        const pathname = new URL(`http://gateway${route.template.replace('{}', segment)}`).pathname;
        // Retiring or re-keying the suite's own devices is the operators' suite's; here it would
        // change what the other cases read.
        const ownDevice = [SEEN, UNSEEN].some((own) => pathname.startsWith(`/devices/${own}`));
        fc.pre(!(ownDevice && auth === 'admin' && route.method !== 'GET'));

        // Act
        const answer = await exchange(`${t.cloud.apiUrl}${pathname}`, {
          method: route.method,
          headers: {
            ...bearerOf(auth),
            ...(route.method === 'GET' ? {} : { 'content-type': 'application/json' }),
          },
          ...(route.method === 'GET' ? {} : { body: '{}' }),
        });

        // Assess
        const shown = `${route.method} ${pathname}: ${answer.status} ${answer.text.slice(0, 300)}`;
        expect(answer.status, shown).toBeLessThan(500);
        expect([200, 201, 400, 401, 403, 404, 405, 415], shown).toContain(answer.status);
        const routed = /^\/devices\/([^/]+)(\/readings)?$/.exec(pathname);
        const id = routed?.[1] === undefined ? undefined : decodedParameter(routed[1]);
        if (route.method === 'GET' && id !== undefined && auth === 'admin') {
          const expected = !DEVICE_ID.test(id) ? 400 : id === SEEN || id === UNSEEN ? 200 : 404;
          expect(answer.status, shown).toBe(expected);
        }
        if (answer.status >= 400) expectRefusal(answer, { deviceId: id }, PATH_VOCABULARY);
      }),
      { numRuns: 80 },
    );

    // Assess
    expect(await t.api('/devices', { token: t.adminToken }).then((r) => r.text())).toBe(devicesBefore);
    expect((await subscriptions()).length).toBe(subscriptionsBefore);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// The operators' routes: snooze, acknowledge, resolve, key rotation
// ---------------------------------------------------------------------------------------------

const SNOOZE_VOCABULARY = new Set(['minutes', 'until', 'alertId', 'authorization', 'content-type']);
const KEYS_VOCABULARY = new Set(['graceSeconds', 'deviceId', 'authorization', 'content-type']);

const numberish = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -10, max: 200_000 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(0, 1, 10_080, 10_081, 86_400, 86_401, 1.5, '60', null, true, 2 ** 53),
  },
  { weight: 1, arbitrary: fc.constantFrom('1e999', '-0', '6e1').map((text) => new RawJson(text)) },
);

const snoozeBody = fc
  .record({
    minutes: maybe(numberish, 2),
    until: maybe(fc.constantFrom<unknown>('2099-01-01T00:00:00Z', 'tomorrow', '', 1, null), 1),
    extra: unknownFields,
  })
  .map(({ extra, ...fields }) => objectOf([...Object.entries(fields), ...extra]));

const keysBody = fc
  .record({ graceSeconds: maybe(numberish, 3), extra: unknownFields })
  .map(({ extra, ...fields }) => objectOf([...Object.entries(fields), ...extra]));

const bodiesOf = (values: fc.Arbitrary<Record<string, unknown>>) =>
  fc.oneof(
    { weight: 10, arbitrary: values.map((value): Body => ({ kind: 'value', value })) },
    { weight: 1, arbitrary: fc.jsonValue().map((value): Body => ({ kind: 'value', value })) },
    { weight: 1, arbitrary: oddBodies },
  );

/** The statuses an operator's or admin's POST may answer: the token, the media type, then the body. */
const allowedFor = (
  request: Post,
  sent: Sent,
  verdict: (body: unknown) => Verdict,
  answers: { valid: number; forViewer: number },
  emptyIsValid: boolean,
) => {
  if (request.auth === 'none') return [401];
  if (request.auth === 'viewer') return [answers.forViewer];
  if (emptyIsValid && sent.bytes.toString('utf8').trim() === '') return [answers.valid];
  if (!request.contentType.startsWith('application/json')) return [415];
  if (sent.bytes.length > BODY_LIMIT) return [413];
  if (sent.parsed === undefined || breaksShapeLimits(sent.parsed)) return [400];
  return { valid: [answers.valid], invalid: [400], either: [answers.valid, 400] }[verdict(sent.parsed)];
};

const isIntegerIn = (value: unknown, min: number, max: number) =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

const snoozeVerdict = (body: unknown): Verdict => {
  if (!isPlainObject(body)) return 'invalid';
  const keys = Object.keys(body);
  if (keys.length !== 1) return 'invalid';
  if (keys[0] === 'minutes') return isIntegerIn(body.minutes, 1, 10_080) ? 'valid' : 'invalid';
  return keys[0] === 'until' && body.until === '2099-01-01T00:00:00Z' ? 'valid' : 'invalid';
};

const keysVerdict = (body: unknown): Verdict =>
  isPlainObject(body) &&
  strictKeys(body, ['graceSeconds']) === 'valid' &&
  (!Object.hasOwn(body, 'graceSeconds') || isIntegerIn(body.graceSeconds, 0, 86_400))
    ? 'valid'
    : 'invalid';

describe("the operators' routes under fuzzed bodies", () => {
  it('POST /alerts/{id}/snooze names the bad field or reaches the alert (404: none), never a 5xx', async () => {
    const request = fc.record({ body: bodiesOf(snoozeBody), contentType, auth });
    await fc.assert(
      fc.asyncProperty(request, async (request) => {
        const sent = sentOf(request.body);
        const answer = await post('/alerts/fz-no-such-alert/snooze', request, sent);
        const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
        const allowed = allowedFor(request, sent, snoozeVerdict, { valid: 404, forViewer: 403 }, false);
        expect(allowed, shown).toContain(answer.status);
        expectRefusal(answer, sent.parsed, SNOOZE_VOCABULARY);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('POST /alerts/{id}/acknowledge and /resolve ignore what a body says, never a 5xx', async () => {
    const request = fc.record({
      action: fc.constantFrom('acknowledge', 'resolve'),
      body: bodiesOf(snoozeBody),
      contentType,
      auth,
    });
    await fc.assert(
      fc.asyncProperty(request, async (request) => {
        const sent = sentOf(request.body);
        const answer = await post(`/alerts/fz-no-such-alert/${request.action}`, request, sent);
        const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
        const expected = request.auth === 'none' ? 401 : request.auth === 'viewer' ? 403 : 404;
        expect(answer.status, shown).toBe(expected);
        expectRefusal(answer, undefined, SNOOZE_VOCABULARY);
      }),
      { numRuns: 30 },
    );
  }, 60_000);

  it('POST /devices/{id}/keys issues a key for a valid grace or names graceSeconds, never a 5xx', async () => {
    await t.registerDevice('fz-keys');
    const request = fc.record({ body: bodiesOf(keysBody), contentType, auth });
    await fc.assert(
      fc.asyncProperty(request, async (request) => {
        const sent = sentOf(request.body);
        const answer = await post('/devices/fz-keys/keys', request, sent);
        const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
        expect(allowedFor(request, sent, keysVerdict, { valid: 201, forViewer: 403 }, true), shown).toContain(
          answer.status,
        );
        if (answer.status === 201) expect(Object.keys(answer.json as object)).toEqual(['apiKey']);
        else expectRefusal(answer, sent.parsed, KEYS_VOCABULARY);
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
