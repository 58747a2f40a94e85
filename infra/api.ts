/**
 * The device API (HTTP API), the REST API and the WebSocket API, declared once: the CDK stack
 * builds authorizers and routes from this; the local gateways serve the same routes with the same
 * handler entry points, authorizers and payload formats. Also each function's limits, which follow from whether a caller waits on it.
 */
import type { FunctionName } from './functions.ts';
import { schedules } from './topology.ts';

/** Re-exported for the modules that read the functions from here; declared in `functions.ts`. */
export { type Access, type FunctionName, type FunctionSpec, functions } from './functions.ts';
/** Re-exported for the launcher, which reads the schedules from here; declared in `topology.ts`. */
export { schedules };

export interface AuthorizerSpec {
  readonly function: FunctionName;
  /** The header API Gateway requires and caches the authorizer's answer by. */
  readonly identityHeader: string;
  readonly cacheTtlSeconds: number;
}

export const authorizers = {
  bearer: { function: 'bearerAuthorizer', identityHeader: 'Authorization', cacheTtlSeconds: 300 },
} as const satisfies Record<string, AuthorizerSpec>;

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway resource path with `{param}` placeholders. */
  readonly path: string;
  readonly function: FunctionName;
  readonly authorizer: keyof typeof authorizers;
  /**
   * `STREAM`: API Gateway invokes the function with `InvokeWithResponseStream` and passes its
   * payload to the client as it is written
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html);
   * the function answers with `awslambda.streamifyResponse`. Buffered when absent.
   */
  readonly responseTransferMode?: 'STREAM';
}

/** The REST API's routes: the dashboard's and operators' calls, each behind the bearer authorizer. */
export const routes: readonly RouteSpec[] = [
  { method: 'PUT', path: '/devices/{deviceId}', function: 'deviceRegistry', authorizer: 'bearer' },
  { method: 'GET', path: '/devices', function: 'devices', authorizer: 'bearer' },
  { method: 'GET', path: '/devices/{deviceId}', function: 'devices', authorizer: 'bearer' },
  { method: 'DELETE', path: '/devices/{deviceId}', function: 'deviceRegistry', authorizer: 'bearer' },
  { method: 'POST', path: '/devices/{deviceId}/keys', function: 'deviceRegistry', authorizer: 'bearer' },
  {
    method: 'GET',
    path: '/devices/{deviceId}/readings',
    function: 'readings',
    authorizer: 'bearer',
    responseTransferMode: 'STREAM',
  },
  { method: 'POST', path: '/tokens', function: 'tokens', authorizer: 'bearer' },
  { method: 'POST', path: '/alert-subscriptions', function: 'alertSubscriptions', authorizer: 'bearer' },
  { method: 'GET', path: '/alert-subscriptions', function: 'alertSubscriptions', authorizer: 'bearer' },
  {
    method: 'DELETE',
    path: '/alert-subscriptions/{subscriptionId}',
    function: 'alertSubscriptions',
    authorizer: 'bearer',
  },
  { method: 'GET', path: '/alerts', function: 'alerts', authorizer: 'bearer' },
  { method: 'POST', path: '/alerts/{alertId}/acknowledge', function: 'alerts', authorizer: 'bearer' },
  { method: 'POST', path: '/alerts/{alertId}/snooze', function: 'alerts', authorizer: 'bearer' },
  { method: 'POST', path: '/alerts/{alertId}/resolve', function: 'alerts', authorizer: 'bearer' },
];

/** A route of the HTTP API: a Lambda proxy integration with no API Gateway authorizer. */
export interface HttpRouteSpec {
  readonly method: 'POST';
  readonly path: string;
  readonly function: FunctionName;
}

/**
 * The devices' front door: an API Gateway HTTP API, payload format 2.0
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
 * about a third of a REST API's price per request
 * (https://aws.amazon.com/api-gateway/pricing/). Its one route has no authorizer: the ingest
 * function checks the device key itself (`handlers/authorizers/device-keys.ts`) before it reads
 * the body. An HTTP API Lambda authorizer would refuse a bad key with 403 (its simple response
 * `isAuthorized: false`) where the contract answers 401, and would be a second invocation per
 * request, since its cache must stay off (TTL 0) for a deleted device's key, or a rotated key past
 * its grace, to be refused on the very next request.
 *
 * Locally the route is served on the API port beside the REST routes, at the same path as before;
 * on AWS it is the HTTP API's own endpoint (the service stack's `IngestApiUrl` output).
 */
export const httpApi = {
  payloadFormatVersion: '2.0',
  /** The header the function reads the device key from, named in its 401. */
  credentialHeader: 'x-api-key',
  routes: [{ method: 'POST', path: '/readings', function: 'ingest' }],
} as const satisfies {
  payloadFormatVersion: '2.0';
  credentialHeader: string;
  routes: readonly HttpRouteSpec[];
};

export interface WebSocketRouteSpec {
  readonly routeKey: string;
  readonly function: FunctionName;
  /** Whether the function's answer is sent back to the client (a two-way route). */
  readonly routeResponse: boolean;
}

/**
 * The WebSocket API: route selection on `$request.body.action`, a REQUEST authorizer on
 * `$connect` reading the viewer token from the query string
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-selection-expressions.html).
 */
export const websocketApi = {
  routeSelectionExpression: '$request.body.action',
  authorizer: { function: 'websocketAuthorizer', identityQueryString: 'token' },
  routes: [
    { routeKey: '$connect', function: 'websocketConnections', routeResponse: false },
    { routeKey: '$disconnect', function: 'websocketConnections', routeResponse: false },
    { routeKey: 'subscribe', function: 'websocketMessages', routeResponse: true },
    { routeKey: 'unsubscribe', function: 'websocketMessages', routeResponse: true },
    { routeKey: '$default', function: 'websocketMessages', routeResponse: true },
  ],
} as const satisfies {
  routeSelectionExpression: string;
  authorizer: { function: FunctionName; identityQueryString: string };
  routes: readonly WebSocketRouteSpec[];
};

/** A stage's throttle: a token bucket of `burstLimit` tokens refilled at `rateLimit` a second. */
export interface StageThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * Stage-wide throttling of each API, well above a fleet posting every few seconds in batches of
 * up to 100 readings: the CDK stack deploys it on the stages, the local gateways apply it. A
 * request over it is answered 429 before any authorizer or function runs
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
 */
export const STAGE_THROTTLE = {
  /** The REST API's stage, and the HTTP API's default stage (each its own bucket). */
  rest: { rateLimit: 100, burstLimit: 200 },
  /** Messages and connects of the WebSocket API, in line with the REST stage. */
  websocket: { rateLimit: 100, burstLimit: 200 },
} as const satisfies Record<string, StageThrottle>;

/**
 * CloudWatch metrics of the REST stage: `detailed` turns on API Gateway's method-level metrics
 * (billed as CloudWatch custom metrics, which the cost model prices per method).
 */
export const REST_STAGE_METRICS = { detailed: true } as const;

/**
 * X-Ray sampling of every sensorbus trace root (the REST stage, stream-triggered functions, the
 * workflows): the first request each second, then this fraction. AWS's default rule samples 5 %,
 * which at a million devices records more traces than the rest of the observability costs; one
 * in a thousand still shows every path many times a minute at that scale.
 */
export const TRACE_SAMPLING = { reservoirPerSecond: 1, fixedRate: 0.001 } as const;

/** Memory of every function (MB): its Lambda `memorySize`, and the heap bound of its local execution environment. */
export const FUNCTION_MEMORY_MB = 512;

/**
 * How long API Gateway waits for an integration before answering 504 (the REST API's default
 * maximum, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
 */
export const INTEGRATION_TIMEOUT_SECONDS = 29;

/**
 * Timeouts (seconds): what a caller waits for (API Gateway gives up first, see
 * {@link INTEGRATION_TIMEOUT_SECONDS}) versus work nobody
 * waits for, and a function behind a streaming route, whose client reads as long as the stream
 * runs (an export of a long range; API Gateway streams for up to 15 minutes, and its integration
 * timeout then bounds the wait for the first byte). Lambda ends an invocation that runs longer with `Sandbox.Timedout`
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
 */
export const FUNCTION_TIMEOUT_SECONDS = { caller: 10, background: 60, streaming: 300, locking: 10 } as const;

/** How long one invocation may run, how much memory it may take and how many may run at once, as Lambda enforces them. */
export interface FunctionLimits {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Reserved concurrency: at most this many at once, the rest throttled; absent, it shares the account's unreserved pool. */
  readonly reservedConcurrency?: number;
}

/**
 * Functions with reserved concurrency
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html): the push fans
 * each event out to every watching connection, so a flood of events is capped at this many pushes
 * at once instead of taking the account's whole pool from the API's functions; a push over it is
 * throttled and retried by EventBridge.
 */
const RESERVED_CONCURRENCY: Partial<Record<FunctionName, number>> = {
  push: 100,
};

/**
 * Functions whose invocation holds a Powertools idempotency lock (an `INPROGRESS` record) for the
 * rest of its timeout: when an invocation dies mid-way (a crashed environment, a killed local
 * cloud), every redelivery of its event is refused until then
 * (https://docs.powertools.aws.dev/lambda/typescript/latest/features/idempotency/, Lambda timeouts).
 * The alert notifier publishes one message in milliseconds: a short timeout keeps an alert that
 * met a crash seconds late, not a minute.
 */
const locking: ReadonlySet<FunctionName> = new Set<FunctionName>(['alertNotifier']);

/** Functions someone waits on: the HTTP and REST routes, their authorizers, and the WebSocket API's. */
const servesCallers: ReadonlySet<FunctionName> = new Set<FunctionName>([
  ...httpApi.routes.map((route) => route.function),
  ...routes.map((route) => route.function),
  ...Object.values(authorizers).map((authorizer) => authorizer.function),
  websocketApi.authorizer.function,
  ...websocketApi.routes.map((route) => route.function),
]);

/** Functions behind a route with response streaming. */
const streams: ReadonlySet<FunctionName> = new Set<FunctionName>(
  routes.filter((route) => route.responseTransferMode === 'STREAM').map((route) => route.function),
);

/** The limits of one function: the CDK stack deploys them, the local Lambda runtime enforces them. */
export const functionLimits = (name: FunctionName): FunctionLimits => ({
  timeoutSeconds: streams.has(name)
    ? FUNCTION_TIMEOUT_SECONDS.streaming
    : servesCallers.has(name)
      ? FUNCTION_TIMEOUT_SECONDS.caller
      : locking.has(name)
        ? FUNCTION_TIMEOUT_SECONDS.locking
        : FUNCTION_TIMEOUT_SECONDS.background,
  memoryMb: FUNCTION_MEMORY_MB,
  ...(RESERVED_CONCURRENCY[name] !== undefined ? { reservedConcurrency: RESERVED_CONCURRENCY[name] } : {}),
});
