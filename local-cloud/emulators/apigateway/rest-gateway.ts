import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { type InvokeOptions, isThrottle } from '../lambda/lambda.ts';
import { PayloadTooLarge, readBody } from '../shared/aws-protocol.ts';
import { BoundedCache } from '../shared/bounded-cache.ts';
import { type HealthReport, healthStatusCode } from '../shared/health.ts';
import { answerClientErrorsWithJson, closeServer } from '../shared/servers.ts';
import { type ThrottleSettings, TokenBucket } from '../shared/token-bucket.ts';
import type { ErrorBodies } from './error-bodies.ts';
import { readPrelude } from './streaming-integration.ts';

/** API Gateway REST APIs take at most 10 MB per request (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** A REQUEST Lambda authorizer whose answer is cached by one header (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html). */
export interface RestAuthorizer {
  readonly function: string;
  /** The header API Gateway requires and caches the authorizer's answer by. */
  readonly identityHeader: string;
  readonly cacheTtlSeconds: number;
}

/** A method on a resource path (`{param}` placeholders) with a Lambda proxy integration behind its authorizer. */
export interface RestRoute {
  /** The REST API (payload format 1.0); the default. */
  readonly api?: 'rest';
  readonly method: string;
  readonly path: string;
  readonly function: string;
  readonly authorizer: RestAuthorizer;
  /** `STREAM`: the function streams its answer, passed to the client as it comes (see {@link RestGateway}). */
  readonly responseTransferMode?: 'BUFFERED' | 'STREAM';
}

/**
 * A route of an HTTP API: a Lambda proxy integration with payload format 2.0 and no authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
 */
export interface HttpApiRoute {
  readonly api: 'http';
  readonly method: string;
  readonly path: string;
  readonly function: string;
  readonly payloadFormatVersion: '2.0';
}

/** A route of either API the gateway serves on its port. */
export type GatewayRoute = RestRoute | HttpApiRoute;

/** A gateway response of the API (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html). */
export interface GatewayResponse {
  readonly type: string;
  /** Overrides the status API Gateway would answer with. */
  readonly statusCode?: number;
  readonly template: string;
  /** Static headers it answers with (`Retry-After` on a throttled request). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One answer of the gateway; `function` is absent when the gateway answered by itself. */
export interface GatewayAnswer {
  /** The API that answered: the REST API, or the HTTP API of an `api: 'http'` route. */
  readonly api: 'rest' | 'http';
  readonly function?: string;
  readonly statusCode: number;
  readonly body: string;
}

export interface RestGatewayOptions {
  readonly routes: readonly GatewayRoute[];
  /** What the gateway answers when it refuses a request itself, by response type. */
  readonly gatewayResponses: readonly GatewayResponse[];
  readonly bodies: ErrorBodies;
  /** Runs a function; an integration says how long it may wait for an execution environment. */
  readonly invoke: (fn: string, event: unknown, options?: InvokeOptions) => Promise<unknown>;
  /** `InvokeWithResponseStream`, for the routes that stream: the function's response stream as it is written. */
  readonly invokeWithResponseStream?: (fn: string, event: unknown, options?: InvokeOptions) => Readable;
  readonly region: string;
  readonly accountId: string;
  /** The dashboard's origin, allowed by CORS. */
  readonly allowedOrigin: string;
  /** What `GET /health` answers. */
  readonly health: () => HealthReport;
  /** How long an integration may take before the caller gets 504 (29 s on AWS); tests shorten it. */
  readonly integrationTimeoutMs: number;
  /** How many authorizer answers are cached at most (each for its authorizer's TTL). */
  readonly authorizerCacheEntries?: number;
  /** Told of every answer to a routed request (not of health checks or CORS preflights). */
  readonly onAnswer?: (answer: GatewayAnswer) => void;
  /**
   * The stage's throttle, one bucket for the REST API and one for the HTTP API (each API's stage
   * has its own on AWS); requests over it are answered 429 before any authorizer or function runs.
   * Unthrottled when absent.
   */
  readonly throttle?: ThrottleSettings;
}

const ProxyResult = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});

const ProxyResultV2 = ProxyResult.extend({ cookies: z.array(z.string()).default([]) });

/**
 * A payload format 2.0 result as an HTTP API reads it: with a `statusCode`, the response as given
 * (cookies as `Set-Cookie`); without one, any JSON value, answered 200 as an `application/json` body.
 */
const resultV2 = (raw: unknown): ReturnType<typeof ProxyResultV2.safeParse> =>
  typeof raw === 'object' && raw !== null && 'statusCode' in raw
    ? ProxyResultV2.safeParse(raw)
    : ProxyResultV2.safeParse({
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(raw) ?? 'null',
      });

const AuthorizerResult = z.object({
  principalId: z.string(),
  policyDocument: z.object({
    Statement: z.array(
      z
        .object({ Effect: z.enum(['Allow', 'Deny']), Resource: z.union([z.string(), z.array(z.string())]) })
        .loose(),
    ),
  }),
  context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

type CachedAuthorization = z.infer<typeof AuthorizerResult> | 'Unauthorized';

/** Default statuses of the response types API Gateway answers itself (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html). */
type GatewayResponseType =
  | 'UNAUTHORIZED'
  | 'ACCESS_DENIED'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'REQUEST_TOO_LARGE'
  | 'THROTTLED'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'AUTHORIZER_FAILURE'
  | 'AUTHORIZER_CONFIGURATION_ERROR'
  | 'BAD_REQUEST_PARAMETERS'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';

const DEFAULT_AUTHORIZER_CACHE_ENTRIES = 10_000;

/**
 * The share of the integration timeout an invocation may spend waiting for an execution
 * environment: a request that cannot start within it would leave its handler too little of the
 * timeout, so it is throttled (429, retried by the client) instead of answered 504.
 */
const INTEGRATION_WAIT_SHARE = 0.5;

const API_ID = 'local';
/** The HTTP API's stage: `$default`, served at the root of its endpoint. */
const HTTP_STAGE = '$default';
const TIMED_OUT = Symbol('integration timed out');
const STAGE = 'local';

const templateToRegExp = (path: string): RegExp =>
  new RegExp(`^${path.replace(/\{(\w+)\}/g, (_, name: string) => `(?<${name}>[^/]+)`)}$`);

/**
 * Path parameters as a REST API hands them to the integration: matched on the path as sent, one
 * segment each (an encoded `%2F` stays inside its segment), then percent-decoded (`%20` is a
 * space, `%2F` a slash, UTF-8 sequences their characters; `+` stays `+`). `path` itself keeps its
 * encoding. A parameter that is not valid percent-encoding is passed as sent, for the handler's
 * validation to name.
 */
const decodePathParameters = (groups: Record<string, string> | undefined): Record<string, string> | null => {
  if (!groups) return null;
  return Object.fromEntries(
    Object.entries(groups).map(([name, raw]) => {
      try {
        return [name, decodeURIComponent(raw)];
      } catch {
        return [name, raw];
      }
    }),
  );
};

/**
 * Single- and multi-value maps of repeated names (headers, query parameters), the last value
 * winning in the single one, as API Gateway builds them. Every name is an own property, even
 * `__proto__` or `constructor`, so a hostile name reaches the handler's validation instead of
 * the prototype chain.
 */
const byName = (
  pairs: Iterable<[string, string]>,
): [single: Record<string, string>, multi: Record<string, string[]>] => {
  const values = new Map<string, string[]>();
  for (const [name, value] of pairs) values.set(name, [...(values.get(name) ?? []), value]);
  return [
    Object.fromEntries([...values].map(([name, all]) => [name, all.at(-1) ?? ''])),
    Object.fromEntries(values),
  ];
};

/**
 * Repeated names joined with commas, as an HTTP API builds a 2.0 event's headers and query string
 * parameters. Every name is an own property, even `__proto__`.
 */
const joinedByName = (pairs: Iterable<[string, string]>): Record<string, string> =>
  Object.fromEntries(Object.entries(byName(pairs)[1]).map(([name, values]) => [name, values.join(',')]));

/** Whether an HTTP API passes a body of this content type as text rather than base64. */
const isTextual = (contentType: string | undefined): boolean => {
  const media = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    media.startsWith('text/') ||
    media === 'application/json' ||
    media.endsWith('+json') ||
    media === 'application/xml' ||
    media.endsWith('+xml') ||
    media === 'application/javascript' ||
    media === 'application/x-www-form-urlencoded'
  );
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.time` of a 2.0 event: `12/Mar/2020:19:03:58 +0000`. */
const clfTime = (at: Date): string => {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;
};

const wildcardMatch = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);

/**
 * The local REST API: turns HTTP requests into API Gateway proxy events (payload format 1.0),
 * runs the route's Lambda authorizer with API Gateway's caching, and invokes the handler
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
 * On the same port it serves the routes of an HTTP API (`api: 'http'`), as that API would: no
 * authorizer, payload format 2.0 events and results, a throttle bucket of its own.
 */
export class RestGateway {
  readonly #options: RestGatewayOptions;
  readonly #server: Server;
  readonly #cache: BoundedCache<CachedAuthorization>;
  readonly #routes: readonly { route: GatewayRoute; pattern: RegExp }[];
  readonly #responses: ReadonlyMap<string, GatewayResponse>;
  readonly #pruner: NodeJS.Timeout;
  readonly #buckets: Readonly<Record<GatewayAnswer['api'], TokenBucket>> | undefined;
  /** How every invocation of this API waits for an execution environment. */
  readonly #wait: InvokeOptions;

  constructor(options: RestGatewayOptions) {
    this.#options = options;
    this.#wait = { maxWaitMs: options.integrationTimeoutMs * INTEGRATION_WAIT_SHARE };
    this.#buckets = options.throttle && {
      rest: new TokenBucket(options.throttle),
      http: new TokenBucket(options.throttle),
    };
    this.#cache = new BoundedCache(options.authorizerCacheEntries ?? DEFAULT_AUTHORIZER_CACHE_ENTRIES);
    this.#routes = options.routes.map((route) => ({ route, pattern: templateToRegExp(route.path) }));
    this.#responses = new Map(options.gatewayResponses.map((response) => [response.type, response]));
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch(() => {
        if (!res.headersSent) this.#gateway(req, res, 'DEFAULT_5XX', 500, 'Internal server error');
        else res.destroy();
      });
    });
    // Idle keep-alive connections stay open longer than clients keep them (as the edge does), so
    // a client never sends a request on a socket the gateway is closing (ECONNRESET under load).
    this.#server.keepAliveTimeout = 65_000;
    this.#pruner = setInterval(() => this.#cache.prune(), 60_000).unref();
    answerClientErrorsWithJson(
      this.#server,
      (status, message) => this.#gatewayBody('DEFAULT_4XX', status, message).body,
    );
  }

  /** Cached authorizer answers now held (bounded by `authorizerCacheEntries`). */
  get authorizerCacheSize(): number {
    return this.#cache.size;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    return `http://${host === '0.0.0.0' ? 'localhost' : host}:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Stops accepting requests and resolves once the ones in flight are answered. */
  async close(): Promise<void> {
    clearInterval(this.#pruner);
    await closeServer(this.#server, 10_000);
  }

  /** Forgets cached authorizer answers (API Gateway's "flush authorizer cache"). */
  flushAuthorizerCache(): void {
    this.#cache.clear();
  }

  /** The deployed gateway response of `type`, or DEFAULT_4XX/DEFAULT_5XX when it has none, as on AWS. */
  #gatewayBody(
    type: GatewayResponseType,
    status: number,
    message: string,
  ): { status: number; body: string; headers: Readonly<Record<string, string>> } {
    const response =
      this.#responses.get(type) ?? this.#responses.get(status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
    if (!response) throw new Error(`No gateway response for ${type}`);
    return {
      status: response.statusCode ?? status,
      body: this.#options.bodies.render(response.template, message),
      headers: response.headers ?? {},
    };
  }

  #cors(origin: string | undefined): Record<string, string> {
    const allowed = this.#options.allowedOrigin;
    return {
      'access-control-allow-origin': allowed === '*' || origin === allowed ? (origin ?? allowed) : allowed,
      vary: 'Origin',
    };
  }

  #error(res: ServerResponse, status: number, code: string, message: string, path?: string, origin?: string) {
    const body = this.#options.bodies.error(code, message, path);
    this.#options.onAnswer?.({ api: 'rest', statusCode: status, body });
    res.writeHead(status, { 'content-type': 'application/json', ...this.#cors(origin) }).end(body);
  }

  /**
   * Answers as API Gateway does when it refuses a request itself: the deployed gateway response's
   * status and body. A request whose body was not read is answered with `connection: close`, so
   * the rest of it is never read.
   */
  #gateway(
    req: IncomingMessage,
    res: ServerResponse,
    type: GatewayResponseType,
    status: number,
    message: string,
    onlyDetailOf?: string,
  ) {
    const answer = this.#gatewayBody(type, status, message);
    const body =
      onlyDetailOf === undefined
        ? answer.body
        : this.#options.bodies.narrowToCredential(answer.body, onlyDetailOf.toLowerCase());
    res
      .writeHead(answer.status, {
        ...answer.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...this.#cors(req.headers.origin),
        ...(req.complete ? {} : { connection: 'close' }),
      })
      .end(body);
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;

    if (method === 'OPTIONS') {
      res
        .writeHead(204, {
          ...this.#cors(origin),
          'access-control-allow-methods': 'GET,POST,PUT,DELETE,OPTIONS',
          'access-control-allow-headers': 'content-type,authorization,x-api-key,x-correlation-id',
          'access-control-max-age': '600',
        })
        .end();
      return;
    }
    if (url.pathname === '/health' && method === 'GET') {
      const report = this.#options.health();
      res
        .writeHead(healthStatusCode(report), { 'content-type': 'application/json', ...this.#cors(origin) })
        .end(JSON.stringify(report));
      return;
    }

    const candidates = this.#routes
      .map(({ route, pattern }) => ({ route, match: pattern.exec(url.pathname) }))
      .filter((c) => c.match !== null);
    const found = candidates.find((c) => c.route.method === method);
    const api = found?.route.api ?? 'rest';

    if (this.#buckets && !this.#buckets[api].take()) {
      req.resume();
      this.#gateway(req, res, 'THROTTLED', 429, 'Too Many Requests');
      this.#options.onAnswer?.({ api, statusCode: 429, body: '' });
      return;
    }

    if (candidates.length === 0)
      return this.#gateway(req, res, 'MISSING_AUTHENTICATION_TOKEN', 403, 'Missing Authentication Token');
    if (!found?.match)
      return this.#error(
        res,
        405,
        'MethodNotAllowed',
        `${method} is not allowed on ${url.pathname}`,
        undefined,
        origin,
      );

    const rawHeaders: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      rawHeaders.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
    const pathParameters = decodePathParameters(found.match.groups);
    const requestId = randomUUID();
    if (found.route.api === 'http')
      return this.#serveHttpApi(found.route, { req, res, url, rawHeaders, pathParameters, requestId });
    const route = found.route;
    const [headers, multiValueHeaders] = byName(rawHeaders);
    const [query, multiQuery] = byName(url.searchParams);
    const methodArn = `arn:aws:execute-api:${this.#options.region}:${this.#options.accountId}:${API_ID}/${STAGE}/${method}${url.pathname}`;

    const authorizerSpec = route.authorizer;
    const authorization = await this.#authorize(authorizerSpec, {
      type: 'REQUEST',
      methodArn,
      resource: route.path,
      path: url.pathname,
      httpMethod: method,
      headers,
      multiValueHeaders,
      queryStringParameters: query,
      multiValueQueryStringParameters: multiQuery,
      pathParameters,
      stageVariables: null,
      requestContext: { requestId, stage: STAGE, resourcePath: route.path, httpMethod: method },
    });
    // The authorizer has decided from the headers alone; a refused request's body is never read.
    if (authorization.status === 401) {
      return this.#gateway(req, res, 'UNAUTHORIZED', 401, 'Unauthorized', authorizerSpec.identityHeader);
    }
    if (authorization.status === 403) {
      return this.#gateway(req, res, 'ACCESS_DENIED', 403, 'User is not authorized to access this resource');
    }
    if (authorization.status === 429) {
      this.#gateway(req, res, 'AUTHORIZER_CONFIGURATION_ERROR', 500, 'Internal server error');
      this.#options.onAnswer?.({ api: 'rest', statusCode: res.statusCode, body: '' });
      return;
    }
    if (authorization.status !== 200) {
      return this.#gateway(req, res, 'AUTHORIZER_FAILURE', 500, 'Authorizer failed');
    }

    const body = await this.#readBody(req, res);
    if (!body) return;

    const event: APIGatewayProxyEvent = {
      resource: route.path,
      path: url.pathname,
      httpMethod: method,
      headers,
      multiValueHeaders,
      queryStringParameters: Object.keys(query).length > 0 ? query : null,
      multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
      pathParameters,
      stageVariables: null,
      body: body.length > 0 ? body.toString('utf8') : null,
      isBase64Encoded: false,
      requestContext: {
        accountId: this.#options.accountId,
        apiId: API_ID,
        authorizer: { ...authorization.context, principalId: authorization.principalId },
        protocol: `HTTP/${req.httpVersion}`,
        httpMethod: method,
        identity: identityOf(req),
        path: `/${STAGE}${url.pathname}`,
        stage: STAGE,
        requestId,
        requestTimeEpoch: Date.now(),
        resourceId: route.path,
        resourcePath: route.path,
      },
    };
    if (route.responseTransferMode === 'STREAM') await this.#invokeStreaming(route, event, req, res);
    else await this.#invoke(route, event, req, res);
  }

  /** The request's body, or undefined once it is answered 413 (past API Gateway's 10 MB). */
  async #readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    if (Number(req.headers['content-length'] ?? 0) > MAX_PAYLOAD_BYTES) {
      this.#gateway(req, res, 'REQUEST_TOO_LARGE', 413, 'Request Too Long');
      return undefined;
    }
    try {
      return await readBody(req, MAX_PAYLOAD_BYTES);
    } catch (error) {
      if (!(error instanceof PayloadTooLarge)) throw error;
      this.#gateway(req, res, 'REQUEST_TOO_LARGE', 413, 'Request Too Long');
      return undefined;
    }
  }

  /**
   * A route of the HTTP API: no authorizer runs, the function gets a payload format 2.0 event
   * (header names lower-cased, repeated headers and query parameters joined with commas, cookies
   * apart, a body that is not text base64-encoded) and its answer is mapped as an HTTP API maps a
   * 2.0 result: a result without `statusCode` is a 200 JSON body
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
   * What the gateway answers by itself (throttle, 413, integration failures) keeps the REST API's
   * gateway responses, so a client meets one error shape on the local port.
   */
  async #serveHttpApi(
    route: HttpApiRoute,
    request: {
      req: IncomingMessage;
      res: ServerResponse;
      url: URL;
      rawHeaders: readonly [string, string][];
      pathParameters: Record<string, string> | null;
      requestId: string;
    },
  ): Promise<void> {
    const { req, res, url } = request;
    const body = await this.#readBody(req, res);
    if (!body) return;
    const lowerCased = request.rawHeaders.map(([name, value]): [string, string] => [
      name.toLowerCase(),
      value,
    ]);
    const cookies = lowerCased
      .filter(([name]) => name === 'cookie')
      .flatMap(([, value]) => value.split(/;\s*/));
    const headers = joinedByName(lowerCased.filter(([name]) => name !== 'cookie'));
    const query = joinedByName(url.searchParams);
    const text = isTextual(headers['content-type']);
    const now = new Date();
    const routeKey = `${route.method} ${route.path}`;
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      ...(cookies.length > 0 ? { cookies } : {}),
      headers,
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
      requestContext: {
        accountId: this.#options.accountId,
        apiId: API_ID,
        domainName: headers.host ?? 'localhost',
        domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
        http: {
          method: route.method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: request.requestId,
        routeKey,
        stage: HTTP_STAGE,
        time: clfTime(now),
        timeEpoch: now.getTime(),
      },
      ...(body.length > 0 ? { body: body.toString(text ? 'utf8' : 'base64') } : {}),
      isBase64Encoded: body.length > 0 && !text,
    };
    await this.#invoke(route, event, req, res);
  }

  async #authorize(
    spec: RestAuthorizer,
    event: Record<string, unknown> & { headers: Record<string, string>; methodArn: string },
  ): Promise<
    | { status: 200; principalId: string; context: Record<string, unknown> }
    | { status: 401 | 403 | 500 }
    | { status: 429 }
  > {
    const identity = Object.entries(event.headers).find(
      ([k]) => k.toLowerCase() === spec.identityHeader.toLowerCase(),
    )?.[1];
    if (!identity) return { status: 401 };
    const cacheKey = `${spec.function}\n${identity}`;
    let cached = this.#cache.get(cacheKey);
    if (cached === undefined) {
      try {
        const parsed = AuthorizerResult.safeParse(
          await this.#options.invoke(spec.function, event, this.#wait),
        );
        if (!parsed.success) return { status: 500 };
        cached = parsed.data;
      } catch (error) {
        // Lambda throttled the authorizer: API Gateway could not reach it (nothing is cached).
        if (isThrottle(error)) return { status: 429 };
        if (!(error instanceof Error && error.message === 'Unauthorized')) return { status: 500 };
        cached = 'Unauthorized';
      }
      this.#cache.set(cacheKey, cached, spec.cacheTtlSeconds * 1000);
    }
    if (cached === 'Unauthorized') return { status: 401 };
    const statements = cached.policyDocument.Statement;
    const covers = (s: { Resource: string | string[] }) =>
      [s.Resource].flat().some((resource) => wildcardMatch(resource, event.methodArn));
    if (
      statements.some((s) => s.Effect === 'Deny' && covers(s)) ||
      !statements.some((s) => s.Effect === 'Allow' && covers(s))
    ) {
      return { status: 403 };
    }
    return { status: 200, principalId: cached.principalId, context: cached.context ?? {} };
  }

  /**
   * A route with response streaming: the function is invoked with `InvokeWithResponseStream`,
   * its prelude becomes the status and headers, and its payload goes to the client chunk by chunk
   * at the client's pace. The integration timeout bounds the wait for the prelude; after it, the
   * function's own timeout bounds the stream. Failures before the prelude are answered as for a
   * buffered route; a failure after it cuts the response short (no final chunk), so a client
   * never takes a truncated body for a whole one.
   */
  async #invokeStreaming(
    route: RestRoute,
    event: APIGatewayProxyEvent,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const invoke = this.#options.invokeWithResponseStream;
    if (!invoke)
      throw new Error(`${route.method} ${route.path} streams, and the gateway was given no streaming invoke`);
    // Until the pipe below listens, a failure of the stream is answered where it is read, not thrown.
    const body = invoke(route.function, event, this.#wait).on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#options.integrationTimeoutMs);
    });
    let started: Awaited<ReturnType<typeof readPrelude>> | typeof TIMED_OUT;
    try {
      started = await Promise.race([readPrelude(body), timedOut]);
    } catch (error) {
      body.destroy();
      if (isThrottle(error))
        return this.#gateway(req, res, 'INTEGRATION_FAILURE', 500, 'Internal server error');
      return this.#gateway(req, res, 'DEFAULT_5XX', 502, 'Internal server error');
    } finally {
      clearTimeout(timer);
    }
    if (started === TIMED_OUT) {
      body.destroy();
      return this.#gateway(req, res, 'INTEGRATION_TIMEOUT', 504, 'Endpoint request timed out');
    }
    const { head, rest } = started;
    this.#options.onAnswer?.({
      api: 'rest',
      function: route.function,
      statusCode: head.statusCode,
      body: '',
    });
    res.writeHead(head.statusCode, { ...this.#cors(req.headers.origin), ...head.headers });
    if (rest.length > 0) res.write(rest);
    // pipeline destroys both sides on a failure of either: a client gone stops the function's writes.
    await pipeline(body, res).catch(() => {});
  }

  async #invoke(
    route: GatewayRoute,
    event: APIGatewayProxyEvent | APIGatewayProxyEventV2,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const origin = req.headers.origin;
    const api = route.api ?? 'rest';
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#options.integrationTimeoutMs);
    });
    let raw: unknown;
    try {
      raw = await Promise.race([this.#options.invoke(route.function, event, this.#wait), timedOut]);
    } catch (error) {
      // Lambda refused the invocation (`TooManyRequestsException`): the INTEGRATION_FAILURE gateway
      // response, 500 unless the API maps it
      // (https://repost.aws/knowledge-center/api-gateway-internal-server-error).
      if (isThrottle(error)) {
        this.#gateway(req, res, 'INTEGRATION_FAILURE', 500, 'Internal server error');
        this.#options.onAnswer?.({ api, function: route.function, statusCode: res.statusCode, body: '' });
        return;
      }
      // A function error or a Lambda timeout: API Gateway answers 502 for a proxy integration.
      return this.#gateway(req, res, 'DEFAULT_5XX', 502, 'Internal server error');
    } finally {
      clearTimeout(timer);
    }
    if (raw === TIMED_OUT)
      return this.#gateway(req, res, 'INTEGRATION_TIMEOUT', 504, 'Endpoint request timed out');
    const v2 = api === 'http' ? resultV2(raw) : undefined;
    const result = v2 ?? ProxyResult.safeParse(raw);
    if (!result.success)
      return api === 'http'
        ? this.#gateway(req, res, 'DEFAULT_5XX', 500, 'Internal Server Error')
        : this.#gateway(req, res, 'DEFAULT_5XX', 502, 'Malformed Lambda proxy response');
    const headers: Record<string, string | string[]> = api === 'http' ? {} : { ...this.#cors(origin) };
    for (const [name, value] of Object.entries(result.data.headers ?? {}))
      headers[name.toLowerCase()] = String(value);
    const cookies = v2?.data?.cookies ?? [];
    if (cookies.length > 0) headers['set-cookie'] = cookies;
    const body = result.data.body ?? '';
    this.#options.onAnswer?.({
      api,
      function: route.function,
      statusCode: result.data.statusCode,
      body: result.data.isBase64Encoded ? '' : body,
    });
    res
      .writeHead(result.data.statusCode, headers)
      .end(result.data.isBase64Encoded ? Buffer.from(body, 'base64') : body);
  }
}

const identityOf = (req: IncomingMessage): APIGatewayProxyEvent['requestContext']['identity'] => ({
  accessKey: null,
  accountId: null,
  apiKey: null,
  apiKeyId: null,
  caller: null,
  clientCert: null,
  cognitoAuthenticationProvider: null,
  cognitoAuthenticationType: null,
  cognitoIdentityId: null,
  cognitoIdentityPoolId: null,
  principalOrgId: null,
  sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
  user: null,
  userAgent: req.headers['user-agent'] ?? null,
  userArn: null,
});
