import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tables } from '../../infra/topology.ts';
import { Device } from '../../schemas/device.ts';
import { startTestCloud, type TestCloud } from '../support/local-cloud.ts';
import {
  ABSENT,
  allKeys,
  BODY_LIMIT,
  breaksShapeLimits,
  exchange,
  expectErrorBody,
  getItem,
  hostileSegment,
  isPlainObject,
  METRIC_NAME,
  metricName,
  nested,
  numberVerdict,
  objectOf,
  orAbsent,
  prototypeSnapshot,
  RawJson,
  rawDynamo,
  shapedJson,
  toJsonText,
  type Verdict,
  worst,
} from './support.ts';

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const VOCABULARY = new Set([
  'deviceId',
  'name',
  'location',
  'latitude',
  'longitude',
  'label',
  'metrics',
  'unit',
  'alarms',
  'metric',
  'above',
  'below',
  'severity',
  'expectedIntervalSeconds',
  'authorization',
  'content-type',
]);
/** What a stored device item may hold: the contract's fields and the registry's own bookkeeping. */
const STORED_FIELDS = new Set([
  'deviceId',
  'name',
  'location',
  'metrics',
  'alarms',
  'expectedIntervalSeconds',
  'createdAt',
  'updatedAt',
  'apiKeyHash',
  'alarmStates',
  'lastReading',
]);
const POLLUTION_KEYS = ['__proto__', 'admin', 'polluted'];

let t: TestCloud;
let raw: ReturnType<typeof rawDynamo>;
let viewerToken: string;
/** What `GET /devices/{id}` answered last for every id a run touched: what must not change when a PUT is refused. */
const known = new Map<string, { status: number; text: string }>();

beforeAll(async () => {
  t = await startTestCloud();
  raw = rawDynamo(t.cloud);
  viewerToken = await t.viewerToken('*');
});
afterAll(() => t.stop());

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const often = <T>(arbitrary: fc.Arbitrary<T>, weight = 3) => orAbsent(arbitrary, weight, 2);

/** The path segment as the client writes it in the URL; valid ids come from a small pool so updates happen too. */
const pathSegment = hostileSegment(DEVICE_ID, ['fz-d1', 'fz-d2', 'fz-d3', 'fz.d4', 'FZ_5', '0']);

const numberish = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
  { weight: 2, arbitrary: fc.integer() },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('1e308', '-1e308', '5e-324', '-0', '9007199254740993', '1e999', '-1e999', '1e16')
      .map((text) => new RawJson(text)),
  },
  { weight: 1, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1', null, true, [], {}) },
);

const text = (max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(max, 40) }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', 'x'.repeat(max), 'y'.repeat(max + 1), '😀'.repeat(max / 2 + 1)),
    },
    { weight: 1, arbitrary: fc.constantFrom(null, 1, true, [], {}, ['x']) },
  );

const location = fc.oneof(
  { weight: 2, arbitrary: text(200) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        latitude: fc.oneof(
          fc.double({ min: -90, max: 90, noNaN: true }),
          numberish,
          fc.constantFrom(-90.5, 91),
        ),
        longitude: fc.oneof(fc.double({ min: -180, max: 180, noNaN: true }), numberish, fc.constantFrom(181)),
        label: often(text(200)),
        extra: fc.oneof(
          { weight: 8, arbitrary: fc.constant<[string, unknown][]>([]) },
          { weight: 1, arbitrary: fc.constant<[string, unknown][]>([['__proto__', { admin: true }]]) },
          { weight: 1, arbitrary: fc.constant<[string, unknown][]>([['altitude', 10]]) },
        ),
      })
      .map(({ extra, ...fields }) => objectOf([...Object.entries(fields), ...extra])),
  },
);

const metricDescriptions = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .uniqueArray(
        fc.tuple(
          metricName,
          fc.oneof(
            {
              weight: 6,
              arbitrary: fc.record({ unit: often(text(32)) }).map((f) => objectOf(Object.entries(f))),
            },
            {
              weight: 1,
              arbitrary: fc.constantFrom({ unit: 'x', scale: 2 }, null, 'celsius', [], { unit: '' }),
            },
            { weight: 1, arbitrary: fc.constant(objectOf([['__proto__', { admin: true }]])) },
          ),
        ),
        { selector: ([name]) => name, maxLength: 5 },
      )
      .map(objectOf),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(50, 51, 5000)
      .map((count) => objectOf(Array.from({ length: count }, (_, i) => [`m${i}`, {}]))),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, [], 'temperature', 5) },
);

const alarm = fc
  .record({
    metric: fc.oneof(
      { weight: 6, arbitrary: metricName },
      { weight: 1, arbitrary: fc.constant<unknown>(ABSENT) },
    ),
    above: often(numberish),
    below: often(numberish),
    severity: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('warning', 'critical') },
      { weight: 1, arbitrary: fc.constantFrom('fatal', 'Warning', '', null, ABSENT) },
    ),
    extra: fc.oneof(
      { weight: 8, arbitrary: fc.constant<[string, unknown][]>([]) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<[string, unknown][]>(
          [['__proto__', { admin: true }]],
          [['constructor', { prototype: { admin: true } }]],
          [['state', 'ALARM']],
        ),
      },
    ),
  })
  .map(({ extra, ...fields }) => objectOf([...Object.entries(fields), ...extra]));

const alarms = fc.oneof(
  { weight: 8, arbitrary: fc.array(alarm, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(alarm, { minLength: 19, maxLength: 22, size: 'max' }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(1000, 10_000)
      .map((count) => Array.from({ length: count }, () => ({ metric: 't', above: 1, severity: 'warning' }))),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, {}, 'none', [null], [[]]) },
);

const interval = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 86_400 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, 86_401, 1.5, '60', null, 2 ** 53) },
  { weight: 1, arbitrary: numberish },
);

const unknownFields = fc.oneof(
  { weight: 10, arbitrary: fc.constant<[string, unknown][]>([]) },
  {
    weight: 3,
    arbitrary: fc.array(
      fc.tuple(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'prototype',
          'admin',
          'colour',
          'apiKey',
          'apiKeyHash',
          'deviceId',
          'createdAt',
          'lastReading',
          'alarmStates',
          'role',
        ),
        fc.oneof(
          fc.constantFrom({ admin: true }, { prototype: { admin: true } }, { polluted: 'yes' }, 'x'),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  },
);

/** A `PUT /devices/{id}` body: every field optional, each fuzzed, sometimes with fields of its own. */
const deviceBody = fc
  .record({
    name: often(text(200)),
    location: often(location, 1),
    metrics: often(metricDescriptions, 1),
    alarms: often(alarms, 1),
    expectedIntervalSeconds: often(interval, 1),
    extra: unknownFields,
  })
  .map(({ extra, ...fields }) => objectOf([...Object.entries(fields), ...extra]));

type Body =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'text'; readonly text: string };
/** The body, or a field at any level of it, replaced by a fuzzed shape: deep, wide, a repeated key. */
const shaped = fc
  .record({
    shape: shapedJson('{"unit":"C"}'),
    where: fc.constantFrom(
      'body',
      'name',
      'location',
      'metrics',
      'metric',
      'unit',
      'alarms',
      'alarm',
      'above',
    ),
  })
  .map(({ shape, where }): Body => {
    const alarm = (above: unknown) => ({ metric: 't', above, severity: 'warning' });
    const values: Record<string, unknown> = {
      name: { name: shape },
      location: { location: shape },
      metrics: { metrics: shape },
      metric: { metrics: { t: shape } },
      unit: { metrics: { t: { unit: shape } } },
      alarms: { alarms: shape },
      alarm: { alarms: [alarm(1), shape] },
      above: { alarms: [alarm(shape)] },
    };
    return where === 'body' ? { kind: 'text', text: shape.text } : { kind: 'value', value: values[where] };
  });

const body = fc.oneof(
  { weight: 12, arbitrary: deviceBody.map((value): Body => ({ kind: 'value', value })) },
  { weight: 3, arbitrary: shaped },
  { weight: 2, arbitrary: fc.jsonValue().map((value): Body => ({ kind: 'value', value })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Body>(
      { kind: 'text', text: '{"__proto__":{"admin":true}}' },
      { kind: 'text', text: '{"constructor":{"prototype":{"admin":true}}}' },
      { kind: 'text', text: '{"name":"x","__proto__":{"admin":true}}' },
      { kind: 'text', text: '{"metrics":{"__proto__":{"unit":"x"}}}' },
      { kind: 'text', text: '{"metrics":{"t":{"__proto__":{"admin":true}}}}' },
      { kind: 'text', text: '{"alarms":[{"metric":"t","above":NaN,"severity":"warning"}]}' },
      { kind: 'text', text: '{"alarms":[{"metric":"t","above":1e999,"severity":"warning"}]}' },
      { kind: 'text', text: '{"alarms":[{"metric":"t","above":Infinity,"severity":"warning"}]}' },
      { kind: 'text', text: `{"location":${nested(2000, 'object')}}` },
      { kind: 'text', text: `{"name":"x"${',"name":"y"'.repeat(3)}}` },
      { kind: 'text', text: '' },
      { kind: 'text', text: 'not json' },
    ),
  },
);

type Auth = 'admin' | 'viewer' | 'none';
interface Put {
  readonly segment: string;
  readonly body: Body;
  readonly contentType: string;
  readonly auth: Auth;
}
const put: fc.Arbitrary<Put> = fc.record({
  segment: pathSegment,
  body,
  contentType: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded') },
  ),
  auth: fc.oneof(
    { weight: 14, arbitrary: fc.constant<Auth>('admin') },
    { weight: 1, arbitrary: fc.constantFrom<Auth>('viewer', 'none') },
  ),
});

// ---------------------------------------------------------------------------------------------
// The contract's rules, applied by the test
// ---------------------------------------------------------------------------------------------

/** Lengths count code points, as zod does: an emoji is one character to the person who typed it. */
const stringVerdict = (value: unknown, min: number, max: number): Verdict =>
  typeof value === 'string' && [...value].length >= min && [...value].length <= max ? 'valid' : 'invalid';

const strictKeys = (value: Record<string, unknown>, allowed: readonly string[]): Verdict =>
  Object.keys(value).every((key) => allowed.includes(key)) ? 'valid' : 'invalid';

const rangeVerdict = (value: unknown, min: number, max: number): Verdict =>
  typeof value === 'number' && value >= min && value <= max ? numberVerdict(value) : 'invalid';

const locationVerdict = (value: unknown): Verdict => {
  if (typeof value === 'string') return stringVerdict(value, 1, 200);
  if (!isPlainObject(value)) return 'invalid';
  return worst(
    strictKeys(value, ['latitude', 'longitude', 'label']),
    rangeVerdict(value.latitude, -90, 90),
    rangeVerdict(value.longitude, -180, 180),
    Object.hasOwn(value, 'label') ? stringVerdict(value.label, 0, 200) : 'valid',
  );
};

const metricsVerdict = (value: unknown): Verdict => {
  if (!isPlainObject(value)) return 'invalid';
  const names = Object.keys(value);
  if (names.length > 50) return 'invalid';
  return worst(
    ...names.map((name): Verdict => {
      const description = value[name];
      if (!METRIC_NAME.test(name) || !isPlainObject(description)) return 'invalid';
      return worst(
        strictKeys(description, ['unit']),
        Object.hasOwn(description, 'unit') ? stringVerdict(description.unit, 1, 32) : 'valid',
      );
    }),
  );
};

const alarmVerdict = (value: unknown): Verdict => {
  if (!isPlainObject(value)) return 'invalid';
  const { above, below } = value;
  const hasAbove = Object.hasOwn(value, 'above');
  const hasBelow = Object.hasOwn(value, 'below');
  const bound = (present: boolean, n: unknown): Verdict =>
    !present ? 'valid' : typeof n === 'number' ? numberVerdict(n) : 'invalid';
  return worst(
    strictKeys(value, ['metric', 'above', 'below', 'severity']),
    typeof value.metric === 'string' && METRIC_NAME.test(value.metric) ? 'valid' : 'invalid',
    value.severity === 'warning' || value.severity === 'critical' ? 'valid' : 'invalid',
    bound(hasAbove, above),
    bound(hasBelow, below),
    hasAbove || hasBelow ? 'valid' : 'invalid',
    hasAbove && hasBelow && !((below as number) < (above as number)) ? 'invalid' : 'valid',
  );
};

const FIELDS = ['name', 'location', 'metrics', 'alarms', 'expectedIntervalSeconds'];

const bodyVerdict = (value: unknown): Verdict => {
  if (breaksShapeLimits(value) || !isPlainObject(value)) return 'invalid';
  const field = (name: string, verdict: (v: unknown) => Verdict): Verdict =>
    Object.hasOwn(value, name) ? verdict(value[name]) : 'valid';
  return worst(
    strictKeys(value, FIELDS),
    field('name', (v) => stringVerdict(v, 1, 200)),
    field('location', locationVerdict),
    field('metrics', metricsVerdict),
    field('alarms', (v) =>
      Array.isArray(v) && v.length <= 20 ? worst('valid', ...v.map(alarmVerdict)) : 'invalid',
    ),
    field('expectedIntervalSeconds', (v) =>
      Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= 86_400 ? 'valid' : 'invalid',
    ),
  );
};

/** `-0` becomes `0` on the way through JSON and DynamoDB, as a client sees it. */
const asClientSees = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

const getDevice = async (id: string) => {
  const answer = await exchange(`${t.cloud.apiUrl}/devices/${id}`, {
    headers: { authorization: `Bearer ${t.adminToken}` },
  });
  return { status: answer.status, text: answer.text };
};

/**
 * One run: PUT, then check the status and body against the contract, the device as served and as
 * stored against what was accepted before, and that nothing anywhere grew an `admin` or a prototype.
 */
const putAndAssess = async (request: Put): Promise<void> => {
  // Prepare
  const pathname = new URL(`http://gateway/devices/${request.segment}`).pathname;
  const routed = /^\/devices\/([^/]+)$/.exec(pathname)?.[1];
  const id = routed !== undefined && DEVICE_ID.test(routed) ? routed : undefined;
  const before = id === undefined ? undefined : (known.get(id) ?? (await getDevice(id)));
  const bytes = Buffer.from(
    request.body.kind === 'text' ? request.body.text : toJsonText(request.body.value, ''),
  );
  let sent: unknown;
  try {
    sent = JSON.parse(bytes.toString('utf8'));
  } catch {
    sent = undefined;
  }
  const prototypesBefore = prototypeSnapshot();

  // Act
  const answer = await exchange(`${t.cloud.apiUrl}${pathname}`, {
    method: 'PUT',
    headers: {
      'content-type': request.contentType,
      ...(request.auth === 'admin' ? { authorization: `Bearer ${t.adminToken}` } : {}),
      ...(request.auth === 'viewer' ? { authorization: `Bearer ${viewerToken}` } : {}),
    },
    body: new Uint8Array(bytes),
  });
  const after = id === undefined ? undefined : await getDevice(id);
  if (id !== undefined && after) known.set(id, after);

  // Assess
  const shown = `${answer.status} ${answer.text.slice(0, 400)}`;
  expect(answer.status, shown).toBeLessThan(500);
  let allowed: readonly number[];
  if (routed === undefined) allowed = [404, 405];
  else if (request.auth === 'none') allowed = [401];
  else if (request.auth === 'viewer') allowed = [403];
  else if (id === undefined) allowed = [400];
  else if (!request.contentType.startsWith('application/json')) allowed = [415];
  else if (bytes.length > BODY_LIMIT) allowed = [413];
  else {
    const created = before?.status === 404;
    const accepted = created ? 201 : 200;
    allowed = { valid: [accepted], invalid: [400], either: [accepted, 400] }[bodyVerdict(sent)];
  }
  expect(allowed, shown).toContain(answer.status);

  if (answer.status >= 400) {
    expectErrorBody(answer, sent, VOCABULARY);
  } else {
    const { device, apiKey, ...rest } = answer.json as { device: unknown; apiKey?: unknown };
    expect(rest).toEqual({});
    if (answer.status === 201) expect(apiKey).toMatch(/^sbk_/);
    else expect(apiKey).toBeUndefined();
    const served = Device.safeParse(device);
    expect(served.success, JSON.stringify(device)).toBe(true);
    expect(served.data?.deviceId).toBe(id);
    for (const [field, value] of Object.entries(sent as Record<string, unknown>))
      expect((device as Record<string, unknown>)[field], field).toEqual(asClientSees(value));
  }

  if (id !== undefined) {
    if (answer.status === 200 || answer.status === 201) {
      expect(after?.status).toBe(200);
      expect(JSON.parse(after?.text ?? '')).toEqual({ device: (answer.json as { device: unknown }).device });
    } else {
      expect(after, 'a refused PUT changed the device').toEqual(before);
    }
    const stored = await getItem(raw, tables.devices.name, { deviceId: id });
    if (stored) {
      expect(Object.keys(stored).filter((key) => !STORED_FIELDS.has(key))).toEqual([]);
      expect(stored.apiKeyHash).toMatch(/^[0-9a-f]{64}$/);
    }
    const keys = allKeys(stored);
    for (const key of POLLUTION_KEYS) expect(keys.has(key), `stored device holds ${key}`).toBe(false);
  }
  expect(({} as Record<string, unknown>).admin).toBeUndefined();
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(prototypeSnapshot()).toBe(prototypesBefore);
};

describe('PUT /devices/{id} under fuzzed input', () => {
  it('answers fuzzed ids and bodies with a 2xx or the error shape, and stores only what it accepted', async () => {
    await fc.assert(fc.asyncProperty(put, putAndAssess), { numRuns: 500 });
  }, 120_000);

  it('lists no device that a refused PUT named, and serves every listed one in the contract shape', async () => {
    // Act
    const answer = await exchange(`${t.cloud.apiUrl}/devices`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    const { items } = answer.json as { items: unknown[] };

    // Assess
    expect(answer.status).toBe(200);
    const listed = items.map((item) => Device.parse(item).deviceId).sort();
    const created = [...known].filter(([, last]) => last.status === 200).map(([id]) => id);
    expect(listed).toEqual(created.sort());
  });
});
