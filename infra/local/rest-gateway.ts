import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { type AuthorizerSpec, authorizers, type FunctionName, type RouteSpec, routes } from '../api.ts';
import { PayloadTooLarge, readBody } from './aws-protocol.ts';
import { closeServer } from './servers.ts';
import type { GatewayAnswer } from './stats.ts';

/** API Gateway REST APIs take at most 10 MB per request (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface RestGatewayOptions {
  readonly invoke: (fn: FunctionName, event: unknown) => Promise<unknown>;
  readonly region: string;
  readonly accountId: string;
  /** The dashboard's origin, allowed by CORS. */
  readonly allowedOrigin: string;
  readonly isHealthy: () => boolean;
  /** What `GET /health` reports beside its status, e.g. `{deadLetters: {<queue>: n}}`. */
  readonly healthChecks: () => Record<string, unknown>;
  /** Told of every answer to a routed request (not of health checks or CORS preflights). */
  readonly onAnswer?: (answer: GatewayAnswer) => void;
}

const ProxyResult = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
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

interface CachedAuthorization {
  readonly result: z.infer<typeof AuthorizerResult> | 'Unauthorized';
  readonly expires: number;
}

const API_ID = 'local';
const STAGE = 'local';

const templateToRegExp = (path: string): RegExp =>
  new RegExp(`^${path.replace(/\{(\w+)\}/g, (_, name: string) => `(?<${name}>[^/]+)`)}$`);

const compiledRoutes = routes.map((route) => ({ route, pattern: templateToRegExp(route.path) }));

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
 */
export class RestGateway {
  readonly #options: RestGatewayOptions;
  readonly #server: Server;
  readonly #cache = new Map<string, CachedAuthorization>();

  constructor(options: RestGatewayOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch(() => {
        if (!res.headersSent) this.#error(res, 500, 'InternalError', 'Internal server error');
      });
    });
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
    await closeServer(this.#server, 10_000);
  }

  /** Forgets cached authorizer answers (API Gateway's "flush authorizer cache"). */
  flushAuthorizerCache(): void {
    this.#cache.clear();
  }

  #cors(origin: string | undefined): Record<string, string> {
    const allowed = this.#options.allowedOrigin;
    return {
      'access-control-allow-origin': allowed === '*' || origin === allowed ? (origin ?? allowed) : allowed,
      vary: 'Origin',
    };
  }

  #error(res: ServerResponse, status: number, code: string, message: string, path?: string, origin?: string) {
    const body = JSON.stringify({
      error: { code, message, details: path !== undefined ? [{ path, message }] : [] },
    });
    this.#options.onAnswer?.({ statusCode: status, body });
    res.writeHead(status, { 'content-type': 'application/json', ...this.#cors(origin) }).end(body);
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
      const healthy = this.#options.isHealthy();
      res
        .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', ...this.#cors(origin) })
        .end(JSON.stringify({ status: healthy ? 'ok' : 'starting', checks: this.#options.healthChecks() }));
      return;
    }

    const candidates = compiledRoutes
      .map(({ route, pattern }) => ({ route, match: pattern.exec(url.pathname) }))
      .filter((c) => c.match !== null);
    if (candidates.length === 0)
      return this.#error(res, 404, 'NotFound', `No resource at ${url.pathname}`, undefined, origin);
    const found = candidates.find((c) => c.route.method === method);
    if (!found?.match)
      return this.#error(
        res,
        405,
        'MethodNotAllowed',
        `${method} is not allowed on ${url.pathname}`,
        undefined,
        origin,
      );

    let body: Buffer;
    try {
      body = await readBody(req, MAX_PAYLOAD_BYTES);
    } catch (error) {
      if (error instanceof PayloadTooLarge) {
        return this.#error(res, 413, 'PayloadTooLarge', 'Request body exceeds 10 MB', '', origin);
      }
      throw error;
    }

    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? '';
      const value = req.rawHeaders[i + 1] ?? '';
      headers[name] = value;
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    }
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [key, value] of url.searchParams) {
      query[key] = value;
      multiQuery[key] = [...(multiQuery[key] ?? []), value];
    }
    const pathParameters = found.match.groups ? { ...found.match.groups } : null;
    const requestId = randomUUID();
    const methodArn = `arn:aws:execute-api:${this.#options.region}:${this.#options.accountId}:${API_ID}/${STAGE}/${method}${url.pathname}`;

    const authorizerSpec: AuthorizerSpec = authorizers[found.route.authorizer];
    const authorization = await this.#authorize(authorizerSpec, {
      type: 'REQUEST',
      methodArn,
      resource: found.route.path,
      path: url.pathname,
      httpMethod: method,
      headers,
      multiValueHeaders,
      queryStringParameters: query,
      multiValueQueryStringParameters: multiQuery,
      pathParameters,
      stageVariables: null,
      requestContext: { requestId, stage: STAGE, resourcePath: found.route.path, httpMethod: method },
    });
    if (authorization.status !== 200) {
      const field = authorizerSpec.identityHeader.toLowerCase();
      return authorization.status === 401
        ? this.#error(res, 401, 'Unauthorized', `Missing or invalid ${field}`, field, origin)
        : this.#error(
            res,
            authorization.status,
            authorization.status === 403 ? 'Forbidden' : 'InternalError',
            authorization.status === 403 ? 'Access denied' : 'Authorizer failed',
            undefined,
            origin,
          );
    }

    const event: APIGatewayProxyEvent = {
      resource: found.route.path,
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
        resourceId: found.route.path,
        resourcePath: found.route.path,
      },
    };
    await this.#invoke(found.route, event, res, origin);
  }

  async #authorize(
    spec: AuthorizerSpec,
    event: Record<string, unknown> & { headers: Record<string, string>; methodArn: string },
  ): Promise<
    { status: 200; principalId: string; context: Record<string, unknown> } | { status: 401 | 403 | 500 }
  > {
    const identity = Object.entries(event.headers).find(
      ([k]) => k.toLowerCase() === spec.identityHeader.toLowerCase(),
    )?.[1];
    if (!identity) return { status: 401 };
    const cacheKey = `${spec.function}\n${identity}`;
    let cached = this.#cache.get(cacheKey);
    if (!cached || cached.expires < Date.now()) {
      try {
        const parsed = AuthorizerResult.safeParse(await this.#options.invoke(spec.function, event));
        if (!parsed.success) return { status: 500 };
        cached = { result: parsed.data, expires: Date.now() + spec.cacheTtlSeconds * 1000 };
      } catch (error) {
        if (!(error instanceof Error && error.message === 'Unauthorized')) return { status: 500 };
        cached = { result: 'Unauthorized', expires: Date.now() + spec.cacheTtlSeconds * 1000 };
      }
      this.#cache.set(cacheKey, cached);
    }
    if (cached.result === 'Unauthorized') return { status: 401 };
    const statements = cached.result.policyDocument.Statement;
    const covers = (s: { Resource: string | string[] }) =>
      [s.Resource].flat().some((resource) => wildcardMatch(resource, event.methodArn));
    if (
      statements.some((s) => s.Effect === 'Deny' && covers(s)) ||
      !statements.some((s) => s.Effect === 'Allow' && covers(s))
    ) {
      return { status: 403 };
    }
    return { status: 200, principalId: cached.result.principalId, context: cached.result.context ?? {} };
  }

  async #invoke(
    route: RouteSpec,
    event: APIGatewayProxyEvent,
    res: ServerResponse,
    origin?: string,
  ): Promise<void> {
    let raw: unknown;
    try {
      raw = await this.#options.invoke(route.function, event);
    } catch {
      return this.#error(res, 502, 'InternalError', 'Internal server error', undefined, origin);
    }
    const result = ProxyResult.safeParse(raw);
    if (!result.success)
      return this.#error(res, 502, 'InternalError', 'Malformed Lambda proxy response', undefined, origin);
    const headers: Record<string, string> = { ...this.#cors(origin) };
    for (const [name, value] of Object.entries(result.data.headers ?? {}))
      headers[name.toLowerCase()] = String(value);
    const body = result.data.body ?? '';
    this.#options.onAnswer?.({
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
