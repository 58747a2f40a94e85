import { connect } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RestGateway } from '../../local-cloud/emulators/apigateway/rest-gateway.ts';
import { WebSocketGateway } from '../../local-cloud/emulators/apigateway/websocket-gateway.ts';
import { LambdaInvocationError, LambdaThrottledError } from '../../local-cloud/emulators/lambda/lambda.ts';
import { restApi, webSocketApi } from '../../local-cloud/launcher/resources.ts';
import { ErrorBody } from '../../schemas/error.ts';

const GOOD_KEY = 'good-key';
const HANG = 'hang';
const FAIL = 'fail';

const allow = (principalId: string) => ({
  principalId,
  policyDocument: {
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:*' }],
  },
});

/** The Lambda port of the gateways: authorizers accept one key/token, handlers echo the event they got. */
const fakeLambda = () => {
  const calls: { fn: string; event: Record<string, unknown> }[] = [];
  const invoke = async (fn: string, event: unknown): Promise<unknown> => {
    const received = event as Record<string, unknown>;
    calls.push({ fn, event: received });
    const headers = (received.headers ?? {}) as Record<string, string>;
    const query = (received.queryStringParameters ?? {}) as Record<string, string>;
    if (fn === 'bearerAuthorizer') {
      if (headers.authorization !== `Bearer ${GOOD_KEY}`) throw new Error('Unauthorized');
      return allow('device-1');
    }
    // The device route's function answers as a payload format 2.0 function may: without a statusCode.
    if (fn === 'ingest') return { seen: (received as unknown as APIGatewayProxyEventV2).rawPath };
    if (fn === 'websocketAuthorizer') {
      if (query.token !== GOOD_KEY) throw new Error('Unauthorized');
      return allow('viewer');
    }
    const proxy = received as unknown as APIGatewayProxyEvent;
    if (proxy.pathParameters?.deviceId === HANG) return new Promise(() => {});
    if (proxy.pathParameters?.deviceId === FAIL) {
      throw new LambdaInvocationError(
        'Sandbox.Timedout',
        'RequestId: x Error: Task timed out after 10.00 seconds',
        true,
      );
    }
    return {
      statusCode: 200,
      body: JSON.stringify({
        path: proxy.path,
        pathParameters: proxy.pathParameters,
        bodyLength: proxy.body?.length ?? 0,
      }),
    };
  };
  return { calls, invoke };
};

/** Sends raw bytes on a fresh TCP connection; resolves with everything the server wrote once it closed the connection. */
const rawExchange = (url: string, ...writes: (string | Buffer)[]): Promise<string> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname, () => {
      for (const chunk of writes) socket.write(chunk);
    });
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(received).toString('utf8')));
  });

const parseRaw = (raw: string) => {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(head.split(' ')[1]);
  return { status, head: head.toLowerCase(), body: ErrorBody.parse(JSON.parse(body)) };
};

describe('REST gateway hardening', () => {
  const lambda = fakeLambda();
  const gateway = new RestGateway({
    ...restApi(),
    invoke: lambda.invoke,
    region: 'us-east-1',
    accountId: '000000000000',
    allowedOrigin: '*',
    health: () => ({ status: 'ok', checks: {} }),
    integrationTimeoutMs: 300,
    authorizerCacheEntries: 50,
  });
  let url = '';
  beforeAll(async () => {
    url = await gateway.listen(0);
  });
  afterAll(async () => {
    await gateway.close();
  });
  const get = (path: string, key = GOOD_KEY) =>
    fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it('answers 504 in the contract shape when the integration outlasts the integration timeout', async () => {
    const response = await get(`/devices/${HANG}`);

    expect(response.status).toBe(504);
    expect(ErrorBody.parse(await response.json()).error.code).toBe('GatewayTimeout');
  });

  it('answers 502 in the contract shape when the function fails or times out', async () => {
    const response = await get(`/devices/${FAIL}`);

    expect(response.status).toBe(502);
    expect(ErrorBody.parse(await response.json()).error.code).toBe('InternalError');
  });

  it('refuses a device upload announced past 10 MB from its headers with 413, without reading the body', async () => {
    const before = lambda.calls.length;
    // Only 64 KiB of the announced 10 MB + 1 byte are ever sent: the answer cannot wait for the rest.
    const raw = await rawExchange(
      url,
      `POST /readings HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${10 * 1024 * 1024 + 1}\r\n\r\n`,
      Buffer.alloc(64 * 1024, 'a'),
    );
    const answer = parseRaw(raw);

    expect(answer.status).toBe(413);
    expect(answer.head).toContain('connection: close');
    expect(answer.body.error.code).toBe('PayloadTooLarge');
    expect(lambda.calls.length).toBe(before);
  });

  it('hands the device route to its function as an HTTP API does, payload format 2.0 and no authorizer', async () => {
    const before = lambda.calls.length;
    const response = await fetch(`${url}/readings?a=1&a=2`, {
      method: 'POST',
      headers: [
        ['X-Api-Key', 'any-key'],
        ['Content-Type', 'application/json'],
        ['Cookie', 'c1=v1; c2=v2'],
      ],
      body: '{"deviceId":"dev-1"}',
    });
    const calls = lambda.calls.slice(before);
    const event = calls[0]?.event as unknown as APIGatewayProxyEventV2;

    expect(calls.map((call) => call.fn)).toEqual(['ingest']);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /readings',
      rawPath: '/readings',
      rawQueryString: 'a=1&a=2',
      queryStringParameters: { a: '1,2' },
      cookies: ['c1=v1', 'c2=v2'],
      headers: { 'x-api-key': 'any-key', 'content-type': 'application/json' },
      requestContext: { http: { method: 'POST', path: '/readings' }, stage: '$default' },
      body: '{"deviceId":"dev-1"}',
      isBase64Encoded: false,
    });
    expect(event.headers).not.toHaveProperty('cookie');
    expect(typeof event.requestContext.requestId).toBe('string');
    // A 2.0 result without a statusCode is a 200 JSON body.
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ seen: '/readings' });
  });

  it('passes a device route body that is not text base64-encoded, as an HTTP API does', async () => {
    const before = lambda.calls.length;
    await fetch(`${url}/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 1, 2, 255]),
    });
    const event = lambda.calls[before]?.event as unknown as APIGatewayProxyEventV2;

    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('decodes encoded path parameters as API Gateway does, and keeps the path as sent', async () => {
    const response = await get('/devices/dev%20one%2Fsub%C3%A9%E2%82%AC+plus');
    const seen = (await response.json()) as { path: string; pathParameters: Record<string, string> };

    expect(response.status).toBe(200);
    expect(seen.pathParameters).toEqual({ deviceId: 'dev one/subé€+plus' });
    expect(seen.path).toBe('/devices/dev%20one%2Fsub%C3%A9%E2%82%AC+plus');
  });

  it('passes a path parameter that is not valid percent-encoding as sent, for the handler to validate', async () => {
    const response = await get('/devices/bad%E0%A4%A');
    const seen = (await response.json()) as { pathParameters: Record<string, string> };

    expect(seen.pathParameters).toEqual({ deviceId: 'bad%E0%A4%A' });
  });

  it('keeps the authorizer cache at its bound under many unique keys, and keeps answering right', async () => {
    for (let i = 0; i < 400; i++) {
      const response = await get('/devices', `unknown-${i}`);
      expect(response.status).toBe(401);
      await response.arrayBuffer();
      expect(gateway.authorizerCacheSize).toBeLessThanOrEqual(50);
    }
    const good = await get('/devices/dev-1');

    expect(good.status).toBe(200);
    expect(gateway.authorizerCacheSize).toBeLessThanOrEqual(50);
  });

  it('answers malformed requests and oversized headers with JSON bodies', async () => {
    const malformed = parseRaw(await rawExchange(url, 'NOT A REQUEST\r\n\r\n'));
    const oversized = parseRaw(
      await rawExchange(url, `GET /devices HTTP/1.1\r\nhost: x\r\nx-big: ${'b'.repeat(20_000)}\r\n\r\n`),
    );

    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'BadRequest']);
    expect([oversized.status, oversized.body.error.code]).toEqual([431, 'BadRequest']);
    expect(oversized.body.error.message).toMatch(/header/i);
  });
});

describe('REST gateway when Lambda throttles', () => {
  /** Lambda refuses the authorizer of bearer calls and the integration of device calls, as at its concurrency. */
  const throttling = async (fn: string): Promise<unknown> => {
    if (fn === 'bearerAuthorizer' || fn === 'ingest')
      throw new LambdaThrottledError('ConcurrentInvocationLimitExceeded');
    return allow('device-1');
  };
  const gateway = new RestGateway({
    ...restApi(),
    invoke: throttling,
    region: 'us-east-1',
    accountId: '000000000000',
    allowedOrigin: '*',
    health: () => ({ status: 'ok', checks: {} }),
    integrationTimeoutMs: 1000,
  });
  let url = '';
  beforeAll(async () => {
    url = await gateway.listen(0);
  });
  afterAll(async () => {
    await gateway.close();
  });

  it.each([
    ['its integration', '/readings', { method: 'POST', headers: { 'x-api-key': GOOD_KEY }, body: '{}' }],
    ['its authorizer', '/devices', { headers: { authorization: `Bearer ${GOOD_KEY}` } }],
  ])(
    'answers a request whose %s Lambda throttled 429 TooManyRequests with Retry-After, in the error shape',
    async (_, path, init) => {
      const response = await fetch(`${url}${path}`, init);

      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(ErrorBody.parse(await response.json()).error.code).toBe('TooManyRequests');
    },
  );
});

describe('WebSocket gateway hardening', () => {
  const lambda = fakeLambda();
  const gateway = new WebSocketGateway({
    ...webSocketApi(),
    invoke: lambda.invoke,
    region: 'us-east-1',
    accountId: '000000000000',
  });
  let url = '';
  beforeAll(async () => {
    url = await gateway.listen(0);
  });
  afterAll(async () => {
    await gateway.close();
  });

  const refusal = (query: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = new WebSocket(`${url}/${query}`);
      socket.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      socket.on('open', () => reject(new Error('the connection was accepted')));
      socket.on('error', () => {});
    });

  it('refuses an upgrade without a token, or with a bad one, with a JSON body naming the token', async () => {
    const missing = await refusal('');
    const bad = await refusal('?token=nope');

    expect(missing.status).toBe(401);
    expect(ErrorBody.parse(JSON.parse(missing.body)).error.details?.[0]?.path).toBe('token');
    expect(bad.status).toBe(401);
    expect(ErrorBody.parse(JSON.parse(bad.body)).error.message).toMatch(/token/);
  });

  it('answers oversized headers with a JSON body', async () => {
    const answer = parseRaw(
      await rawExchange(url, `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'b'.repeat(20_000)}\r\n\r\n`),
    );

    expect(answer.status).toBe(431);
    expect(answer.body.error.code).toBe('BadRequest');
  });
});
