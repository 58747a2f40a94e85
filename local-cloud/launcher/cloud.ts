import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { schedules } from '../../infra/api.ts';
import { buses, rules, secrets, tables, topics } from '../../infra/topology.ts';
import { RestGateway } from '../emulators/apigateway/rest-gateway.ts';
import { WebSocketGateway } from '../emulators/apigateway/websocket-gateway.ts';
import { LocalDynamoDB } from '../emulators/dynamodb/dynamodb.ts';
import { Edge } from '../emulators/edge/edge.ts';
import { putEventsEntrySize } from '../emulators/edge/metering.ts';
import type { AwsCredentials } from '../emulators/edge/sigv4.ts';
import { type BusEvent, LocalEventBridge, type TargetInvoker } from '../emulators/eventbridge/service.ts';
import { LambdaInvocationError, LocalLambda, type LocalLambdaOptions } from '../emulators/lambda/lambda.ts';
import { LocalSecretsManager } from '../emulators/secretsmanager/secrets-manager.ts';
import { Faults } from '../emulators/shared/faults.ts';
import type { HealthCheck, HealthReport } from '../emulators/shared/health.ts';
import { chunks, type Meter } from '../emulators/shared/meter.ts';
import { LocalSns } from '../emulators/sns/service.ts';
import { LocalStepFunctions } from '../emulators/stepfunctions/stepfunctions.ts';
import { functionOfArn, LOCAL_ACCOUNT, LOCAL_REGION, localArns, targetArn } from './arns.ts';
import { handlerLogNotice, type Notice, noticeLine } from './console-log.ts';
import {
  functionNames,
  localFunctions,
  localStateMachines,
  repoRoot,
  restApi,
  webSocketApi,
} from './resources.ts';
import { deadLetterCount, GatewayCounters, type LocalCloudStats } from './stats.ts';

export { LOCAL_ACCOUNT, LOCAL_REGION };

/** What a caller may set of the Lambda runtime: the API's functions are always there. */
export type LocalLambdaSettings = Omit<
  LocalLambdaOptions,
  'functions' | 'rootDir' | 'functionArn' | 'onLog'
> & {
  /** Functions beside those of `infra/api.ts` (tests add handlers of their own under `test/support/`). */
  readonly extraFunctions?: LocalLambdaOptions['functions'];
};

export interface LocalCloudOptions {
  /** Tables and archives live here; everything is in memory when absent. */
  readonly dataDir?: string;
  readonly host?: string;
  readonly apiPort?: number;
  readonly edgePort?: number;
  readonly wsPort?: number;
  /** API Gateway closes a WebSocket after 10 idle minutes; tests shorten it. */
  readonly websocketIdleTimeoutMs?: number;
  /** How often expired TTL items are deleted (dynalite does not expire them itself). */
  readonly ttlSweepIntervalMs?: number;
  /** Delays between SNS http(s) delivery attempts. */
  readonly snsRetryDelaysMs?: readonly number[];
  /** base64url HMAC key that signs bearer tokens. */
  readonly tokenSigningKey: string;
  /** The only access key the edge accepts SigV4 signatures from; the functions and workflows sign with it. */
  readonly awsCredentials: AwsCredentials;
  readonly allowedOrigin?: string;
  /** How old an outbox mark must be before the relay re-publishes it (30 s on AWS). */
  readonly outboxMinAgeSeconds?: number;
  /** Replaces Step Functions' Retry intervals (ms), so local retries take moments, not seconds. */
  readonly sfnRetryIntervalMs?: number;
  /** First delay between EventBridge delivery retries (doubling after). */
  readonly retryBaseDelayMs?: number;
  /** How often the scheduled functions (outbox relay, silence check) run; 0 disables the timers (tests then call `runSchedule`). */
  readonly scheduleIntervalMs?: number;
  readonly logLevel?: string;
  /**
   * Where the local cloud's own failures and the handlers' log lines go (`npm start` collapses
   * repeats); printed to stderr when absent, and the handlers then write to stdout/stderr themselves.
   */
  readonly log?: (notice: Notice) => void;
  /** The local Lambda runtime's settings (tests add functions of their own, shorten the heartbeat). */
  readonly lambda?: LocalLambdaSettings;
  /** API Gateway's integration timeout, 29 s; tests shorten it. */
  readonly integrationTimeoutMs?: number;
  /**
   * Whether `/health` waits for {@link LocalCloud.markReady}: the launcher registers the demo
   * devices and writes the credentials file after the cloud starts, and only then is the system
   * ready. Otherwise it is ready when `startLocalCloud` resolves.
   */
  readonly readyWhenMarked?: boolean;
  /**
   * Counts the billable units of everything served (requests, invocations, request units, events,
   * executions, messages), for the cost model's measurement (`tools/cost/measure.ts`); off when absent.
   */
  readonly meter?: Meter;
}

export interface LocalCloud {
  readonly apiUrl: string;
  readonly edgeUrl: string;
  /** What a client signs its edge requests with. */
  readonly awsCredentials: AwsCredentials;
  readonly wsUrl: string;
  readonly events: LocalEventBridge;
  readonly sns: LocalSns;
  readonly stepFunctions: LocalStepFunctions;
  readonly websocket: WebSocketGateway;
  readonly faults: Faults;
  readonly lambda: LocalLambda;
  readonly gateway: RestGateway;
  /** Stops the WebSocket server (every client is dropped) and starts it again on the same port. */
  restartWebSocket(): Promise<void>;
  /** Runs a scheduled function now, as its schedule would. */
  runSchedule(name: keyof typeof schedules): Promise<unknown>;
  /** Counters for a status line: readings accepted, requests throttled, deliveries pending, dead letters, memory. */
  stats(): LocalCloudStats;
  /** The system's health, as `GET /health` answers it (REST API and edge). */
  health(): HealthReport;
  /** Tells `/health` the launcher's own start-up work is done (with `readyWhenMarked`). */
  markReady(): void;
  /** Stops accepting requests, lets in-flight ones finish, then closes every service. */
  stop(): Promise<void>;
}

type Log = (notice: Notice) => void;
type ScheduleName = keyof typeof schedules;

/**
 * Starts the local cloud in this process: the AWS-compatible edge (DynamoDB on dynalite, the local
 * EventBridge, SNS, Step Functions, Secrets Manager), the REST and WebSocket gateways with their
 * authorizers, and the schedules. Handlers reach the edge only through the standard
 * `AWS_ENDPOINT_URL` variable, exactly as they reach AWS.
 */
export const startLocalCloud = async (options: LocalCloudOptions): Promise<LocalCloud> => {
  const host = options.host ?? '127.0.0.1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const log = options.log ?? ((notice: Notice) => console.error(noticeLine(notice)));
  const faults = new Faults();

  const dynamodb = await startDynamoDB(options);
  const lambda = startLambda(options, log);
  let edgeUrl = '';
  const services = wireServices(options, { lambda, faults, log, edgeUrl: () => edgeUrl });
  const { events, sns, stepFunctions, websocket } = services;
  const readiness = trackReadiness(options, { lambda, events });
  const edge = new Edge(
    {
      dynamodb,
      events,
      faults,
      secrets: new LocalSecretsManager({
        secrets: { [secrets.tokenSigningKey.name]: options.tokenSigningKey },
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT,
      }),
      sns,
      states: stepFunctions,
      websocket,
      health: readiness.health,
      ...(options.meter ? { meter: options.meter } : {}),
    },
    options.awsCredentials,
    LOCAL_REGION,
  );
  edgeUrl = await edge.listen(options.edgePort ?? 0, host);
  Object.assign(process.env, handlerEnvironment(options, edgeUrl));

  events.resumePending();
  stepFunctions.resumeExecutions();
  sns.resumeDeliveries();

  const answers = new GatewayCounters();
  const gateway = new RestGateway({
    ...restApi(),
    onAnswer: (answer) => {
      answers.record(answer);
      options.meter?.add('apigateway/restRequests');
    },
    invoke: (fn, event) => lambda.invoke(fn, event),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    allowedOrigin: options.allowedOrigin ?? '*',
    health: readiness.health,
    ...(options.integrationTimeoutMs !== undefined
      ? { integrationTimeoutMs: options.integrationTimeoutMs }
      : {}),
  });
  const apiUrl = await gateway.listen(options.apiPort ?? 0, host);
  let wsUrl = await websocket.listen(options.wsPort ?? 0, host);
  const sweeper = dynamodb.startTtlSweeper(
    Object.values(tables).filter((table) => 'timeToLiveAttribute' in table),
    options.ttlSweepIntervalMs ?? 60_000,
  );
  const runSchedule = (name: ScheduleName) => lambda.invoke(schedules[name].function, scheduledEvent());
  const timers = startSchedules(options, runSchedule, log);
  readiness.started();
  // Execution environments start on demand, as Lambda's do: a function's first invocation is a cold start.

  return {
    apiUrl,
    edgeUrl,
    awsCredentials: options.awsCredentials,
    get wsUrl() {
      return wsUrl;
    },
    events,
    sns,
    stepFunctions,
    websocket,
    async restartWebSocket() {
      await websocket.close();
      wsUrl = await websocket.listen(Number(new URL(wsUrl.replace('ws:', 'http:')).port), host);
    },
    faults,
    lambda,
    gateway,
    runSchedule,
    stats: () => ({
      acceptedReadings: answers.acceptedReadings,
      throttledRequests: answers.throttledRequests,
      pendingDeliveries: events.pendingCount(),
      deadLetters: deadLetterCount(events.deadLetters),
      rssBytes: process.memoryUsage.rss(),
    }),
    health: readiness.health,
    markReady: readiness.markReady,
    async stop() {
      readiness.stopping();
      for (const timer of [...timers, sweeper]) clearInterval(timer);
      await gateway.close();
      await websocket.close();
      await settle(services);
      faults.clear();
      await edge.close();
      await sns.close();
      await lambda.close();
      await dynamodb.stop();
    },
  };
};

/** dynalite, with every table of the topology created. */
const startDynamoDB = async (options: LocalCloudOptions): Promise<LocalDynamoDB> => {
  const dynamodb = new LocalDynamoDB({
    credentials: options.awsCredentials,
    region: LOCAL_REGION,
    ...(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {}),
  });
  await dynamodb.start();
  await dynamodb.ensureTables(Object.values(tables));
  return dynamodb;
};

/** The Lambda runtime with every function of the API (and a test's own). */
const startLambda = (options: LocalCloudOptions, log: Log): LocalLambda => {
  const { extraFunctions, ...settings } = options.lambda ?? {};
  return new LocalLambda({
    ...settings,
    functions: { ...localFunctions(), ...extraFunctions },
    rootDir: repoRoot,
    functionArn: localArns.function,
    ...(options.meter ? { meter: options.meter } : {}),
    ...(options.log ? { onLog: (line: string) => log(handlerLogNotice(line)) } : {}),
  });
};

interface Services {
  readonly events: LocalEventBridge;
  readonly sns: LocalSns;
  readonly stepFunctions: LocalStepFunctions;
  readonly websocket: WebSocketGateway;
}

interface Wiring {
  readonly lambda: LocalLambda;
  readonly faults: Faults;
  readonly log: Log;
  /** The edge's URL, known once it listens (SNS links and the workflows' SDK calls point at it). */
  readonly edgeUrl: () => string;
}

/** EventBridge with the topology's rules, SNS with its topics, Step Functions with its workflows, the WebSocket API. */
const wireServices = (options: LocalCloudOptions, wiring: Wiring): Services => {
  const { lambda, faults, log } = wiring;
  const events: LocalEventBridge = new LocalEventBridge({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    busNames: Object.values(buses).map((bus) => bus.name),
    archivedBuses: Object.values(buses)
      .filter((bus) => bus.archived)
      .map((bus) => bus.name),
    faults,
    resolveTarget: (arn) => resolveTarget(arn, services, options.meter),
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1000,
    onDeliveryError: (message, context) =>
      log({
        source: 'eventbridge',
        counted: { one: 'delivery failed for good', many: 'deliveries failed for good' },
        reason: `${context.errorCode} at ${context.target}`,
        message: `${message}: ${JSON.stringify(context)}`,
      }),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  putTopologyRules(events);
  const sns = new LocalSns({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    faults,
    publicUrl: wiring.edgeUrl,
    topics: Object.values(topics).map((topic) => topic.name),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.snsRetryDelaysMs ? { retryDelaysMs: options.snsRetryDelaysMs } : {}),
  });
  const stepFunctions = new LocalStepFunctions({
    machines: localStateMachines(),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    functionOfArn: (arn) => functionOfArn(arn, functionNames),
    invokeFunction: (fn, payload) => lambda.invoke(fn, payload).catch(asTaskError),
    edgeUrl: wiring.edgeUrl,
    credentials: options.awsCredentials,
    faults,
    deadLetters: events.deadLetters,
    onFailure: (execution) =>
      log({
        source: 'step functions',
        counted: { one: 'execution failed', many: 'executions failed' },
        reason: String(execution.error),
        message: `${execution.name} failed: ${execution.error} ${execution.cause ?? ''}`,
      }),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.sfnRetryIntervalMs !== undefined ? { retryIntervalMs: options.sfnRetryIntervalMs } : {}),
  });
  const websocket = new WebSocketGateway({
    ...webSocketApi(),
    invoke: (fn, event) => lambda.invoke(fn, event),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    ...(options.websocketIdleTimeoutMs ? { idleTimeoutMs: options.websocketIdleTimeoutMs } : {}),
  });
  const services: Services & { readonly lambda: LocalLambda } = {
    events,
    sns,
    stepFunctions,
    websocket,
    lambda,
  };
  return services;
};

const payloadOf = (payload: string): unknown => {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
};

const busByArn = new Map(Object.values(buses).map((bus) => [localArns.bus(bus.name), bus.name]));

/** How EventBridge delivers to a target ARN: a function, a bus, a state machine or a topic. */
const resolveTarget = (
  arn: string,
  services: Services & { readonly lambda: LocalLambda },
  meter: Meter | undefined,
): TargetInvoker | undefined => {
  const fn = functionOfArn(arn, functionNames);
  if (fn) return async (payload) => void (await services.lambda.invoke(fn, payloadOf(payload)));
  const bus = busByArn.get(arn);
  if (bus)
    return async (payload) => {
      const event = payloadOf(payload) as BusEvent;
      services.events.publish(bus, event);
      // An event a rule sends to another bus is billed there as a custom event (https://aws.amazon.com/eventbridge/pricing/).
      meter?.add('events/forwardedEvents', chunks(busEventSize(event), 64 * 1024));
    };
  if (arn.startsWith('arn:aws:states:')) {
    return async (payload) => {
      services.stepFunctions.start(arn, payload);
      meter?.add('states/executions');
    };
  }
  if (arn.startsWith('arn:aws:sns:')) {
    return async (payload) => {
      meter?.add('sns/publishes', chunks(Buffer.byteLength(payload, 'utf8'), 64 * 1024));
      const answer = await services.sns.handle(
        new URLSearchParams({ Action: 'Publish', TopicArn: arn, Message: payload }),
      );
      if (answer.status !== 200) throw Object.assign(new Error(answer.body), { name: 'SnsPublishFailed' });
    };
  }
  return undefined;
};

/** A forwarded event's size as PutEvents would bill its entry. */
const busEventSize = (event: BusEvent): number =>
  putEventsEntrySize({
    Time: event.time,
    Source: event.source,
    DetailType: event['detail-type'],
    Detail: JSON.stringify(event.detail),
    Resources: event.resources,
  });

/** Puts every rule of the topology and its targets, as the CDK stack declares them. */
const putTopologyRules = (events: LocalEventBridge): void => {
  for (const rule of rules) {
    const busName = buses[rule.bus].name;
    events.putRule({
      Name: rule.name,
      EventBusName: busName,
      EventPattern: JSON.stringify(rule.eventPattern),
      Description: rule.description,
    });
    const { FailedEntries } = events.putTargets({
      Rule: rule.name,
      EventBusName: busName,
      Targets: rule.targets.map((target) => ({
        Id: target.id,
        Arn: targetArn(target),
        RetryPolicy: {
          MaximumRetryAttempts: target.retryPolicy.maximumRetryAttempts,
          MaximumEventAgeInSeconds: target.retryPolicy.maximumEventAgeSeconds,
        },
        DeadLetterConfig: { Arn: localArns.queue(target.deadLetterQueue) },
        ...(target.input && 'inputPath' in target.input ? { InputPath: target.input.inputPath } : {}),
        ...(target.input && 'inputTransformer' in target.input
          ? {
              InputTransformer: {
                InputPathsMap: target.input.inputTransformer.inputPathsMap,
                InputTemplate: target.input.inputTransformer.inputTemplate,
              },
            }
          : {}),
      })),
    });
    if (FailedEntries.length > 0)
      throw new Error(`Topology rule ${rule.name}: ${JSON.stringify(FailedEntries)}`);
  }
};

/** The environment every function starts with: the edge as endpoint, the signing key, every resource's name. */
const handlerEnvironment = (options: LocalCloudOptions, edgeUrl: string): Record<string, string> => ({
  AWS_ENDPOINT_URL: edgeUrl,
  AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: edgeUrl,
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: options.awsCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: options.awsCredentials.secretAccessKey,
  ...Object.fromEntries(Object.values(secrets).map((secret) => [secret.env, secret.name])),
  OUTBOX_MIN_AGE_SECONDS: String(options.outboxMinAgeSeconds ?? 30),
  ALLOWED_ORIGIN: options.allowedOrigin ?? '*',
  POWERTOOLS_LOG_LEVEL: options.logLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  ...Object.fromEntries(Object.values(tables).map((table) => [table.env, table.name])),
  ...Object.fromEntries(Object.values(buses).map((bus) => [bus.env, bus.name])),
  ...Object.fromEntries(Object.values(topics).map((topic) => [topic.env, localArns.topic(topic.name)])),
});

/**
 * `GET /health`'s `checks.deadLetters`: the messages waiting in every dead-letter queue, those
 * of the topology at 0 included (the enrich queue's count is the readings not enriched).
 */
const deadLetterCounts = (events: LocalEventBridge): Record<string, number> =>
  Object.fromEntries(
    [
      ...new Set([
        ...rules.flatMap((rule) => rule.targets.map((target) => target.deadLetterQueue)),
        ...events.deadLetters.queues(),
      ]),
    ].map((queue) => [queue, events.deadLetters.count(queue)]),
  );

/** The health report both `/health`s answer, and the phase it reports. */
const trackReadiness = (
  options: LocalCloudOptions,
  { lambda, events }: { lambda: LocalLambda; events: LocalEventBridge },
) => {
  let phase: 'starting' | 'started' | 'stopping' = 'starting';
  let marked = !options.readyWhenMarked;
  /** Every check the health report makes, by name; add one here and both `/health`s report it. */
  const checks: Record<string, () => HealthCheck> = {
    lambda: () => {
      const { ok, stuck, environments } = lambda.health();
      return { ok, stuck, environments: environments.length };
    },
    // Dead letters are work that failed for good and waits for a redrive: counted, not a fault of the system's own.
    deadLetters: () => ({ ok: true, queues: deadLetterCounts(events) }),
  };
  const health = (): HealthReport => {
    const results = Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, check()]));
    const status =
      phase === 'stopping'
        ? 'stopping'
        : phase === 'starting' || !marked
          ? 'starting'
          : Object.values(results).every((check) => check.ok)
            ? 'ok'
            : 'degraded';
    return { status, checks: results };
  };
  return {
    health,
    started: () => {
      phase = 'started';
    },
    stopping: () => {
      phase = 'stopping';
    },
    markReady: () => {
      marked = true;
    },
  };
};

/** What EventBridge Scheduler hands a scheduled function. */
const scheduledEvent = () => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.scheduler',
  account: LOCAL_ACCOUNT,
  time: new Date().toISOString(),
  region: LOCAL_REGION,
  resources: [],
  detail: {},
});

/** Runs each scheduled function now and then at its interval; a failed run is logged, the next one goes ahead. */
const startSchedules = (
  options: LocalCloudOptions,
  runSchedule: (name: ScheduleName) => Promise<unknown>,
  log: Log,
): NodeJS.Timeout[] => {
  const timers: NodeJS.Timeout[] = [];
  for (const name of Object.keys(schedules) as ScheduleName[]) {
    const interval = options.scheduleIntervalMs ?? schedules[name].everyMinutes * 60_000;
    if (interval <= 0) continue;
    const tick = () => {
      runSchedule(name).catch((error: unknown) =>
        log({
          source: name,
          counted: { one: 'run failed', many: 'runs failed' },
          reason: error instanceof Error ? error.name : 'Error',
          message: `failed: ${error instanceof Error ? error.message : String(error)}`,
        }),
      );
    };
    timers.push(setInterval(tick, interval));
    tick();
  }
  return timers;
};

/** Lets deliveries and the workflows they start settle; what is still pending is kept for the next start. */
const settle = async ({ events, stepFunctions }: Services): Promise<void> => {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (events.busy() || stepFunctions.busy())) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stepFunctions.close();
  await events.close(0);
};

/**
 * What a Step Functions `lambda:invoke` task fails with: a function's own error by its name (the
 * ASL's `ErrorEquals` match it), and one the runtime ended (timeout, out of memory) as
 * `Lambda.Unknown` (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
 */
const asTaskError = (error: unknown): never => {
  if (error instanceof LambdaInvocationError && error.unhandled) {
    throw Object.assign(new Error(JSON.stringify(error.payload), { cause: error }), {
      name: 'Lambda.Unknown',
    });
  }
  throw error;
};
