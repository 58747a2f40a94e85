import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AwsError,
  PayloadTooLarge,
  parseJsonRequest,
  readBody,
  sendAwsJson,
  sendAwsJsonError,
} from './aws-protocol.ts';
import type { LocalDynamoDB } from './dynamodb.ts';
import { compileRulePattern } from './eventbridge/rules.ts';
import type { LocalEventBridge } from './eventbridge/service.ts';
import { FaultRequest, type Faults } from './faults.ts';
import { type HealthReport, healthStatusCode } from './health.ts';
import type { LocalSecretsManager } from './secrets-manager.ts';
import { closeServer } from './servers.ts';
import { type LocalSns, SNS_ACTIONS } from './sns/service.ts';
import type { LocalStepFunctions } from './stepfunctions.ts';
import type { WebSocketGateway } from './websocket-gateway.ts';

export interface EdgeServices {
  readonly dynamodb: LocalDynamoDB;
  readonly events: LocalEventBridge;
  readonly faults: Faults;
  readonly secrets: LocalSecretsManager;
  readonly sns: LocalSns;
  readonly states: LocalStepFunctions;
  readonly websocket: WebSocketGateway;
  /** The system's health, the same report the REST API's `/health` answers. */
  readonly health: () => HealthReport;
}

const JSON_1_0 = 'application/x-amz-json-1.0';
const JSON_1_1 = 'application/x-amz-json-1.1';

const dynamoFaultTypes = {
  error: { status: 500, type: 'com.amazonaws.dynamodb.v20120810#InternalServerError' },
  throttle: { status: 400, type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException' },
} as const;

/**
 * The AWS-compatible edge: one port for every emulated service, routed by wire protocol the way
 * LocalStack's edge does: `X-Amz-Target` for the JSON protocols (DynamoDB, EventBridge, Step
 * Functions), the form-encoded `Action` for Query protocols (SNS), and the path for the API
 * Gateway Management API. `/_sensorbus/faults` lets tests make a service fail.
 */
export class Edge {
  readonly #server: Server;
  readonly #services: EdgeServices;

  constructor(services: EdgeServices) {
    this.#services = services;
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
    const target = req.headers['x-amz-target'];
    const url = new URL(req.url ?? '/', 'http://edge');
    if (typeof target === 'string') {
      const [prefix = '', operation = ''] = target.split('.');
      if (prefix.startsWith('DynamoDB_')) return this.#dynamodb(operation, req, res);
      if (prefix === 'AWSEvents') {
        return this.#json(res, JSON_1_1, () =>
          readBody(req).then((body) => this.#services.events.handle(operation, parseJsonRequest(body))),
        );
      }
      if (prefix === 'AWSStepFunctions') {
        return this.#json(res, JSON_1_0, () =>
          readBody(req).then((body) => this.#services.states.handle(operation, parseJsonRequest(body))),
        );
      }
      if (prefix === 'secretsmanager') {
        return this.#json(res, JSON_1_1, () =>
          readBody(req).then((body) => this.#services.secrets.handle(operation, parseJsonRequest(body))),
        );
      }
      throw new AwsError('UnknownOperationException', `No local service answers ${target}`);
    }
    if (url.pathname.startsWith('/@connections/')) return this.#connections(req, res, url);
    if (
      req.method === 'GET' &&
      url.pathname === '/' &&
      SNS_ACTIONS.has(url.searchParams.get('Action') ?? '')
    ) {
      return this.#sns(res, url.searchParams);
    }
    if (
      req.method === 'POST' &&
      req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')
    ) {
      const params = new URLSearchParams((await readBody(req)).toString('utf8'));
      if (SNS_ACTIONS.has(params.get('Action') ?? '')) return this.#sns(res, params);
      throw new AwsError(
        'InvalidAction',
        `No local service answers Action=${params.get('Action') ?? ''}`,
        400,
      );
    }
    if (url.pathname === '/_sensorbus/faults') return this.#faults(req, res);
    if (url.pathname.startsWith('/_sensorbus/events/')) {
      return this.#eventsAdmin(url.pathname.slice('/_sensorbus/events/'.length), req, res, url);
    }
    if (url.pathname === '/_sensorbus/health' || url.pathname === '/health') {
      const report = this.#services.health();
      return sendJson(res, healthStatusCode(report), report);
    }
    throw new AwsError(
      'UnknownOperationException',
      `No local service answers ${req.method} ${url.pathname}`,
      404,
    );
  }

  async #sns(res: ServerResponse, params: URLSearchParams): Promise<void> {
    const answer = await this.#services.sns.handle(params);
    res.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
  }

  /**
   * The API Gateway Management API (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html):
   * `POST` sends to a connection, `GET` describes it, `DELETE` closes it; a connection that is
   * gone answers 410 GoneException. Ids arrive URL-encoded.
   */
  async #connections(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const connectionId = decodeURIComponent(url.pathname.slice('/@connections/'.length));
    const websocket = this.#services.websocket;
    const fault = this.#services.faults.take(
      'apigateway',
      req.method === 'POST' ? 'PostToConnection' : String(req.method),
    );
    if (fault === 'hang') return;
    const restError = (status: number, type: string, message: string) => {
      res
        .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
        .end(JSON.stringify({ message }));
    };
    if (fault === 'error' || fault === 'throttle') {
      req.resume();
      return fault === 'error'
        ? restError(500, 'InternalServerErrorException', 'Injected fault')
        : restError(429, 'LimitExceededException', 'Rate exceeded');
    }
    if (req.method === 'POST') {
      const outcome = websocket.post(connectionId, await readBody(req));
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

  #dynamodb(operation: string, req: IncomingMessage, res: ServerResponse): void {
    const fault = this.#services.faults.take('dynamodb', operation);
    if (fault === 'hang') return;
    if (fault === 'error' || fault === 'throttle') {
      const { status, type } = dynamoFaultTypes[fault];
      req.resume();
      sendAwsJsonError(res, new AwsError(type, 'Injected fault', status), JSON_1_0);
      return;
    }
    this.#services.dynamodb.handle(req, res);
  }

  async #json(res: ServerResponse, contentType: string, call: () => Promise<unknown>): Promise<void> {
    try {
      sendAwsJson(res, 200, await call(), contentType);
    } catch (error) {
      sendAwsJsonError(res, toAwsError(error), contentType);
    }
  }

  async #faults(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const faults = this.#services.faults;
    if (req.method === 'POST') {
      const parsed = FaultRequest.safeParse(await readJson(req));
      if (!parsed.success) return sendJson(res, 400, { error: parsed.error.issues });
      faults.inject(parsed.data);
    } else if (req.method === 'DELETE') {
      faults.clear();
    }
    sendJson(res, 200, { faults: faults.list() });
  }

  /** Developer commands on the local EventBridge: replay, redrive, dead letters and a live tail. */
  async #eventsAdmin(action: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const events = this.#services.events;
    if (action === 'tail') return this.#tail(res, url);
    if (action === 'dead-letters') {
      const queue = url.searchParams.get('queue');
      const queues = queue ? [queue] : events.deadLetters.queues();
      return sendJson(res, 200, Object.fromEntries(queues.map((q) => [q, events.deadLetters.list(q)])));
    }
    const body = (await readJson(req)) as Record<string, unknown>;
    if (action === 'redrive') {
      if (typeof body.queue !== 'string') return sendJson(res, 400, { error: 'queue is required' });
      return sendJson(res, 200, await events.redrive(body.queue));
    }
    if (action === 'replay') {
      const from = new Date(String(body.from ?? ''));
      const to = new Date(String(body.to ?? new Date().toISOString()));
      if (typeof body.bus !== 'string' || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
        return sendJson(res, 400, { error: 'bus and from (ISO time) are required; to is an ISO time' });
      }
      const replayed = await events.replay({
        busName: body.bus,
        from,
        to,
        ...(typeof body.pattern === 'string' ? { pattern: body.pattern } : {}),
      });
      return sendJson(res, 200, { replayed });
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

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  const text = (await readBody(req)).toString('utf8');
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
