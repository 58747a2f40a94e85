import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { STAGE_THROTTLE } from '../../infra/api.ts';
import { tables } from '../../infra/topology.ts';
import { ErrorMessage, SubscribedMessage } from '../../schemas/websocket.ts';
import { startTestCloud, type TestCloud, waitFor } from '../support/local-cloud.ts';
import {
  breaksShapeLimits,
  isPlainObject,
  nested,
  pathNamesField,
  RawJson,
  REQUEST_TIMEOUT_MS,
  rawDynamo,
  scanAll,
  shapedJson,
  toJsonText,
} from './support.ts';

const GRANT = ['fz-ws-a', 'fz-ws-b', 'fz-ws.c'];
const VOCABULARY = new Set(['action', 'deviceIds']);
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** API Gateway's WebSocket frame limit (128 KiB); past it the connection is closed with 1009. */
const FRAME_LIMIT = 128 * 1024;

let t: TestCloud;
let raw: ReturnType<typeof rawDynamo>;
let token: string;
const open: WebSocket[] = [];

beforeAll(async () => {
  // 300 runs of up to six frames each, sent as fast as answered, are over the stage's rate of
  // 100 messages a second: this suite is about each frame's answer, so its stage admits them
  // (throttling.test.ts holds the throttle and its frame).
  t = await startTestCloud({
    stageThrottle: { rest: STAGE_THROTTLE.rest, websocket: { rateLimit: 100_000, burstLimit: 100_000 } },
  });
  raw = rawDynamo(t.cloud);
  token = await t.viewerToken(GRANT);
});
afterAll(async () => {
  for (const socket of open) socket.terminate();
  await t.stop();
});

interface Client {
  readonly socket: WebSocket;
  readonly connectionId: string;
  readonly messages: string[];
  readonly closed: Promise<number>;
  /** Sends one frame and waits for the next message, which must be its one answer. */
  send(frame: Frame): Promise<string>;
}

/** Connects with the viewer token and finds the connection's id in the connections table. */
const connect = async (): Promise<Client> => {
  const before = new Set((await connectionItems()).map((item) => String(item.connectionId)));
  const socket = new WebSocket(`${t.cloud.wsUrl}/?token=${encodeURIComponent(token)}`, {
    handshakeTimeout: REQUEST_TIMEOUT_MS,
  });
  open.push(socket);
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const connectionId = await waitFor(
    async () =>
      (await connectionItems()).map((item) => String(item.connectionId)).find((id) => !before.has(id)),
    'the connection item',
  );
  return {
    socket,
    connectionId,
    messages,
    closed,
    send(frame) {
      const seen = messages.length;
      const answered = new Promise<string>((resolve, reject) => {
        const settle = (outcome: () => void) => {
          clearTimeout(timer);
          socket.off('message', onMessage);
          socket.off('close', onClose);
          outcome();
        };
        const onMessage = () => {
          const answer = messages[seen];
          if (answer !== undefined) settle(() => resolve(answer));
        };
        const onClose = (code: number) => settle(() => reject(new Error(`the connection closed (${code})`)));
        const timer = setTimeout(
          () => settle(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`))),
          REQUEST_TIMEOUT_MS,
        );
        socket.on('message', onMessage);
        socket.on('close', onClose);
      });
      socket.send(frame.kind === 'binary' ? frame.bytes : frame.text, { binary: frame.kind === 'binary' });
      return answered;
    },
  };
};

const connectionItems = async () =>
  (await scanAll(raw, tables.connections.name)).filter((item) => item.sk === 'connection');

/** The devices a connection is subscribed to, straight from the connections table. */
const subscriptionsOf = async (connectionId: string) =>
  (await scanAll(raw, tables.connections.name))
    .filter((item) => item.connectionId === connectionId && String(item.sk).startsWith('device#'))
    .map((item) => String(item.deviceId))
    .sort();

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

interface Printable {
  readonly [fc.toStringMethod]?: () => string;
}
type Frame =
  | (Printable & { readonly kind: 'text'; readonly text: string })
  | (Printable & { readonly kind: 'binary'; readonly bytes: Uint8Array });
/** Long frames print shortened in counterexamples; the seed and path replay them in full. */
const shortened = (text: string) =>
  text.length > 200 ? `${text.slice(0, 120)}… (${text.length} chars)` : text;
const textFrame = (text: string): Frame => ({
  kind: 'text',
  text,
  [fc.toStringMethod]: () => `text(${JSON.stringify(shortened(text))})`,
});
const binaryFrame = (bytes: Uint8Array): Frame => ({
  kind: 'binary',
  bytes,
  [fc.toStringMethod]: () =>
    `binary(${bytes.length} bytes: ${shortened(Buffer.from(bytes).toString('hex'))})`,
});

const ABSENT = Symbol('absent');
const objectOf = (entries: readonly (readonly [string, unknown])[]) =>
  Object.fromEntries(entries.filter(([, value]) => value !== ABSENT));

const deviceId = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...GRANT) },
  { weight: 3, arbitrary: fc.stringMatching(DEVICE_ID) },
  { weight: 1, arbitrary: fc.constantFrom('fz-ws-A', 'fz-ws-a ', 'fz-ws', '*', 'fz-ws-a,fz-ws-b') },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 70 }),
      fc.constantFrom('', 'x'.repeat(65), '__proto__', 'constructor', '../fz-ws-a', null, 1, true, [], {}, [
        'fz-ws-a',
      ]),
    ),
  },
);

const deviceIds = fc.oneof(
  { weight: 8, arbitrary: fc.array(deviceId, { minLength: 1, maxLength: 5 }) },
  { weight: 2, arbitrary: fc.array(deviceId, { minLength: 0, maxLength: 150, size: 'max' }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(99, 100, 101, 150)
      .map((count) => Array.from({ length: count }, (_, i) => GRANT[i % GRANT.length])),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('*', 'fz-ws-a', null, {}, 3, ABSENT) },
);

const action = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<unknown>('subscribe', 'unsubscribe') },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      'SUBSCRIBE',
      'Subscribe',
      'subscribe ',
      '$connect',
      '$disconnect',
      '$default',
      'sendmessage',
      '',
      null,
      1,
      true,
      [],
      {},
      ['subscribe'],
      { action: 'subscribe' },
      ABSENT,
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(10, 1000, 5000, 20_000)
      .chain((depth) =>
        fc.constantFrom<unknown>(new RawJson(nested(depth, 'array')), new RawJson(nested(depth, 'object'))),
      ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const extraFields = fc.oneof(
  { weight: 10, arbitrary: fc.constant<[string, unknown][]>([]) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.tuple(
        fc.constantFrom('__proto__', 'constructor', 'token', 'connectionId', 'role', 'deviceIDs', 'data'),
        fc.oneof(fc.constantFrom({ admin: true }, '*', { deviceIds: '*' }), fc.jsonValue({ maxDepth: 2 })),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  },
);

const message = fc
  .record({ action, deviceIds, extra: extraFields })
  .map(({ action: a, deviceIds: ids, extra }) =>
    textFrame(toJsonText(objectOf([['action', a], ['deviceIds', ids], ...extra]), '')),
  );

/** The frame, or one of its fields, replaced by a fuzzed shape: nested deep, thousands of entries, a repeated key. */
const shaped = fc
  .record({
    shape: shapedJson('"fz-ws-a"', 20_000),
    where: fc.constantFrom('frame', 'action', 'deviceIds', 'deviceId', 'extra'),
  })
  .map(({ shape, where }) => {
    if (where === 'frame') return textFrame(shape.text);
    const fields: [string, unknown][] = [
      ['action', where === 'action' ? shape : 'subscribe'],
      ['deviceIds', where === 'deviceIds' ? shape : where === 'deviceId' ? [shape] : ['fz-ws-a']],
      ...(where === 'extra' ? [['extra', shape] as [string, unknown]] : []),
    ];
    return textFrame(toJsonText(Object.fromEntries(fields), ''));
  });

const frame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 3, arbitrary: shaped },
  { weight: 10, arbitrary: message },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(textFrame) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).map(textFrame) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map(binaryFrame),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(10, 1000, 5000, 20_000)
      .chain((depth) => fc.constantFrom(nested(depth, 'array'), nested(depth, 'object')))
      .map(textFrame),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      textFrame(`{"action":"subscribe","deviceIds":["fz-ws-a"]}${' '.repeat(100 * 1024)}`),
      textFrame(`{"action":"subscribe","deviceIds":["${'x'.repeat(100 * 1024)}"]}`),
      textFrame(`{"action":"subscribe","deviceIds":["fz-ws-b"],"padding":"${'p'.repeat(100 * 1024)}"}`),
      textFrame(`{"action":"unsubscribe","deviceIds":["fz-ws-a"${',"fz-ws-a"'.repeat(12_000)}]}`),
      binaryFrame(new Uint8Array(100 * 1024).fill(0x7b)),
      binaryFrame(new TextEncoder().encode('{"action":"subscribe","deviceIds":["fz-ws-a"]}')),
      textFrame(''),
      textFrame('null'),
      textFrame('{"action":"subscribe","action":"unsubscribe","deviceIds":["fz-ws-a"]}'),
      textFrame('{"action":"subscribe","deviceIds":["fz-ws-a"],"__proto__":{"deviceIds":"*"}}'),
    ),
  },
);

// ---------------------------------------------------------------------------------------------
// The contract's answer to one frame
// ---------------------------------------------------------------------------------------------

type Expected =
  | { readonly type: 'subscribed' | 'unsubscribed'; readonly deviceIds: readonly string[] }
  | { readonly type: 'error'; readonly code: 'BadRequest' }
  | { readonly type: 'error'; readonly code: 'Forbidden'; readonly deviceIds: readonly string[] };

const badRequest: Expected = { type: 'error', code: 'BadRequest' };

const expectedAnswer = (sent: Frame): Expected => {
  if (sent.kind === 'binary') return badRequest;
  let parsed: unknown;
  try {
    parsed = JSON.parse(sent.text);
  } catch {
    return badRequest;
  }
  if (breaksShapeLimits(parsed) || !isPlainObject(parsed)) return badRequest;
  const { action: requested, deviceIds: ids } = parsed;
  if (requested !== 'subscribe' && requested !== 'unsubscribe') return badRequest;
  const wellFormed =
    Object.keys(parsed).every((key) => key === 'action' || key === 'deviceIds') &&
    Array.isArray(ids) &&
    ids.length >= 1 &&
    ids.length <= 100 &&
    ids.every((id) => typeof id === 'string' && DEVICE_ID.test(id));
  if (!wellFormed) return badRequest;
  const unique = [...new Set(ids as string[])];
  if (requested === 'unsubscribe') return { type: 'unsubscribed', deviceIds: unique };
  const forbidden = unique.filter((id) => !GRANT.includes(id));
  if (forbidden.length > 0) return { type: 'error', code: 'Forbidden', deviceIds: forbidden };
  return { type: 'subscribed', deviceIds: unique };
};

let client: Client | undefined;
/** The long-lived connection; a new one if a failed run lost it, so shrinking replays each run on an open connection. */
const current = async (): Promise<Client> => {
  if (client?.socket.readyState !== WebSocket.OPEN) client = await connect();
  return client;
};

/**
 * One run: a few frames on one long-lived connection. Each gets exactly one answer of the
 * contract's shape; the connection stays open; what is stored is what the answers said.
 */
const converse = async (frames: readonly Frame[]): Promise<void> => {
  // Prepare
  const { socket, connectionId, messages, send } = await current();
  const subscribed = new Set(await subscriptionsOf(connectionId));
  const sentinel = textFrame('{"action":"unsubscribe","deviceIds":["fz-ws-sentinel"]}');

  for (const sent of frames) {
    const expected = expectedAnswer(sent);

    // Act
    const answerText = await send(sent);

    // Assess
    const answer: unknown = JSON.parse(answerText);
    const shape = expected.type === 'error' ? ErrorMessage : SubscribedMessage;
    expect(
      shape.safeParse(answer).success,
      `not a ${expected.type} message: ${answerText.slice(0, 300)}`,
    ).toBe(true);
    expect(answer, answerText.slice(0, 300)).toMatchObject(expected);
    if (expected.type === 'error' && expected.code === 'BadRequest' && sent.kind === 'text') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(sent.text);
      } catch {
        parsed = undefined;
      }
      for (const detail of (answer as { details?: { path: string }[] }).details ?? [])
        expect(pathNamesField(detail.path, parsed, VOCABULARY), detail.path).toBe(true);
    }
    if (expected.type === 'subscribed') for (const id of expected.deviceIds) subscribed.add(id);
    if (expected.type === 'unsubscribed') for (const id of expected.deviceIds) subscribed.delete(id);
    expect(socket.readyState, 'the connection was closed').toBe(WebSocket.OPEN);
  }

  // Assess: nothing more arrived than one answer each, and the table holds what the answers said
  const before = messages.length;
  expect(JSON.parse(await send(sentinel))).toEqual({ type: 'unsubscribed', deviceIds: ['fz-ws-sentinel'] });
  expect(messages, 'a frame got more than one answer').toHaveLength(before + 1);
  expect(await subscriptionsOf(connectionId)).toEqual([...subscribed].sort());
  const everywhere = (await scanAll(raw, tables.connections.name)).filter((item) =>
    String(item.sk).startsWith('device#'),
  );
  expect(everywhere.filter((item) => !GRANT.includes(String(item.deviceId)))).toEqual([]);
};

describe('WebSocket messages under fuzz', () => {
  it('answers every frame exactly once with subscribed, unsubscribed or error, keeping the connection open', async () => {
    await fc.assert(fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), converse), {
      numRuns: 300,
    });
  }, 120_000);

  it('closes a connection with 1009 for a frame over 128 KiB, without answering, and forgets it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: FRAME_LIMIT + 1, max: 4 * FRAME_LIMIT }),
        fc.boolean(),
        async (size, binary) => {
          // Prepare
          const victim = await connect();
          await victim.send(textFrame('{"action":"subscribe","deviceIds":["fz-ws-a"]}'));
          const seen = victim.messages.length;

          // Act
          victim.socket.send(binary ? new Uint8Array(size).fill(0x20) : ' '.repeat(size), { binary });
          const code = await Promise.race([
            victim.closed,
            new Promise<string>((resolve) => setTimeout(() => resolve('still open'), REQUEST_TIMEOUT_MS)),
          ]);

          // Assess
          expect(code).toBe(1009);
          expect(victim.messages).toHaveLength(seen);
          await waitFor(
            async () => (await subscriptionsOf(victim.connectionId)).length === 0,
            'the closed connection to be forgotten',
          );
        },
      ),
      { numRuns: 6 },
    );
  }, 60_000);

  it('answers a frame of exactly 128 KiB and keeps the connection open', async () => {
    const { socket, send } = await current();
    const head = '{"action":"subscribe","deviceIds":["fz-ws-b"]}';

    // Act
    const answer = await send(textFrame(head + ' '.repeat(FRAME_LIMIT - head.length)));

    // Assess
    expect(JSON.parse(answer)).toEqual({ type: 'subscribed', deviceIds: ['fz-ws-b'] });
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });
});
