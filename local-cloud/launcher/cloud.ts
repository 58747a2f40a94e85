import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { STAGE_THROTTLE, schedules } from '../../infra/api.ts';
import { THROTTLED_RETRY_AFTER_SECONDS } from '../../infra/gateway-responses.ts';
import {
  ARCHIVE_RETENTION_DAYS,
  buses,
  queues,
  type RulesAndQueues,
  rules,
  secrets,
  stateMachines,
  type TableSpec,
  tables,
  topics,
} from '../../infra/topology.ts';
import { deadLetterQueueOfQueue } from '../../infra/topology-types.ts';
import { RestGateway } from '../emulators/apigateway/rest-gateway.ts';
import { WebSocketGateway } from '../emulators/apigateway/websocket-gateway.ts';
import { LocalDynamoDB } from '../emulators/dynamodb/dynamodb.ts';
import { StreamEventSource, type WritesSettle } from '../emulators/dynamodb/stream-event-source.ts';
import { Edge } from '../emulators/edge/edge.ts';
import { putEventsEntrySize } from '../emulators/edge/metering.ts';
import type { AwsCredentials } from '../emulators/edge/sigv4.ts';
import { type BusEvent, LocalEventBridge, type TargetInvoker } from '../emulators/eventbridge/service.ts';
import { AsyncInvocations, type AsyncInvocationsOptions } from '../emulators/lambda/async-invocations.ts';
import {
  LambdaInvocationError,
  LambdaThrottledError,
  LocalLambda,
  type LocalLambdaOptions,
} from '../emulators/lambda/lambda.ts';
import { LocalSecretsManager } from '../emulators/secretsmanager/secrets-manager.ts';
import { AwsError } from '../emulators/shared/aws-protocol.ts';
import { Faults } from '../emulators/shared/faults.ts';
import type { HealthCheck, HealthReport } from '../emulators/shared/health.ts';
import { chunks, type Meter } from '../emulators/shared/meter.ts';
import type { ThrottleSettings } from '../emulators/shared/token-bucket.ts';
import { LocalSns } from '../emulators/sns/service.ts';
import { SqsDeadLetterQueues } from '../emulators/sqs/dead-letter-queues.ts';
import { LocalSqs } from '../emulators/sqs/sqs.ts';
import { LocalStepFunctions } from '../emulators/stepfunctions/stepfunctions.ts';
import { functionOfArn, LOCAL_ACCOUNT, LOCAL_REGION, localArns, targetArn } from './arns.ts';
import { handlerLogNotice, type Notice, noticeLine } from './console-log.ts';
import {
  bundledFunctions,
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

/** A table beside those of the topology (tests add tables of their own, with streams and consumers). */
export type ExtraTable = TableSpec;

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
  /** Days a reading is kept after its timestamp (the readings table's declared retention unless set). */
  readonly readingsRetentionDays?: number;
  /** Days a rollup is kept after its bucket starts (the rollups table's declared retention unless set). */
  readonly rollupsRetentionDays?: number;
  /** Replaces Step Functions' Retry intervals (ms), so local retries take moments, not seconds. */
  readonly sfnRetryIntervalMs?: number;
  /** First delay between EventBridge delivery retries (doubling after). */
  readonly retryBaseDelayMs?: number;
  /** How stream mappings without a batching window gather a request's writes (see `stream-event-source.ts`). */
  readonly streamWritesSettle?: WritesSettle;
  /** How often the scheduled functions (silence check, alert escalation) run; 0 disables the timers (tests then call `runSchedule`). */
  readonly scheduleIntervalMs?: number;
  readonly logLevel?: string;
  /**
   * Where the local cloud's own failures and the handlers' log lines go (`npm start` collapses
   * repeats); printed to stderr when absent, and the handlers then write to stdout/stderr themselves.
   */
  readonly log?: (notice: Notice) => void;
  /** The local Lambda runtime's settings (tests add functions of their own, shorten the heartbeat). */
  readonly lambda?: LocalLambdaSettings;
  /** Lambda's retries of asynchronous invocations (`InvocationType: Event`), shortened by tests; AWS's when absent. */
  readonly asyncInvoke?: Pick<
    AsyncInvocationsOptions,
    'functionErrorDelaysMs' | 'throttleBaseDelayMs' | 'throttleMaxDelayMs' | 'maximumEventAgeMs'
  >;
  /** Tables beside the topology's; a stream consumer of one may name an extra function. */
  readonly extraTables?: readonly ExtraTable[];
  /**
   * The rules and the queues they deliver to, the topology's when absent; tests prove a rule
   * target the product does not use with the topology extended (`extendTopology`).
   */
  readonly topology?: RulesAndQueues;
  /**
   * The stages' throttles, `infra/api.ts`'s {@link STAGE_THROTTLE} when absent (as deployed);
   * tests of throttling narrow them.
   */
  readonly stageThrottle?: { readonly rest: ThrottleSettings; readonly websocket: ThrottleSettings };
  /**
   * `/health` is `degraded` while more deliveries and executions than this are pending
   * ({@link DEFAULT_BACKLOG_DEGRADED_ABOVE} by default).
   */
  readonly backlogDegradedAbove?: number;
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
  readonly sqs: LocalSqs;
  readonly stepFunctions: LocalStepFunctions;
  readonly websocket: WebSocketGateway;
  readonly faults: Faults;
  readonly lambda: LocalLambda;
  /** The queue of asynchronous invocations the edge's `Invoke` accepted (`InvocationType: Event`). */
  readonly asyncInvocations: AsyncInvocations;
  readonly gateway: RestGateway;
  /** DynamoDB: its streams and the TTL sweep (`sweepExpired` runs one now). */
  readonly dynamodb: LocalDynamoDB;
  /** The Lambda event source mappings on the tables' streams (skipped batches' metadata goes to their on-failure queues). */
  readonly streamConsumers: StreamEventSource;
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

/** How much pending work `/health` tolerates before it says the system is behind. */
export const DEFAULT_BACKLOG_DEGRADED_ABOVE = 10_000;
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

  let edgeUrl = '';
  const sqs = new LocalSqs({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    publicUrl: () => edgeUrl,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  const deadLetters = createDeadLetterQueues(options, sqs);
  // A test's own functions are built apart, so the API's bundles are the same for every start.
  const [dynamodb, functions, extraFunctions] = await Promise.all([
    startDynamoDB(options),
    bundledFunctions(localFunctions()),
    bundledFunctions(options.lambda?.extraFunctions ?? {}),
  ]);
  const lambda = startLambda(options, { ...functions, ...extraFunctions }, log);
  const streamConsumers = startStreamConsumers(options, { dynamodb, lambda, log, sqs });
  const functionByArn = functionsByArn(options);
  const services = wireServices(options, {
    lambda,
    faults,
    log,
    edgeUrl: () => edgeUrl,
    functionByArn,
    sqs,
    deadLetters,
  });
  const { events, sns, stepFunctions, websocket } = services;
  const asyncInvocations = startAsyncInvocations(options, lambda, log);
  const readiness = trackReadiness(options, { lambda, events, stepFunctions });
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
      sqs,
      states: stepFunctions,
      websocket,
      invoke: (name, payload) => lambda.invoke(functionNamed(functionByArn, name), payload),
      invokeAsync: (name, payload) => asyncInvocations.enqueue(functionNamed(functionByArn, name), payload),
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
  asyncInvocations.resume();

  const answers = new GatewayCounters();
  const gateway = new RestGateway({
    ...restApi(),
    onAnswer: (answer) => {
      answers.record(answer);
      options.meter?.add(answer.api === 'http' ? 'apigateway/httpRequests' : 'apigateway/restRequests');
    },
    invoke: (fn, event, invokeOptions) => lambda.invoke(fn, event, invokeOptions),
    invokeWithResponseStream: (fn, event, invokeOptions) =>
      lambda.invokeWithResponseStream(fn, event, invokeOptions),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    allowedOrigin: options.allowedOrigin ?? '*',
    health: readiness.health,
    throttle: (options.stageThrottle ?? STAGE_THROTTLE).rest,
    ...(options.integrationTimeoutMs !== undefined
      ? { integrationTimeoutMs: options.integrationTimeoutMs }
      : {}),
  });
  const apiUrl = await gateway.listen(options.apiPort ?? 0, host);
  let wsUrl = await websocket.listen(options.wsPort ?? 0, host);
  const sweeper = dynamodb.startTtlSweeper(options.ttlSweepIntervalMs ?? 60_000);
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
    sqs,
    stepFunctions,
    websocket,
    async restartWebSocket() {
      await websocket.close();
      wsUrl = await websocket.listen(Number(new URL(wsUrl.replace('ws:', 'http:')).port), host);
    },
    faults,
    lambda,
    asyncInvocations,
    gateway,
    dynamodb,
    streamConsumers,
    runSchedule,
    stats: () => ({
      acceptedReadings: answers.acceptedReadings,
      throttledRequests: answers.throttledRequests + websocket.throttledCount,
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
      await streamConsumers.stop();
      faults.clear();
      await edge.close();
      await sns.close();
      asyncInvocations.close();
      sqs.close();
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
    accountId: LOCAL_ACCOUNT,
    ...(options.dataDir
      ? {
          path: join(options.dataDir, 'dynamodb'),
          stateDir: join(options.dataDir, 'dynamodb-streams'),
          journalFile: join(options.dataDir, 'journal', 'dynamodb.jsonl'),
        }
      : {}),
  });
  await dynamodb.start();
  await dynamodb.ensureTables(allTables(options));
  return dynamodb;
};

const allTables = (options: LocalCloudOptions): readonly TableSpec[] => [
  ...Object.values(tables),
  ...(options.extraTables ?? []),
];

/**
 * Every dead-letter queue the topology declares, a real SQS queue as the CDK stack deploys it: the
 * rule targets', the declared queues' own (their redrive policies'), the workflows' parking queues
 * and the stream consumers' on-failure destinations.
 */
const declaredDeadLetterQueues = (options: LocalCloudOptions): string[] => [
  ...new Set([
    ...topologyOf(options).rules.flatMap((rule) => rule.targets.map((target) => target.deadLetterQueue)),
    ...Object.values(topologyOf(options).queues).map((queue) => deadLetterQueueOfQueue(queue.name)),
    ...Object.values(stateMachines).flatMap((machine) =>
      Object.values(machine.substitutions).flatMap((substitution) =>
        'queue' in substitution ? [substitution.queue] : [],
      ),
    ),
    ...allTables(options).flatMap((table) => (table.stream?.consumers ?? []).map((c) => c.onFailure)),
  ]),
];

/** SQS's longest retention, which the deployed dead-letter queues keep their messages for. */
const DEAD_LETTER_RETENTION_SECONDS = String(14 * 24 * 3600);

/**
 * Creates the declared dead-letter queues (those a previous run created are kept as they are),
 * mirrored as JSON Lines under `<data dir>/dlq/` for reading; the queues are the truth.
 */
const createDeadLetterQueues = (options: LocalCloudOptions, sqs: LocalSqs): SqsDeadLetterQueues => {
  const declared = declaredDeadLetterQueues(options);
  for (const queue of declared) {
    if (!sqs.hasQueue(queue))
      sqs.createQueue(queue, { MessageRetentionPeriod: DEAD_LETTER_RETENTION_SECONDS });
  }
  for (const queue of Object.values(topologyOf(options).queues)) {
    if (sqs.hasQueue(queue.name)) continue;
    sqs.createQueue(queue.name, {
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: localArns.queue(deadLetterQueueOfQueue(queue.name)),
        maxReceiveCount: queue.maxReceiveCount,
      }),
    });
  }
  return new SqsDeadLetterQueues(sqs, {
    declared,
    ...(options.dataDir ? { mirrorDir: join(options.dataDir, 'dlq') } : {}),
  });
};

/**
 * The Lambda event source mappings of every table whose stream has a consumer, as the CDK stack
 * declares them with `DynamoEventSource`; each consumer must be a function the runtime runs.
 */
const startStreamConsumers = (
  options: LocalCloudOptions,
  { dynamodb, lambda, log, sqs }: { dynamodb: LocalDynamoDB; lambda: LocalLambda; log: Log; sqs: LocalSqs },
): StreamEventSource => {
  const runnable = new Set(Object.keys({ ...localFunctions(), ...options.lambda?.extraFunctions }));
  const mappings = allTables(options).flatMap((table) =>
    (table.stream?.consumers ?? []).map((consumer) => {
      if (!runnable.has(consumer.function))
        throw new Error(`The stream of table ${table.name} names ${consumer.function}, which is no function`);
      return {
        table: table.name,
        functionName: consumer.function,
        functionArn: localArns.function(consumer.function),
        batchSize: consumer.batchSize,
        maximumBatchingWindowSeconds: consumer.maximumBatchingWindowSeconds,
        maximumRetryAttempts: consumer.maximumRetryAttempts,
        bisectBatchOnFunctionError: consumer.bisectBatchOnFunctionError,
        reportBatchItemFailures: consumer.reportBatchItemFailures,
        onFailure: consumer.onFailure,
        ...(consumer.filters ? { filters: consumer.filters } : {}),
      };
    }),
  );
  const consumers = new StreamEventSource({
    streams: dynamodb.streams,
    mappings,
    invoke: (fn, event) => lambda.invoke(fn, event),
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1000,
    ...(options.streamWritesSettle ? { writesSettle: options.streamWritesSettle } : {}),
    onError: (message) =>
      log({
        source: 'dynamodb streams',
        counted: { one: 'stream batch failed', many: 'stream batches failed' },
        reason: 'stream event source',
        message,
      }),
    sendToQueue: (queue, body) => void sqs.send(queue, body),
    ...(options.dataDir
      ? { checkpointFile: join(options.dataDir, 'journal', 'dynamodb-stream-consumers.jsonl') }
      : {}),
  });
  consumers.start();
  return consumers;
};

/** Every function the runtime runs, the API's and a test's own, by its local ARN. */
const functionsByArn = (options: LocalCloudOptions): ReadonlyMap<string, string> =>
  new Map(
    [...functionNames, ...Object.keys(options.lambda?.extraFunctions ?? {})].map((name) => [
      localArns.function(name),
      name,
    ]),
  );

/**
 * The function an Invoke names: its ARN, or the name Lambda knows it by (the ARN's last segment);
 * `ResourceNotFoundException`, as Lambda answers, for any other.
 */
const functionNamed = (functionByArn: ReadonlyMap<string, string>, name: string): string => {
  const arn = name.startsWith('arn:')
    ? name
    : `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
  const fn = functionByArn.get(arn);
  if (!fn) throw new AwsError('ResourceNotFoundException', `Function not found: ${arn}`, 404);
  return fn;
};

/** The Lambda runtime with every function of the API (and a test's own), each run from its bundle. */
const startLambda = (
  options: LocalCloudOptions,
  functions: LocalLambdaOptions['functions'],
  log: Log,
): LocalLambda => {
  const { extraFunctions: _, ...settings } = options.lambda ?? {};
  return new LocalLambda({
    ...settings,
    functions,
    rootDir: repoRoot,
    functionArn: localArns.function,
    ...(options.meter ? { meter: options.meter } : {}),
    ...(options.log ? { onLog: (line: string) => log(handlerLogNotice(line)) } : {}),
  });
};

/** Lambda's queue of asynchronous invocations, journaled under the data directory; a discarded event is logged. */
const startAsyncInvocations = (options: LocalCloudOptions, lambda: LocalLambda, log: Log): AsyncInvocations =>
  new AsyncInvocations({
    ...options.asyncInvoke,
    invoke: (fn, payload) => lambda.invoke(fn, payload),
    onDiscard: (discarded) =>
      log({
        source: 'lambda',
        counted: { one: 'asynchronous invocation discarded', many: 'asynchronous invocations discarded' },
        reason: `${discarded.condition} at ${discarded.functionName}`,
        message: `${discarded.requestId} discarded (${discarded.condition}): ${discarded.errorType}: ${discarded.errorMessage}`,
      }),
    ...(options.dataDir ? { journalFile: join(options.dataDir, 'journal', 'lambda-async.jsonl') } : {}),
  });

interface Services {
  readonly events: LocalEventBridge;
  readonly sns: LocalSns;
  readonly sqs: LocalSqs;
  readonly stepFunctions: LocalStepFunctions;
  readonly websocket: WebSocketGateway;
}

interface Wiring {
  readonly lambda: LocalLambda;
  readonly faults: Faults;
  readonly log: Log;
  /** The edge's URL, known once it listens (SNS links and the workflows' SDK calls point at it). */
  readonly edgeUrl: () => string;
  /** Every function the runtime runs (a test's own too), by its local ARN. */
  readonly functionByArn: ReadonlyMap<string, string>;
  readonly sqs: LocalSqs;
  /** The dead-letter queues (SQS queues) EventBridge sends what it gave up on to. */
  readonly deadLetters: SqsDeadLetterQueues;
}

/** EventBridge with the topology's rules, SNS with its topics, Step Functions with its workflows, the WebSocket API. */
const wireServices = (options: LocalCloudOptions, wiring: Wiring): Services => {
  const { lambda, faults, log, sqs } = wiring;
  const events: LocalEventBridge = new LocalEventBridge({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    busNames: Object.values(buses).map((bus) => bus.name),
    archivedBuses: Object.values(buses)
      .filter((bus) => bus.archived)
      // As long as the readings, which this cloud may keep longer or shorter than deployed.
      .map((bus) => ({
        name: bus.name,
        retentionDays: options.readingsRetentionDays ?? ARCHIVE_RETENTION_DAYS,
      })),
    faults,
    deadLetters: wiring.deadLetters,
    resolveTarget: (arn) => resolveTarget(arn, services, wiring.functionByArn, options.meter),
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
  putTopologyRules(events, topologyOf(options));
  const sns = new LocalSns({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    publicUrl: wiring.edgeUrl,
    topics: Object.values(topics).map((topic) => topic.name),
    sendToQueue: (arn, body, attributes) => {
      try {
        sqs.send(arn.slice(arn.lastIndexOf(':') + 1), body, attributes);
      } catch (error) {
        log({
          source: 'sns',
          counted: { one: 'dead letter not queued', many: 'dead letters not queued' },
          reason: `no queue ${arn}`,
          message: `RedrivePolicy queue ${arn} refused the message: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    },
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
    invoke: (fn, event, invokeOptions) => lambda.invoke(fn, event, invokeOptions),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    throttle: {
      ...(options.stageThrottle ?? STAGE_THROTTLE).websocket,
      retryAfterSeconds: THROTTLED_RETRY_AFTER_SECONDS,
    },
    ...(options.websocketIdleTimeoutMs ? { idleTimeoutMs: options.websocketIdleTimeoutMs } : {}),
  });
  const services: Services & { readonly lambda: LocalLambda } = {
    events,
    sns,
    sqs,
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

/** How EventBridge delivers to a target ARN: a function, a bus, a state machine, a topic or a queue. */
const resolveTarget = (
  arn: string,
  services: Services & { readonly lambda: LocalLambda },
  functionByArn: ReadonlyMap<string, string>,
  meter: Meter | undefined,
): TargetInvoker | undefined => {
  const fn = functionByArn.get(arn);
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
  if (arn.startsWith('arn:aws:sqs:')) {
    return async (payload) => void services.sqs.send(arn.slice(arn.lastIndexOf(':') + 1), payload);
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

/** The rules and queues this cloud runs: the topology's, or the extension a test gave. */
const topologyOf = (options: LocalCloudOptions): RulesAndQueues => options.topology ?? { queues, rules };

/** Puts every rule of the topology and its targets, as the CDK stack declares them. */
const putTopologyRules = (events: LocalEventBridge, topology: RulesAndQueues): void => {
  for (const rule of topology.rules) {
    const busName = buses[rule.bus].name;
    events.putRule({
      Name: rule.name,
      EventBusName: busName,
      EventPattern: JSON.stringify(rule.eventPattern),
      Description: rule.description,
    });
    events.putTargets({
      Rule: rule.name,
      EventBusName: busName,
      Targets: rule.targets.map((target) => ({
        Id: target.id,
        Arn: targetArn(target, topology.queues),
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
  ALLOWED_ORIGIN: options.allowedOrigin ?? '*',
  POWERTOOLS_LOG_LEVEL: options.logLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  ...Object.fromEntries(Object.values(tables).map((table) => [table.env, table.name])),
  [tables.readings.retention.env]: String(options.readingsRetentionDays ?? tables.readings.retention.days),
  [tables.rollups.retention.env]: String(options.rollupsRetentionDays ?? tables.rollups.retention.days),
  ...Object.fromEntries(Object.values(buses).map((bus) => [bus.env, bus.name])),
  ...Object.fromEntries(Object.values(topics).map((topic) => [topic.env, localArns.topic(topic.name)])),
});

/**
 * `GET /health`'s `checks.deadLetters`: the messages waiting in every dead-letter queue (SQS
 * queues), those of the topology at 0 included (the enrich queue's count is the readings not enriched).
 */
const deadLetterCounts = (events: LocalEventBridge): Record<string, number> =>
  Object.fromEntries(events.deadLetters.queues().map((queue) => [queue, events.deadLetters.count(queue)]));

/** The health report both `/health`s answer, and the phase it reports. */
const trackReadiness = (
  options: LocalCloudOptions,
  {
    lambda,
    events,
    stepFunctions,
  }: { lambda: LocalLambda; events: LocalEventBridge; stepFunctions: LocalStepFunctions },
) => {
  const backlogLimit = options.backlogDegradedAbove ?? DEFAULT_BACKLOG_DEGRADED_ABOVE;
  let phase: 'starting' | 'started' | 'stopping' = 'starting';
  let marked = !options.readyWhenMarked;
  /** Every check the health report makes, by name; add one here and both `/health`s report it. */
  const checks: Record<string, () => HealthCheck> = {
    lambda: () => {
      const { ok, stuck, environments } = lambda.health();
      return { ok, stuck, environments: environments.length };
    },
    // Work accepted and not done yet. It is on disk and nothing is lost, but past the bound the
    // system is behind: what it shows lags what it was told by that much.
    backlog: () => {
      const pendingDeliveries = events.pendingCount();
      const pendingExecutions = stepFunctions.pendingCount();
      const ok = pendingDeliveries + pendingExecutions <= backlogLimit;
      return {
        ok,
        pendingDeliveries,
        pendingExecutions,
        limit: backlogLimit,
        ...(ok
          ? {}
          : {
              reason: `${pendingDeliveries} deliveries and ${pendingExecutions} executions are pending, more than ${backlogLimit}: the system is behind and catching up from disk`,
            }),
      };
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

/**
 * Runs each scheduled function now and then at its interval; a failed run is logged, the next one
 * goes ahead. A tick that comes while the schedule's previous run is still going is skipped: on AWS
 * the scheduler would invoke again, but an interval shortened for tests (`scheduleIntervalMs`) would
 * otherwise stack runs faster than a loaded machine ends them, each in an environment of its own.
 */
const startSchedules = (
  options: LocalCloudOptions,
  runSchedule: (name: ScheduleName) => Promise<unknown>,
  log: Log,
): NodeJS.Timeout[] => {
  const timers: NodeJS.Timeout[] = [];
  for (const name of Object.keys(schedules) as ScheduleName[]) {
    const interval = options.scheduleIntervalMs ?? schedules[name].everyMinutes * 60_000;
    if (interval <= 0) continue;
    let running = false;
    const tick = () => {
      if (running) return;
      running = true;
      runSchedule(name)
        .catch((error: unknown) =>
          log({
            source: name,
            counted: { one: 'run failed', many: 'runs failed' },
            reason: error instanceof Error ? error.name : 'Error',
            message: `failed: ${error instanceof Error ? error.message : String(error)}`,
          }),
        )
        .finally(() => {
          running = false;
        });
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
 * `Lambda.Unknown` (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html),
 * and one Lambda throttled as `Lambda.TooManyRequestsException`, which the ASL's Retry matches.
 */
const asTaskError = (error: unknown): never => {
  if (error instanceof LambdaThrottledError) {
    throw Object.assign(new Error(error.message, { cause: error }), {
      name: 'Lambda.TooManyRequestsException',
    });
  }
  if (error instanceof LambdaInvocationError && error.unhandled) {
    throw Object.assign(new Error(JSON.stringify(error.payload), { cause: error }), {
      name: 'Lambda.Unknown',
    });
  }
  throw error;
};
