/**
 * The functions and the REST API, declared once: the CDK stack builds Lambda functions, grants,
 * authorizers and routes from this; the local REST gateway serves the same routes with the same
 * handler entry points and authorizers.
 */
import type { BusName, SecretName, TableName, TopicName } from './topology.ts';

export type Access = 'read' | 'write' | 'readWrite';

export interface FunctionSpec {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Tables it uses; their names reach it through each table's `env` variable. */
  readonly tables: Partial<Record<TableName, Access>>;
  /** Buses it puts events on; their names reach it through each bus's `env` variable. */
  readonly buses: readonly BusName[];
  /**
   * Buses whose names it needs without access to them: the events the `EvaluateAlarms` task
   * builds are put on the bus by the workflow, not by the function.
   */
  readonly namesBuses?: readonly BusName[];
  /** Topics it publishes to or subscribes others to; their ARNs reach it through each topic's `env` variable. */
  readonly topics?: Partial<Record<TopicName, 'publish' | 'subscribe'>>;
  /** Whether it posts to WebSocket connections (API Gateway Management API, endpoint via `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`). */
  readonly websocketManagement?: boolean;
  /** Secrets it reads; their ids reach it through each secret's `env` variable. */
  readonly secrets?: readonly SecretName[];
}

export const functions = {
  ingest: {
    entry: 'handlers/ingest/handler.ts',
    description: 'POST /readings: validate, store once, emit ReadingRecorded',
    tables: { readings: 'readWrite' },
    buses: ['telemetry'],
  },
  devices: {
    entry: 'handlers/devices/handler.ts',
    description: 'The device registry',
    tables: { devices: 'readWrite' },
    buses: [],
  },
  tokens: {
    entry: 'handlers/tokens/handler.ts',
    description: 'POST /tokens: viewer tokens',
    tables: {},
    buses: [],
    secrets: ['tokenSigningKey'],
  },
  readings: {
    entry: 'handlers/readings/handler.ts',
    description: 'GET /devices/{deviceId}/readings: history, oldest first',
    tables: { readings: 'read', devices: 'read' },
    buses: [],
  },
  deviceKeyAuthorizer: {
    entry: 'handlers/authorizers/device-key.ts',
    description: 'Checks a device API key (x-api-key)',
    tables: { devices: 'read' },
    buses: [],
  },
  bearerAuthorizer: {
    entry: 'handlers/authorizers/bearer.ts',
    description: 'Checks an admin or viewer bearer token',
    tables: {},
    buses: [],
    secrets: ['tokenSigningKey'],
  },
  outboxRelay: {
    entry: 'handlers/outbox-relay/handler.ts',
    description: 'Re-publishes readings whose ReadingRecorded never reached the bus',
    tables: { readings: 'readWrite' },
    buses: ['telemetry'],
  },
  alertNotifier: {
    entry: 'handlers/alert-notifier/handler.ts',
    description: 'Publishes each alert once to the alerts topic, with deviceId and severity attributes',
    tables: { idempotency: 'readWrite' },
    buses: [],
    topics: { alerts: 'publish' },
  },
  alertSubscriptions: {
    entry: 'handlers/alert-subscriptions/handler.ts',
    description: 'POST /alert-subscriptions: SNS subscriptions with filter policies',
    tables: {},
    buses: [],
    topics: { alerts: 'subscribe' },
  },
  deriveMetrics: {
    entry: 'handlers/enrichment/derive-handler.ts',
    description: 'enrich-reading task: derived metrics against the readings that precede it',
    tables: { readings: 'read' },
    buses: [],
  },
  evaluateAlarms: {
    entry: 'handlers/enrichment/evaluate-handler.ts',
    description: 'enrich-reading task: alarm states and the events to publish',
    tables: { devices: 'readWrite' },
    buses: [],
    namesBuses: ['telemetry'],
  },
  silenceCheck: {
    entry: 'handlers/enrichment/silence-handler.ts',
    description: 'Raises and resolves DeviceSilent alerts',
    tables: { devices: 'readWrite' },
    buses: ['telemetry'],
  },
  alertHistory: {
    entry: 'handlers/alerts/history-handler.ts',
    description: 'Records alerts raised and resolved',
    tables: { alerts: 'readWrite' },
    buses: [],
  },
  alerts: {
    entry: 'handlers/alerts/handler.ts',
    description: 'GET /alerts',
    tables: { alerts: 'read' },
    buses: [],
  },
  websocketAuthorizer: {
    entry: 'handlers/authorizers/websocket.ts',
    description: 'Checks the viewer token of a WebSocket $connect (query string `token`)',
    tables: {},
    buses: [],
    secrets: ['tokenSigningKey'],
  },
  websocketConnections: {
    entry: 'handlers/websocket/connections.ts',
    description: 'WebSocket $connect and $disconnect: records and forgets connections',
    tables: { connections: 'readWrite' },
    buses: [],
  },
  websocketMessages: {
    entry: 'handlers/websocket/messages.ts',
    description: 'WebSocket subscribe, unsubscribe and $default',
    tables: { connections: 'readWrite' },
    buses: [],
  },
  push: {
    entry: 'handlers/push/handler.ts',
    description: 'Pushes an event to every connection subscribed to its device',
    tables: { connections: 'readWrite', idempotency: 'readWrite' },
    buses: [],
    websocketManagement: true,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functions;

export interface AuthorizerSpec {
  readonly function: FunctionName;
  /** The header API Gateway requires and caches the authorizer's answer by. */
  readonly identityHeader: string;
  readonly cacheTtlSeconds: number;
}

export const authorizers = {
  deviceKey: { function: 'deviceKeyAuthorizer', identityHeader: 'x-api-key', cacheTtlSeconds: 300 },
  bearer: { function: 'bearerAuthorizer', identityHeader: 'Authorization', cacheTtlSeconds: 300 },
} as const satisfies Record<string, AuthorizerSpec>;

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway resource path with `{param}` placeholders. */
  readonly path: string;
  readonly function: FunctionName;
  readonly authorizer: keyof typeof authorizers;
}

export const routes: readonly RouteSpec[] = [
  { method: 'POST', path: '/readings', function: 'ingest', authorizer: 'deviceKey' },
  { method: 'PUT', path: '/devices/{deviceId}', function: 'devices', authorizer: 'bearer' },
  { method: 'GET', path: '/devices', function: 'devices', authorizer: 'bearer' },
  { method: 'GET', path: '/devices/{deviceId}', function: 'devices', authorizer: 'bearer' },
  { method: 'GET', path: '/devices/{deviceId}/readings', function: 'readings', authorizer: 'bearer' },
  { method: 'POST', path: '/tokens', function: 'tokens', authorizer: 'bearer' },
  { method: 'POST', path: '/alert-subscriptions', function: 'alertSubscriptions', authorizer: 'bearer' },
  { method: 'GET', path: '/alerts', function: 'alerts', authorizer: 'bearer' },
];

/** Scheduled functions: EventBridge Scheduler on AWS, timers locally. */
export const schedules = {
  outboxRelay: { function: 'outboxRelay', everyMinutes: 1 },
  silenceCheck: { function: 'silenceCheck', everyMinutes: 1 },
} as const satisfies Record<string, { function: FunctionName; everyMinutes: number }>;

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
 * waits for. Lambda ends an invocation that runs longer with `Sandbox.Timedout`
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
 */
export const FUNCTION_TIMEOUT_SECONDS = { caller: 10, background: 60 } as const;

/** How long one invocation may run and how much memory it may take, as Lambda enforces them. */
export interface FunctionLimits {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

/** Functions someone waits on: REST routes, their authorizers, and the WebSocket API's. */
const servesCallers: ReadonlySet<FunctionName> = new Set<FunctionName>([
  ...routes.map((route) => route.function),
  ...Object.values(authorizers).map((authorizer) => authorizer.function),
  websocketApi.authorizer.function,
  ...websocketApi.routes.map((route) => route.function),
]);

/** The limits of one function: the CDK stack deploys them, the local Lambda runtime enforces them. */
export const functionLimits = (name: FunctionName): FunctionLimits => ({
  timeoutSeconds: servesCallers.has(name)
    ? FUNCTION_TIMEOUT_SECONDS.caller
    : FUNCTION_TIMEOUT_SECONDS.background,
  memoryMb: FUNCTION_MEMORY_MB,
});
