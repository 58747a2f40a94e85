import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type FunctionName, functions, schedules } from '../../infra/api.ts';
import { buses, rules, secrets, stateMachines, tables, topics } from '../../infra/topology.ts';
import { RestGateway } from '../emulators/apigateway/rest-gateway.ts';
import { WebSocketGateway } from '../emulators/apigateway/websocket-gateway.ts';
import { LocalDynamoDB } from '../emulators/dynamodb/dynamodb.ts';
import { Edge } from '../emulators/edge/edge.ts';
import type { AwsCredentials } from '../emulators/edge/sigv4.ts';
import { type BusEvent, LocalEventBridge, type TargetInvoker } from '../emulators/eventbridge/service.ts';
import { LambdaInvocationError, LocalLambda, type LocalLambdaOptions } from '../emulators/lambda/lambda.ts';
import { LocalSecretsManager } from '../emulators/secretsmanager/secrets-manager.ts';
import { Faults } from '../emulators/shared/faults.ts';
import type { HealthCheck, HealthReport } from '../emulators/shared/health.ts';
import { LocalSns } from '../emulators/sns/service.ts';
import { LocalStepFunctions } from '../emulators/stepfunctions/stepfunctions.ts';
import { functionOfArn, LOCAL_ACCOUNT, LOCAL_REGION, localArns, targetArn } from './arns.ts';
import { handlerLogNotice, type Notice, noticeLine } from './console-log.ts';
import { deadLetterCount, GatewayCounters, type LocalCloudStats } from './stats.ts';

export { LOCAL_ACCOUNT, LOCAL_REGION };

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
  readonly lambda?: LocalLambdaOptions;
  /** API Gateway's integration timeout, 29 s; tests shorten it. */
  readonly integrationTimeoutMs?: number;
  /**
   * Whether `/health` waits for {@link LocalCloud.markReady}: the launcher registers the demo
   * devices and writes the credentials file after the cloud starts, and only then is the system
   * ready. Otherwise it is ready when `startLocalCloud` resolves.
   */
  readonly readyWhenMarked?: boolean;
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

/**
 * Starts the local cloud in this process: the AWS-compatible edge (DynamoDB on dynalite, the local
 * EventBridge), the REST gateway with its authorizers, and the schedules. Handlers reach the edge
 * only through the standard `AWS_ENDPOINT_URL` variable, exactly as they reach AWS.
 */
export const startLocalCloud = async (options: LocalCloudOptions): Promise<LocalCloud> => {
  const host = options.host ?? '127.0.0.1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const faults = new Faults();
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });

  const dynamodb = new LocalDynamoDB({
    credentials: options.awsCredentials,
    ...(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {}),
  });
  await dynamodb.start();
  await dynamodb.ensureTables(Object.values(tables));

  const log = options.log ?? ((notice: Notice) => console.error(noticeLine(notice)));
  const lambda = new LocalLambda({
    ...options.lambda,
    ...(options.log ? { onLog: (line: string) => log(handlerLogNotice(line)) } : {}),
  });
  let phase: 'starting' | 'started' | 'stopping' = 'starting';
  let marked = !options.readyWhenMarked;
  /** Every check the health report makes, by name; add one here and both `/health`s report it. */
  const healthChecks: Record<string, () => HealthCheck> = {
    lambda: () => {
      const { ok, stuck, environments } = lambda.health();
      return { ok, stuck, environments: environments.length };
    },
    // Dead letters are work that failed for good and waits for a redrive: counted, not a fault of the system's own.
    deadLetters: () => ({ ok: true, queues: deadLetterCounts() }),
  };
  const health = (): HealthReport => {
    const checks = Object.fromEntries(Object.entries(healthChecks).map(([name, check]) => [name, check()]));
    const status =
      phase === 'stopping'
        ? 'stopping'
        : phase === 'starting' || !marked
          ? 'starting'
          : Object.values(checks).every((check) => check.ok)
            ? 'ok'
            : 'degraded';
    return { status, checks };
  };
  const functionNames = Object.keys(functions) as FunctionName[];
  const payloadOf = (payload: string): unknown => {
    try {
      return JSON.parse(payload);
    } catch {
      return payload;
    }
  };
  const busByArn = new Map(Object.values(buses).map((bus) => [localArns.bus(bus.name), bus.name]));

  const resolveTarget = (arn: string): TargetInvoker | undefined => {
    const fn = functionOfArn(arn, functionNames);
    if (fn) return async (payload) => void (await lambda.invoke(fn, payloadOf(payload)));
    const bus = busByArn.get(arn);
    if (bus) return async (payload) => events.publish(bus, payloadOf(payload) as BusEvent);
    if (arn.startsWith('arn:aws:states:')) {
      return async (payload) => void stepFunctions.start(arn, payload);
    }
    if (arn.startsWith('arn:aws:sns:')) {
      return async (payload) => {
        const answer = await sns.handle(
          new URLSearchParams({ Action: 'Publish', TopicArn: arn, Message: payload }),
        );
        if (answer.status !== 200) throw Object.assign(new Error(answer.body), { name: 'SnsPublishFailed' });
      };
    }
    return undefined;
  };

  const events = new LocalEventBridge({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    busNames: Object.values(buses).map((bus) => bus.name),
    archivedBuses: Object.values(buses)
      .filter((bus) => bus.archived)
      .map((bus) => bus.name),
    faults,
    resolveTarget,
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

  let edgeUrl = '';
  const sns = new LocalSns({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    faults,
    publicUrl: () => edgeUrl,
    topics: Object.values(topics).map((topic) => topic.name),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.snsRetryDelaysMs ? { retryDelaysMs: options.snsRetryDelaysMs } : {}),
  });
  const websocket = new WebSocketGateway({
    invoke: (fn, event) => lambda.invoke(fn, event),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    ...(options.websocketIdleTimeoutMs ? { idleTimeoutMs: options.websocketIdleTimeoutMs } : {}),
  });
  const stepFunctions = new LocalStepFunctions({
    machines: Object.values(stateMachines),
    invokeFunction: (fn, payload) => lambda.invoke(fn, payload).catch(asTaskError),
    functionNames,
    edgeUrl: () => edgeUrl,
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
  const secretsManager = new LocalSecretsManager({ [secrets.tokenSigningKey.name]: options.tokenSigningKey });
  const edge = new Edge(
    {
      dynamodb,
      events,
      faults,
      secrets: secretsManager,
      sns,
      states: stepFunctions,
      websocket,
      health,
    },
    options.awsCredentials,
  );
  edgeUrl = await edge.listen(options.edgePort ?? 0, host);

  Object.assign(process.env, {
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

  events.resumePending();
  stepFunctions.resumeExecutions();
  sns.resumeDeliveries();

  /**
   * `GET /health`'s `checks.deadLetters`: the messages waiting in every dead-letter queue, those
   * of the topology at 0 included (the enrich queue's count is the readings not enriched).
   */
  const deadLetterCounts = (): Record<string, number> =>
    Object.fromEntries(
      [
        ...new Set([
          ...rules.flatMap((rule) => rule.targets.map((target) => target.deadLetterQueue)),
          ...events.deadLetters.queues(),
        ]),
      ].map((queue) => [queue, events.deadLetters.count(queue)]),
    );

  const answers = new GatewayCounters();
  const gateway = new RestGateway({
    onAnswer: answers.record,
    invoke: (fn, event) => lambda.invoke(fn, event),
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    allowedOrigin: options.allowedOrigin ?? '*',
    health,
    ...(options.integrationTimeoutMs !== undefined
      ? { integrationTimeoutMs: options.integrationTimeoutMs }
      : {}),
  });
  const apiUrl = await gateway.listen(options.apiPort ?? 0, host);
  const wsPort = options.wsPort ?? 0;
  let wsUrl = await websocket.listen(wsPort, host);
  const sweeper = dynamodb.startTtlSweeper(
    Object.values(tables).filter((table) => 'timeToLiveAttribute' in table),
    options.ttlSweepIntervalMs ?? 60_000,
  );

  const runSchedule = (name: keyof typeof schedules) =>
    lambda.invoke(schedules[name].function, {
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

  const timers: NodeJS.Timeout[] = [];
  for (const name of Object.keys(schedules) as (keyof typeof schedules)[]) {
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
  phase = 'started';
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
    health,
    markReady() {
      marked = true;
    },
    async stop() {
      phase = 'stopping';
      for (const timer of timers) clearInterval(timer);
      clearInterval(sweeper);
      await gateway.close();
      await websocket.close();
      // Let deliveries and the workflows they start settle; what is still pending is kept for the next start.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && (events.busy() || stepFunctions.busy())) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await stepFunctions.close();
      await events.close(0);
      faults.clear();
      await edge.close();
      await sns.close();
      await lambda.close();
      await dynamodb.stop();
    },
  };
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
