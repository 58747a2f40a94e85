import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocketGateway } from '../apigateway/websocket-gateway.ts';
import { DynamoCapacityMeter } from '../dynamodb/capacity.ts';
import type { LocalDynamoDB } from '../dynamodb/dynamodb.ts';
import { compileRulePattern } from '../eventbridge/rules.ts';
import type { LocalEventBridge } from '../eventbridge/service.ts';
import { LambdaInvocationError, LambdaThrottledError } from '../lambda/lambda.ts';
import type { LocalSecretsManager } from '../secretsmanager/secrets-manager.ts';
import {
  AwsError,
  jsonRefusal,
  PayloadTooLarge,
  parseJsonRequest,
  queryRefusal,
  type Refusal,
  readBody,
  restRefusal,
  sendAwsJson,
  sendAwsJsonError,
  sendRestJsonError,
} from '../shared/aws-protocol.ts';
import { FaultRequest, type FaultSpec, type Faults } from '../shared/faults.ts';
import { type HealthReport, healthStatusCode } from '../shared/health.ts';
import type { Meter } from '../shared/meter.ts';
import { closeServer } from '../shared/servers.ts';
import { errorAnswer, SnsError } from '../sns/query-protocol.ts';
import { type LocalSns, SNS_ACTIONS } from '../sns/service.ts';
import {
  asSqsError,
  SQS_QUERY_ACTIONS,
  sqsQueryAnswer,
  sqsQueryError,
  sqsQueryRequest,
} from '../sqs/query-protocol.ts';
import type { LocalSqs } from '../sqs/sqs.ts';
import type { LocalStepFunctions } from '../stepfunctions/stepfunctions.ts';
import { meterJsonCall, meterPostToConnection, meterSnsCall } from './metering.ts';
import { ADMIN_SIGNING_NAME, type AwsCredentials, verifySignature } from './sigv4.ts';

export interface EdgeServices {
  readonly dynamodb: LocalDynamoDB;
  readonly events: LocalEventBridge;
  readonly faults: Faults;
  readonly secrets: LocalSecretsManager;
  readonly sns: LocalSns;
  readonly sqs: LocalSqs;
  readonly states: LocalStepFunctions;
  readonly websocket: WebSocketGateway;
  /**
   * Lambda's Invoke: runs a function, named as a caller names it (name or ARN), and answers what
   * it returned; rejects with a {@link LambdaInvocationError} (a {@link LambdaThrottledError} when
   * throttled), or an `AwsError` (`ResourceNotFoundException`) for a function it does not know.
   */
  readonly invoke: (functionName: string, payload: unknown) => Promise<unknown>;
  /**
   * Lambda's asynchronous Invoke (`InvocationType: Event`): queues the event durably and answers
   * its request id, or throws an `AwsError` (`ResourceNotFoundException`) for a function it does not know.
   */
  readonly invokeAsync: (functionName: string, payload: unknown) => string;
  /** The system's health, the same report the REST API's `/health` answers. */
  readonly health: () => HealthReport;
  /** Counts the billable units of every call served (off when absent). */
  readonly meter?: Meter;
}

const JSON_1_0 = 'application/x-amz-json-1.0';
const JSON_1_1 = 'application/x-amz-json-1.1';

/** A service the edge injects faults into: the calls it routes to it may be made to fail. */
type FaultedService = Extract<FaultSpec['service'], 'dynamodb' | 'events' | 'states' | 'sns' | 'apigateway'>;

/** What each service answers to an injected `error` and `throttle`: its own error type and status. */
const FAULT_ERRORS: Readonly<
  Record<FaultedService, Record<'error' | 'throttle', readonly [string, number]>>
> = {
  dynamodb: {
    error: ['com.amazonaws.dynamodb.v20120810#InternalServerError', 500],
    throttle: ['com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', 400],
  },
  events: { error: ['InternalException', 500], throttle: ['ThrottlingException', 400] },
  states: { error: ['ServiceUnavailable', 500], throttle: ['ThrottlingException', 400] },
  sns: { error: ['InternalError', 500], throttle: ['Throttling', 400] },
  apigateway: { error: ['InternalServerErrorException', 500], throttle: ['LimitExceededException', 429] },
};

/** The service behind each `X-Amz-Target` prefix. */
const JSON_TARGETS = {
  DynamoDB_20120810: 'dynamodb',
  DynamoDBStreams_20120810: 'dynamodbstreams',
  AWSEvents: 'events',
  AWSStepFunctions: 'states',
  secretsmanager: 'secretsmanager',
  AmazonSQS: 'sqs',
} as const;
type JsonTarget = (typeof JSON_TARGETS)[keyof typeof JSON_TARGETS];

/** The signing name of each service, as the SDK's clients sign: DynamoDB Streams signs as `dynamodb`. */
const signingNameOf = (target: JsonTarget): string => (target === 'dynamodbstreams' ? 'dynamodb' : target);

/** Signing names of the routes that are not JSON protocols. */
const SIGNING_NAMES = {
  sns: 'sns',
  sqs: 'sqs',
  connections: 'execute-api',
  lambda: 'lambda',
  admin: ADMIN_SIGNING_NAME,
} as const;

type Route =
  | { kind: 'health' }
  | { kind: 'unknown-target'; target: string }
  | { kind: 'json'; target: JsonTarget; operation: string; service: string; contentType: string }
  | { kind: 'query'; service: string }
  | { kind: 'connections'; service: string }
  | { kind: 'lambda'; service: string; functionName: string }
  | { kind: 'admin'; service: string };

/** A queue URL's path, where SQS Query clients may post (`/<account>/<queue>`). */
const SQS_QUEUE_PATH = /^\/\d{12}\/[A-Za-z0-9_-]{1,80}$/;

/**
 * The service a SigV4 `Authorization` header's credential scope names: SNS and SQS both speak
 * the Query protocol on `/`, and a client signs for the one it calls.
 */
const signedFor = (req: IncomingMessage): string | undefined =>
  /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];

/** Lambda's Invoke (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). */
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

const isJsonTargetPrefix = (prefix: string): prefix is keyof typeof JSON_TARGETS =>
  Object.hasOwn(JSON_TARGETS, prefix);

/** Which protocol a request speaks, from its headers and path alone (before its body is read). */
const routeOf = (req: IncomingMessage, url: URL): Route => {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    const [prefix = '', operation = ''] = target.split('.');
    if (!isJsonTargetPrefix(prefix)) return { kind: 'unknown-target', target };
    const service = JSON_TARGETS[prefix];
    const contentType =
      service === 'dynamodb' || service === 'dynamodbstreams' || service === 'states' || service === 'sqs'
        ? JSON_1_0
        : JSON_1_1;
    return { kind: 'json', target: service, operation, service: signingNameOf(service), contentType };
  }
  if (url.pathname === '/_sensorbus/health' || url.pathname === '/health') return { kind: 'health' };
  const invocation = INVOKE_PATH.exec(url.pathname);
  if (invocation?.[1] && req.method === 'POST')
    return { kind: 'lambda', service: SIGNING_NAMES.lambda, functionName: decodeURIComponent(invocation[1]) };
  if (url.pathname.startsWith('/@connections/'))
    return { kind: 'connections', service: SIGNING_NAMES.connections };
  const queuePath = SQS_QUEUE_PATH.test(url.pathname);
  if ((url.pathname === '/' || queuePath) && (req.method === 'GET' || req.method === 'POST'))
    return {
      kind: 'query',
      service: queuePath || signedFor(req) === SIGNING_NAMES.sqs ? SIGNING_NAMES.sqs : SIGNING_NAMES.sns,
    };
  return { kind: 'admin', service: SIGNING_NAMES.admin };
};

/**
 * SNS actions AWS answers without a signature, so that the links SNS mails and posts work: the
 * SubscribeURL (`ConfirmSubscription` with the token only the endpoint received) and the
 * UnsubscribeURL (https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html,
 * https://docs.aws.amazon.com/sns/latest/api/API_Unsubscribe.html). Only as a GET, as the links are.
 */
const UNSIGNED_LINK_ACTIONS = new Set(['ConfirmSubscription', 'Unsubscribe']);

const isUnsignedLink = (req: IncomingMessage, params: URLSearchParams): boolean =>
  req.method === 'GET' && UNSIGNED_LINK_ACTIONS.has(params.get('Action') ?? '');

/**
 * Why a browser request from a page is refused, or undefined for SDKs, CLIs and link clicks. The
 * edge is for SDKs and CLIs: a browser adds `Origin` to every cross-origin fetch and every form
 * POST, and `Sec-Fetch-Site` to everything it sends (`none` when the user typed or pasted the URL
 * or opened it from another application, such as a mail client). The one thing a browser may do
 * is follow an SNS link as a top-level navigation (`Sec-Fetch-Mode: navigate`,
 * `Sec-Fetch-Dest: document`, a GET), which is how a webmail's link is clicked; a page can start
 * that too, but the link only confirms what a signed Subscribe created, with a token only the
 * subscriber received, or ends a subscription whose ARN only its mails carry.
 */
const foreignOrigin = (req: IncomingMessage, route: Route, url: URL): string | undefined => {
  const origin = req.headers.origin;
  if (origin !== undefined)
    return `Cross-origin requests are refused by the local AWS edge (Origin: ${origin})`;
  const site = req.headers['sec-fetch-site'];
  if (site === undefined || site === 'none') return undefined;
  const navigation =
    req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document';
  if (route.kind === 'query' && navigation && isUnsignedLink(req, url.searchParams)) return undefined;
  return `Browser requests from a page are refused by the local AWS edge (Sec-Fetch-Site: ${site})`;
};

/** Answers a refused request in the error shape of the protocol it spoke. */
const refuse = (res: ServerResponse, route: Route, refusal: Refusal): void =>
  sendError(
    res,
    route,
    route.kind === 'json'
      ? jsonRefusal(refusal)
      : route.kind === 'query'
        ? queryRefusal(refusal)
        : restRefusal(refusal),
  );

/** Answers an error in the shape of the protocol the request spoke (SNS's `Type` is `Receiver` for a 5xx). */
const sendError = (res: ServerResponse, route: Route, error: AwsError): void => {
  if (route.kind === 'json') {
    sendAwsJsonError(res, error, route.contentType);
  } else if (route.kind === 'query') {
    const type = error.status >= 500 ? 'Receiver' : 'Sender';
    const answer = errorAnswer(
      new SnsError(error.type, error.message, error.status, type),
      crypto.randomUUID(),
    );
    res.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
  } else {
    sendRestJsonError(res, error);
  }
};

/**
 * The service and operation an injected fault may name for a routed call, or undefined for the
 * calls faults do not apply to (DynamoDB Streams, Secrets Manager, SQS, Lambda, the admin routes).
 */
const faultedCall = (
  route: Route,
  req: IncomingMessage,
  params: URLSearchParams | undefined,
): { service: FaultedService; operation: string } | undefined => {
  if (
    route.kind === 'json' &&
    (route.target === 'dynamodb' || route.target === 'events' || route.target === 'states')
  )
    return { service: route.target, operation: route.operation };
  if (route.kind === 'query' && route.service === SIGNING_NAMES.sns && params)
    return { service: 'sns', operation: params.get('Action') ?? '' };
  if (route.kind === 'connections')
    return {
      service: 'apigateway',
      operation: req.method === 'POST' ? 'PostToConnection' : String(req.method),
    };
  return undefined;
};

/**
 * The AWS-compatible edge: one port for every emulated service, routed by wire protocol the way
 * LocalStack's edge does: `X-Amz-Target` for the JSON protocols (DynamoDB, DynamoDB Streams,
 * EventBridge, Step Functions, Secrets Manager, SQS), the form-encoded `Action` for Query protocols (SNS), and the path
 * for the API Gateway Management API. `/_sensorbus/faults` lets tests make a service fail.
 *
 * Every request must carry a Signature Version 4 made with the local cloud's generated credentials
 * (except `/health` and SNS's links), and no browser page may call it: it holds the token signing
 * key and every table, and sends no CORS headers.
 */
export class Edge {
  readonly #server: Server;
  readonly #services: EdgeServices;
  readonly #capacity: DynamoCapacityMeter | undefined;
  readonly #credentials: AwsCredentials;
  readonly #region: string;

  /** `credentials` is the only key whose signatures are accepted, scoped to `region`. */
  constructor(services: EdgeServices, credentials: AwsCredentials, region: string) {
    this.#services = services;
    this.#capacity = services.meter
      ? new DynamoCapacityMeter(services.meter, services.dynamodb.directClient())
      : undefined;
    this.#credentials = credentials;
    this.#region = region;
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendAwsJsonError(res, toAwsError(error), JSON_1_1);
        else res.destroy();
      });
    });
    this.#server.keepAliveTimeout = 65_000;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    return `http://${host}:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await closeServer(this.#server, 2000);
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://edge');
    const route = routeOf(req, url);
    const foreign = foreignOrigin(req, route, url);
    if (foreign) {
      req.resume();
      return refuse(res, route, { kind: 'foreign-origin', message: foreign });
    }
    if (route.kind === 'health') {
      req.resume();
      const report = this.#services.health();
      return sendJson(res, healthStatusCode(report), report);
    }
    if (route.kind === 'unknown-target') {
      req.resume();
      throw new AwsError('UnknownOperationException', `No local service answers ${route.target}`);
    }
    const body = await readBody(req);
    const params =
      route.kind === 'query'
        ? new URLSearchParams(req.method === 'GET' ? url.search : body.toString('utf8'))
        : undefined;
    const unsignedLink =
      params !== undefined && isUnsignedLink(req, params) && req.headers.authorization === undefined;
    if (!unsignedLink) {
      const failure = await verifySignature(
        { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
        { credentials: this.#credentials, region: this.#region, service: route.service },
      );
      if (failure) return refuse(res, route, failure);
    }
    // Faults are applied here, once for every service: `hang` leaves the call unanswered, `error` and
    // `throttle` answer the service's own error, and `fail-entries` reaches PutEvents, which fails each entry.
    const call = faultedCall(route, req, params);
    const fault = call ? this.#services.faults.take(call.service, call.operation) : undefined;
    if (fault === 'hang') return;
    if (call && (fault === 'error' || fault === 'throttle')) {
      const [type, status] = FAULT_ERRORS[call.service][fault];
      const message = fault === 'error' ? 'Injected fault: internal error' : 'Rate exceeded';
      return sendError(res, route, new AwsError(type, message, status));
    }

    switch (route.kind) {
      case 'json':
        return this.#jsonService(route.target, route.operation, req, res, body, fault === 'fail-entries');
      case 'connections':
        return this.#connections(req, res, url, body);
      case 'lambda':
        return this.#invoke(req, res, route.functionName, body);
      case 'admin':
        if (url.pathname === '/_sensorbus/faults') return this.#faults(req, res, body);
        if (url.pathname.startsWith('/_sensorbus/events/')) {
          return this.#eventsAdmin(url.pathname.slice('/_sensorbus/events/'.length), res, url, body);
        }
        throw new AwsError(
          'UnknownOperationException',
          `No local service answers ${req.method} ${url.pathname}`,
          404,
        );
      case 'query':
        if (params && route.service === SIGNING_NAMES.sqs) return this.#sqsQuery(res, params, url);
        if (params && SNS_ACTIONS.has(params.get('Action') ?? '')) return this.#sns(res, params);
        throw new AwsError(
          'InvalidAction',
          `No local service answers Action=${params?.get('Action') ?? ''}`,
          400,
        );
    }
  }

  async #jsonService(
    target: JsonTarget,
    operation: string,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    failEntries: boolean,
  ): Promise<void> {
    switch (target) {
      case 'dynamodb':
        return this.#dynamodb(operation, req, res, body);
      case 'dynamodbstreams':
        return this.#json(res, JSON_1_0, async () =>
          this.#services.dynamodb.handleStreams(operation, parseJsonRequest(body)),
        );
      case 'events':
        return this.#json(res, JSON_1_1, () => {
          const input = parseJsonRequest(body);
          if (this.#services.meter) meterJsonCall(this.#services.meter, target, operation, input);
          return this.#services.events.handle(operation, input, failEntries);
        });
      case 'states':
        return this.#json(res, JSON_1_0, () => {
          const input = parseJsonRequest(body);
          if (this.#services.meter) meterJsonCall(this.#services.meter, target, operation, input);
          return this.#services.states.handle(operation, input);
        });
      case 'secretsmanager':
        return this.#json(res, JSON_1_1, () =>
          this.#services.secrets.handle(operation, parseJsonRequest(body)),
        );
      case 'sqs':
        return this.#json(res, JSON_1_0, () => this.#services.sqs.handle(operation, parseJsonRequest(body)));
    }
  }

  /** SQS in the Query protocol; a request posted to a queue's URL names that queue. */
  async #sqsQuery(res: ServerResponse, params: URLSearchParams, url: URL): Promise<void> {
    const { operation, input } = sqsQueryRequest(params);
    const requestId = crypto.randomUUID();
    const queueUrl = SQS_QUEUE_PATH.test(url.pathname) ? { QueueUrl: url.pathname } : {};
    try {
      if (!SQS_QUERY_ACTIONS.has(operation))
        throw new AwsError('InvalidAction', `The action ${operation} is not valid for this endpoint.`);
      const output = await this.#services.sqs.handle(operation, { ...queueUrl, ...input });
      res.writeHead(200, { 'content-type': 'text/xml' }).end(sqsQueryAnswer(operation, output, requestId));
    } catch (error) {
      const answer = sqsQueryError(asSqsError(error), requestId);
      res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.body);
    }
  }

  async #sns(res: ServerResponse, params: URLSearchParams): Promise<void> {
    if (this.#services.meter) meterSnsCall(this.#services.meter, params);
    const answer = await this.#services.sns.handle(params);
    res.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
  }

  /**
   * The API Gateway Management API (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html):
   * `POST` sends to a connection, `GET` describes it, `DELETE` closes it; a connection that is
   * gone answers 410 GoneException. Ids arrive URL-encoded.
   */
  async #connections(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const connectionId = decodeURIComponent(url.pathname.slice('/@connections/'.length));
    const websocket = this.#services.websocket;
    const restError = (status: number, type: string, message: string) => {
      res
        .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
        .end(JSON.stringify({ message }));
    };
    if (req.method === 'POST') {
      const outcome = websocket.post(connectionId, body);
      if (outcome === 'sent' && this.#services.meter) meterPostToConnection(this.#services.meter, body);
      if (outcome === 'gone') return restError(410, 'GoneException', `Connection ${connectionId} is gone`);
      if (outcome === 'too-large') return restError(413, 'PayloadTooLargeException', 'Message too long');
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'GET') {
      const info = websocket.info(connectionId);
      if (!info) return restError(410, 'GoneException', `Connection ${connectionId} is gone`);
      return sendJson(res, 200, info);
    }
    if (req.method === 'DELETE') {
      if (!websocket.disconnect(connectionId))
        return restError(410, 'GoneException', `Connection ${connectionId} is gone`);
      res.writeHead(204).end();
      return;
    }
    restError(405, 'BadRequestException', `${req.method} is not supported`);
  }

  /**
   * Lambda's Invoke (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
   * `RequestResponse`: 200 with the function's result, or 200 with `X-Amz-Function-Error` and its
   * error payload when it failed; a throttled invocation is 429 `TooManyRequestsException` with its
   * `Reason`, as the SDK's typed exception reads it. `Event`: 202 once the event is queued durably;
   * Lambda runs it later with its retries. `DryRun`: 204.
   */
  async #invoke(
    req: IncomingMessage,
    res: ServerResponse,
    functionName: string,
    body: Buffer,
  ): Promise<void> {
    const type = req.headers['x-amz-invocation-type'] ?? 'RequestResponse';
    if (type !== 'RequestResponse' && type !== 'DryRun' && type !== 'Event') {
      throw new AwsError(
        'InvalidParameterValueException',
        `The local Lambda runtime runs RequestResponse, Event and DryRun invocations, not ${String(type)}`,
      );
    }
    let payload: unknown;
    try {
      payload = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      throw new AwsError('InvalidRequestContentException', 'Could not parse request body into json');
    }
    if (type === 'DryRun') {
      res.writeHead(204).end();
      return;
    }
    if (type === 'Event') {
      const requestId = this.#services.invokeAsync(functionName, payload);
      res.writeHead(202, { 'x-amzn-requestid': requestId, 'content-length': '0' }).end();
      return;
    }
    try {
      const result = await this.#services.invoke(functionName, payload);
      const text = JSON.stringify(result ?? null);
      res
        .writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' })
        .end(text);
    } catch (error) {
      if (error instanceof LambdaThrottledError) {
        const text = JSON.stringify({ Type: 'User', message: error.message, Reason: error.reason });
        res
          .writeHead(429, {
            'content-type': 'application/json',
            'x-amzn-errortype': 'TooManyRequestsException',
            'x-amzn-requestid': crypto.randomUUID(),
          })
          .end(text);
        return;
      }
      if (error instanceof LambdaInvocationError) {
        res
          .writeHead(200, {
            'content-type': 'application/json',
            'x-amz-executed-version': '$LATEST',
            'x-amz-function-error': 'Unhandled',
          })
          .end(JSON.stringify(error.payload));
        return;
      }
      if (error instanceof AwsError) return sendRestJsonError(res, error);
      throw error;
    }
  }

  async #dynamodb(operation: string, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const dynamodb = this.#services.dynamodb;
    if (this.#capacity) {
      return this.#capacity.serve(operation, req, res, body, (request, response, sent) => {
        void dynamodb.handle(operation, request, response, sent);
      });
    }
    return dynamodb.handle(operation, req, res, body);
  }

  async #json(res: ServerResponse, contentType: string, call: () => Promise<unknown>): Promise<void> {
    try {
      sendAwsJson(res, 200, await call(), contentType);
    } catch (error) {
      sendAwsJsonError(res, toAwsError(error), contentType);
    }
  }

  async #faults(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const faults = this.#services.faults;
    if (req.method === 'POST') {
      const parsed = FaultRequest.safeParse(readJson(body));
      if (!parsed.success) return sendJson(res, 400, { error: parsed.error.issues });
      faults.inject(parsed.data);
    } else if (req.method === 'DELETE') {
      faults.clear();
    }
    sendJson(res, 200, { faults: faults.list() });
  }

  /** Developer commands on the local EventBridge: redrive, dead letters and a live tail (replays are EventBridge's own StartReplay). */
  async #eventsAdmin(action: string, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const events = this.#services.events;
    if (action === 'tail') return this.#tail(res, url);
    if (action === 'dead-letters') {
      const queue = url.searchParams.get('queue');
      const queues = queue ? [queue] : events.deadLetters.queues();
      return sendJson(res, 200, Object.fromEntries(queues.map((q) => [q, events.deadLetters.list(q)])));
    }
    const command = readJson(body) as Record<string, unknown>;
    if (action === 'redrive') {
      if (typeof command.queue !== 'string') return sendJson(res, 400, { error: 'queue is required' });
      return sendJson(res, 200, await events.redrive(command.queue));
    }
    sendJson(res, 404, { error: `no command ${action}` });
  }

  /** Streams every event accepted on a bus (optionally matching a pattern) as JSON lines. */
  #tail(res: ServerResponse, url: URL): void {
    const bus = url.searchParams.get('bus') ?? undefined;
    const pattern = url.searchParams.get('pattern');
    const matcher = pattern ? compileRulePattern(pattern).compiled : undefined;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    res.write(`${JSON.stringify({ tailing: bus ?? 'every bus', pattern: pattern ?? null })}\n`);
    const unsubscribe = this.#services.events.subscribe((event, busName) => {
      if (bus && busName !== bus) return;
      if (matcher && !matcher.matches(event)) return;
      res.write(`${JSON.stringify({ bus: busName, event })}\n`);
    });
    res.on('close', unsubscribe);
  }
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

const readJson = (body: Buffer): unknown => {
  const text = body.toString('utf8');
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    return {};
  }
};

const toAwsError = (error: unknown): AwsError => {
  if (error instanceof AwsError) return error;
  if (error instanceof PayloadTooLarge) return new AwsError('ValidationException', error.message, 413);
  return new AwsError('InternalFailure', error instanceof Error ? error.message : 'internal error', 500);
};
