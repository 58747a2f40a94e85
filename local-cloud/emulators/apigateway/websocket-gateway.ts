import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { type InvokeOptions, isThrottle } from '../lambda/lambda.ts';
import { answerClientErrorsWithJson, writeRawJson } from '../shared/servers.ts';
import { type ThrottleSettings, TokenBucket } from '../shared/token-bucket.ts';
import type { ErrorBodies } from './error-bodies.ts';

/** https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-execution-service-websocket-limits-table */
export const WEBSOCKET_LIMITS = {
  frameBytes: 128 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
  integrationTimeoutMs: 29_000,
};

/**
 * How long a route's or the authorizer's invocation may wait for an execution environment: half
 * the integration timeout, leaving the handler the other half. Past it the client is told to retry
 * (429 on a connect, a `Too Many Requests` frame on a message) instead of waiting for an answer
 * that would come too late.
 */
const INTEGRATION_WAIT: InvokeOptions = {
  maxWaitMs: WEBSOCKET_LIMITS.integrationTimeoutMs / 2,
  // Dashboards connect and subscribe in bursts (a reload of many tabs) of brief invocations.
  refuseWhenQueueFull: false,
};

/**
 * A WebSocket API: a REQUEST authorizer on `$connect` reading its identity from the query string,
 * and routes selected on `$request.body.action`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-selection-expressions.html).
 */
export interface WebSocketApi {
  readonly authorizer: { readonly function: string; readonly identityQueryString: string };
  readonly routes: readonly {
    readonly routeKey: string;
    readonly function: string;
    /** Whether the function's answer is sent back to the client (a two-way route). */
    readonly routeResponse: boolean;
  }[];
}

export interface WebSocketGatewayOptions {
  readonly api: WebSocketApi;
  /** Only `error` is used: the body of a refused upgrade. */
  readonly bodies: Pick<ErrorBodies, 'error'>;
  /** Runs a function; the gateway says how long it may wait for an execution environment. */
  readonly invoke: (fn: string, event: unknown, options?: InvokeOptions) => Promise<unknown>;
  readonly region: string;
  readonly accountId: string;
  readonly idleTimeoutMs?: number;
  readonly maxConnectionMs?: number;
  /**
   * The stage's throttle, over connects and messages alike: a connect over it is refused with 429,
   * a message over it answered with a `Too Many Requests` frame and not routed. Unthrottled when absent.
   */
  readonly throttle?: ThrottleSettings & { readonly retryAfterSeconds: number };
}

interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly authorizer: Record<string, unknown>;
  readonly sourceIp: string;
  readonly userAgent: string;
  idleTimer?: NodeJS.Timeout;
  readonly lifetimeTimer: NodeJS.Timeout;
}

const AuthorizerResult = z.object({
  principalId: z.string(),
  policyDocument: z.object({ Statement: z.array(z.object({ Effect: z.enum(['Allow', 'Deny']) }).loose()) }),
  context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

const RouteResult = z.object({ statusCode: z.number().optional(), body: z.string().optional() }).loose();

const API_ID = 'localws';
const STAGE = 'local';

/** API Gateway connection ids look like `L0SM9cOFvHcCIhw=`. */
const newConnectionId = () => `${randomBytes(9).toString('base64').replace(/[+/]/g, 'A')}=`;

/**
 * The local WebSocket API, as API Gateway runs one: a REQUEST authorizer and the `$connect`
 * route decide whether the upgrade succeeds, messages are routed on `$request.body.action`,
 * two-way routes send the function's answer back, and the Management API (served by the edge
 * through `post`, `info` and `disconnect`) reaches clients by connection id.
 */
export class WebSocketGateway {
  readonly #options: WebSocketGatewayOptions;
  readonly #refuse: ReturnType<typeof refuseWith>;
  readonly #connections = new Map<string, Connection>();
  readonly #bucket: TokenBucket | undefined;
  #throttled = 0;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  #url = '';

  constructor(options: WebSocketGatewayOptions) {
    this.#options = options;
    this.#refuse = refuseWith(options.bodies);
    this.#bucket = options.throttle && new TokenBucket(options.throttle);
  }

  /** Connects and messages refused since start: by the stage's throttle, or because Lambda throttled their integration. */
  get throttledCount(): number {
    return this.#throttled;
  }

  /** Counts a refusal because Lambda throttled the integration, then answers it. */
  #countThrottled(answer: () => void): void {
    this.#throttled += 1;
    answer();
  }

  /** Takes a token from the stage's bucket; counts a refusal. */
  #admit(): boolean {
    if (!this.#bucket || this.#bucket.take()) return true;
    this.#throttled += 1;
    return false;
  }

  get url(): string {
    return this.#url;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    const wss = new WebSocketServer({ noServer: true, maxPayload: WEBSOCKET_LIMITS.frameBytes });
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required: this is the WebSocket API');
    });
    server.on('upgrade', (req, socket, head) => {
      this.#upgrade(req, socket, head).catch(() =>
        this.#refuse(socket, 500, 'InternalError', 'The connection could not be set up; retry'),
      );
    });
    answerClientErrorsWithJson(server, (_status, message) =>
      this.#options.bodies.error('BadRequest', message),
    );
    await new Promise<void>((resolve, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => resolve());
    });
    this.#server = server;
    this.#wss = wss;
    this.#url = `ws://${host}:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  /** Refuses a connect with 429 and `Retry-After`: the stage's throttle, or Lambda's. */
  #refuseThrottled(socket: Duplex): void {
    this.#refuse(socket, 429, 'TooManyRequests', 'Too many requests; retry with backoff', undefined, {
      'retry-after': String(this.#options.throttle?.retryAfterSeconds ?? 1),
    });
  }

  /** The frame API Gateway sends for a message it did not route; the client sends it again later. */
  #sendThrottled(connection: Pick<Connection, 'id' | 'socket'>): void {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    connection.socket.send(
      JSON.stringify({ message: 'Too Many Requests', connectionId: connection.id, requestId: randomUUID() }),
    );
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!this.#admit()) return this.#refuseThrottled(socket);
    const url = new URL(req.url ?? '/', 'http://gateway');
    const query = Object.fromEntries(url.searchParams);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(',') : (value ?? ''),
      ]),
    );
    const connectionId = newConnectionId();
    const connectedAt = Date.now();
    const context = this.#requestContext('$connect', 'CONNECT', connectionId, connectedAt, {});

    const tokenField = this.#options.api.authorizer.identityQueryString;
    const identity = query[tokenField];
    if (!identity) {
      return this.#refuse(
        socket,
        401,
        'Unauthorized',
        `Connect with ?${tokenField}=<viewer token>`,
        tokenField,
      );
    }
    let authorizer: Record<string, unknown>;
    try {
      const result = AuthorizerResult.safeParse(
        await this.#options.invoke(
          this.#options.api.authorizer.function,
          {
            type: 'REQUEST',
            methodArn: `arn:aws:execute-api:${this.#options.region}:${this.#options.accountId}:${API_ID}/${STAGE}/$connect`,
            headers,
            queryStringParameters: query,
            requestContext: context,
          },
          INTEGRATION_WAIT,
        ),
      );
      if (!result.success) return this.#refuse(socket, 500, 'InternalError', 'The authorizer failed; retry');
      if (!result.data.policyDocument.Statement.some((s) => s.Effect === 'Allow')) {
        return this.#refuse(
          socket,
          403,
          'Forbidden',
          `The ${tokenField} does not allow this connection`,
          tokenField,
        );
      }
      authorizer = { ...result.data.context, principalId: result.data.principalId };
    } catch (error) {
      if (isThrottle(error)) return this.#countThrottled(() => this.#refuseThrottled(socket));
      return this.#refuse(
        socket,
        401,
        'Unauthorized',
        `The ${tokenField} is not valid or has expired`,
        tokenField,
      );
    }

    let connected: unknown;
    try {
      connected = await this.#invokeRoute(
        '$connect',
        {
          requestContext: { ...context, authorizer },
          headers,
          queryStringParameters: query,
          isBase64Encoded: false,
        },
        INTEGRATION_WAIT,
      );
    } catch (error) {
      if (isThrottle(error)) return this.#countThrottled(() => this.#refuseThrottled(socket));
      throw error;
    }
    const connect = RouteResult.safeParse(connected);
    const status = connect.success ? (connect.data.statusCode ?? 200) : 500;
    if (status < 200 || status >= 300) {
      return status === 401
        ? this.#refuse(socket, 401, 'Unauthorized', 'The connection was refused: not authenticated')
        : this.#refuse(socket, 403, 'Forbidden', 'The connection was refused');
    }

    this.#wss?.handleUpgrade(req, socket, head, (ws) =>
      this.#accept(ws, connectionId, connectedAt, authorizer, req),
    );
  }

  #accept(
    socket: WebSocket,
    id: string,
    connectedAt: number,
    authorizer: Record<string, unknown>,
    req: IncomingMessage,
  ) {
    const connection: Connection = {
      id,
      socket,
      connectedAt,
      lastActiveAt: connectedAt,
      authorizer,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? '',
      lifetimeTimer: setTimeout(
        () => socket.close(1001, 'Going away'),
        this.#options.maxConnectionMs ?? WEBSOCKET_LIMITS.maxConnectionMs,
      ),
    };
    this.#connections.set(id, connection);
    this.#touch(connection);
    socket.on('message', (data, isBinary) => {
      this.#touch(connection);
      // API Gateway's own frame for a throttled message; the route is not invoked.
      if (!this.#admit()) return this.#sendThrottled(connection);
      const body = isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString();
      this.#message(connection, body).catch((error: unknown) => {
        if (isThrottle(error)) return this.#countThrottled(() => this.#sendThrottled(connection));
        if (socket.readyState === socket.OPEN) {
          socket.send(
            JSON.stringify({ message: 'Internal server error', connectionId: id, requestId: randomUUID() }),
          );
        }
      });
    });
    socket.on('close', () => {
      clearTimeout(connection.idleTimer);
      clearTimeout(connection.lifetimeTimer);
      this.#connections.delete(id);
      void this.#invokeRoute('$disconnect', {
        requestContext: {
          ...this.#requestContext('$disconnect', 'DISCONNECT', id, connectedAt, {}),
          authorizer: connection.authorizer,
        },
        isBase64Encoded: false,
      }).catch(() => {});
    });
    socket.on('error', () => socket.terminate());
  }

  #touch(connection: Connection): void {
    connection.lastActiveAt = Date.now();
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(
      () => connection.socket.close(1001, 'Going away'),
      this.#options.idleTimeoutMs ?? WEBSOCKET_LIMITS.idleTimeoutMs,
    );
  }

  /** `$request.body.action` selects the route; anything else goes to `$default`. */
  #routeOf(body: string): string {
    try {
      const parsed: unknown = JSON.parse(body);
      const action =
        typeof parsed === 'object' && parsed !== null && 'action' in parsed ? parsed.action : undefined;
      if (
        typeof action === 'string' &&
        this.#options.api.routes.some((r) => r.routeKey === action && !action.startsWith('$'))
      ) {
        return action;
      }
    } catch {
      // not JSON: $default
    }
    return '$default';
  }

  async #message(connection: Connection, body: string): Promise<void> {
    const routeKey = this.#routeOf(body);
    const route = this.#options.api.routes.find((r) => r.routeKey === routeKey);
    const result = RouteResult.safeParse(
      await this.#invokeRoute(
        routeKey,
        {
          requestContext: {
            ...this.#requestContext(routeKey, 'MESSAGE', connection.id, connection.connectedAt, {}),
            authorizer: connection.authorizer,
          },
          body,
          isBase64Encoded: false,
        },
        INTEGRATION_WAIT,
      ),
    );
    if (
      route?.routeResponse &&
      result.success &&
      result.data.body !== undefined &&
      connection.socket.readyState === connection.socket.OPEN
    ) {
      connection.socket.send(result.data.body);
    }
  }

  /** Invokes a route's function; `$disconnect` waits as long as it takes (no client waits for it, and its cleanup must run). */
  #invokeRoute(routeKey: string, event: unknown, options?: InvokeOptions): Promise<unknown> {
    const route = this.#options.api.routes.find((r) => r.routeKey === routeKey);
    if (!route) return Promise.resolve({ statusCode: 200 });
    return this.#options.invoke(route.function, event, options);
  }

  #requestContext(
    routeKey: string,
    eventType: string,
    connectionId: string,
    connectedAt: number,
    extra: object,
  ) {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      messageId: randomBytes(8).toString('base64'),
      extendedRequestId: randomUUID(),
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage: STAGE,
      connectedAt,
      requestTimeEpoch: now,
      requestId: randomUUID(),
      domainName: this.#url.replace(/^ws:\/\//, ''),
      connectionId,
      apiId: API_ID,
      ...extra,
    };
  }

  /** PostToConnection: queues the frame on the socket without waiting for the client. */
  post(connectionId: string, data: Buffer): 'sent' | 'gone' | 'too-large' {
    const connection = this.#connections.get(connectionId);
    if (!connection || connection.socket.readyState !== connection.socket.OPEN) return 'gone';
    if (data.length > WEBSOCKET_LIMITS.frameBytes) return 'too-large';
    connection.socket.send(data.toString('utf8'));
    this.#touch(connection);
    return 'sent';
  }

  /** GetConnection. */
  info(connectionId: string) {
    const connection = this.#connections.get(connectionId);
    if (!connection) return undefined;
    return {
      ConnectedAt: new Date(connection.connectedAt).toISOString(),
      LastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      Identity: { SourceIp: connection.sourceIp, UserAgent: connection.userAgent },
    };
  }

  /** DeleteConnection. */
  disconnect(connectionId: string): boolean {
    const connection = this.#connections.get(connectionId);
    if (!connection) return false;
    connection.socket.close(1000, 'Disconnected by the API');
    return true;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Closes every connection and stops listening; `listen` may be called again (a restart). */
  async close(): Promise<void> {
    for (const connection of this.#connections.values()) connection.socket.terminate();
    this.#wss?.close();
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

const reasons: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** Refuses an upgrade with a JSON body in the API's error shape saying why, naming the field at fault. */
const refuseWith =
  (bodies: Pick<ErrorBodies, 'error'>) =>
  (
    socket: Duplex,
    status: number,
    code: string,
    message: string,
    field?: string,
    headers?: Readonly<Record<string, string>>,
  ) => {
    writeRawJson(socket, status, reasons[status] ?? 'Error', bodies.error(code, message, field), headers);
  };
