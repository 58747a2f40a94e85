/**
 * The single source of truth for sensorbus' data and event flow. The CDK stacks (`infra/aws/`) and
 * the local cloud (`local-cloud/`) both loop over what is declared here; nothing below is spelled
 * anywhere else.
 *
 *   device ─POST /readings─▶ ingest ─conditional put─▶ readings (outbox mark)
 *                                  └─PutEvents ReadingRecorded─▶ bus telemetry
 *   bus telemetry ─ rule enrich        ReadingRecorded             ─▶ Step Functions enrich-reading
 *                 │                      (─▶ PutEvents ReadingEnriched, AlertRaised, AlertResolved;
 *                 │                       retries, then gives up ─▶ enrichmentError + enrich dead letter)
 *                 ├ rule alerts        AlertRaised | AlertResolved ─▶ alert-notifier ─▶ SNS alerts
 *                 ├ rule alert-history AlertRaised | AlertResolved ─▶ alert-history (GET /alerts)
 *                 └ rule to-websocket  every domain event          ─▶ bus websocket
 *   bus websocket ─ rule push          every domain event          ─▶ push ─▶ subscribed dashboards
 */

import { INDEX } from '../handlers/lib/table-indexes.ts';
import {
  AlertRaised,
  AlertResolved,
  type EventContract,
  ReadingEnriched,
  ReadingRecorded,
} from '../schemas/events.ts';
import type { FunctionName } from './api.ts';

export type AttributeType = 'S' | 'N';
export interface KeySpec {
  readonly name: string;
  readonly type: AttributeType;
}
export interface IndexSpec {
  readonly name: string;
  readonly partitionKey: KeySpec;
  readonly sortKey?: KeySpec;
  /** `KEYS_ONLY` keeps sparse indexes (the outbox) cheap; `ALL` serves reads without a second fetch. */
  readonly projection: 'KEYS_ONLY' | 'ALL';
}
export interface TableSpec {
  /** Physical name locally; on AWS the stage name is prefixed. */
  readonly name: string;
  /** The environment variable through which a handler receives the table's name. */
  readonly env: string;
  readonly partitionKey: KeySpec;
  readonly sortKey?: KeySpec;
  readonly indexes: readonly IndexSpec[];
  /** Attribute holding an epoch-seconds expiry; the local cloud expires such items itself. */
  readonly timeToLiveAttribute?: string;
}

export const tables = {
  /** Registered devices, their hashed API key, last reading and alarm states. */
  devices: {
    name: 'sensorbus-devices',
    env: 'DEVICES_TABLE',
    partitionKey: { name: 'deviceId', type: 'S' },
    indexes: [
      {
        name: INDEX.devicesByApiKeyHash,
        partitionKey: { name: 'apiKeyHash', type: 'S' },
        projection: 'KEYS_ONLY',
      },
    ],
  },
  /**
   * Readings keyed by `(deviceId, timestamp)`: the conditional put on this key is the idempotency
   * check. `outboxShard`/`outboxAt` are present only until the bus accepted the reading's event,
   * which makes `outbox` a sparse index of exactly the readings the relay must re-publish.
   */
  /**
   * WebSocket connections (`sk = connection`) and their subscriptions (`sk = device#<id>`, with
   * `deviceId` set, so `byDevice` is a sparse index from a device to the connections that follow it).
   * Every item expires two hours after connect, API Gateway's longest connection.
   */
  connections: {
    name: 'sensorbus-connections',
    env: 'CONNECTIONS_TABLE',
    partitionKey: { name: 'connectionId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    indexes: [
      {
        name: INDEX.connectionsByDevice,
        partitionKey: { name: 'deviceId', type: 'S' },
        sortKey: { name: 'connectionId', type: 'S' },
        projection: 'KEYS_ONLY',
      },
    ],
    timeToLiveAttribute: 'expiresAt',
  },
  /** Alert history: one record per alert, active until resolved. */
  alerts: {
    name: 'sensorbus-alerts',
    env: 'ALERTS_TABLE',
    partitionKey: { name: 'alertId', type: 'S' },
    indexes: [
      {
        name: INDEX.alertsByDevice,
        partitionKey: { name: 'deviceId', type: 'S' },
        sortKey: { name: 'updatedAt', type: 'S' },
        projection: 'ALL',
      },
      {
        name: INDEX.alertsByState,
        partitionKey: { name: 'state', type: 'S' },
        sortKey: { name: 'updatedAt', type: 'S' },
        projection: 'ALL',
      },
    ],
  },
  /** Powertools idempotency records: one per consumed event whose side effect must happen once. */
  idempotency: {
    name: 'sensorbus-idempotency',
    env: 'IDEMPOTENCY_TABLE',
    partitionKey: { name: 'id', type: 'S' },
    indexes: [],
    timeToLiveAttribute: 'expiration',
  },
  readings: {
    name: 'sensorbus-readings',
    env: 'READINGS_TABLE',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'timestamp', type: 'S' },
    indexes: [
      {
        name: INDEX.readingsOutbox,
        partitionKey: { name: 'outboxShard', type: 'S' },
        sortKey: { name: 'outboxAt', type: 'S' },
        projection: 'ALL',
      },
    ],
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof tables;

export interface BusSpec {
  readonly name: string;
  readonly env: string;
  /** Kept in an archive (AWS) or `<data dir>/archive/` (local) so it can be replayed. */
  readonly archived: boolean;
}

export const buses = {
  /** Domain events: every fact the system learns lands here first. */
  telemetry: { name: 'sensorbus-telemetry', env: 'TELEMETRY_BUS', archived: true },
  /** Only what dashboards are pushed; decouples WebSocket fan-out from domain consumers. */
  websocket: { name: 'sensorbus-websocket', env: 'WEBSOCKET_BUS', archived: false },
} as const satisfies Record<string, BusSpec>;

export type BusName = keyof typeof buses;

export interface TopicSpec {
  readonly name: string;
  readonly env: string;
}

export const topics = {
  /** People subscribe here (email, https) with filter policies on `deviceId` and `severity`. */
  alerts: { name: 'sensorbus-alerts', env: 'ALERTS_TOPIC_ARN' },
} as const satisfies Record<string, TopicSpec>;

export type TopicName = keyof typeof topics;

/** How EventBridge retries a target before dead-lettering (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html). */
export interface RetryPolicy {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
}

/** What a target receives instead of the whole event (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html). */
export type TargetInput =
  | { readonly inputPath: string }
  | {
      readonly inputTransformer: {
        readonly inputPathsMap: Record<string, string>;
        readonly inputTemplate: string;
      };
    };

interface TargetBase {
  /** Unique within its rule, as EventBridge's target `Id`. */
  readonly id: string;
  readonly input?: TargetInput;
  readonly retryPolicy: RetryPolicy;
  /** An SQS queue on AWS; `<data dir>/dlq/<name>.jsonl` locally. */
  readonly deadLetterQueue: string;
}

export type TargetSpec =
  | (TargetBase & { readonly kind: 'bus'; readonly bus: BusName })
  | (TargetBase & { readonly kind: 'stateMachine'; readonly stateMachine: StateMachineName })
  | (TargetBase & { readonly kind: 'function'; readonly function: FunctionName })
  | (TargetBase & { readonly kind: 'topic'; readonly topic: TopicName });

export interface RuleSpec {
  readonly name: string;
  readonly bus: BusName;
  readonly description: string;
  readonly eventPattern: Record<string, unknown>;
  readonly targets: readonly TargetSpec[];
}

/**
 * The pattern that selects exactly the given events: one `$or` branch per source, so no
 * source is paired with another source's detail-types.
 */
export const patternOf = (
  ...contracts: Pick<EventContract<string, never>, 'source' | 'detailType'>[]
): Record<string, unknown> => {
  const bySource = new Map<string, string[]>();
  for (const contract of contracts) {
    bySource.set(contract.source, [...(bySource.get(contract.source) ?? []), contract.detailType]);
  }
  const branches = [...bySource].map(([source, detailTypes]) => ({
    source: [source],
    'detail-type': detailTypes,
  }));
  return branches.length === 1 ? (branches[0] ?? {}) : { $or: branches };
};

/**
 * What a `${Name}` placeholder of an ASL file stands for: a table's name, a bus's name, a
 * function's ARN or a dead-letter queue's URL.
 */
export type Substitution =
  | { readonly table: TableName }
  | { readonly bus: BusName }
  | { readonly function: FunctionName }
  | { readonly queue: string };

/**
 * Readings that were not enriched: EventBridge could not start the workflow for them, or the
 * workflow retried, gave up and parked its input here itself. Either way the message is the
 * `ReadingRecorded` event, and `npm run events -- redrive` runs the enrichment again.
 */
export const ENRICH_DEAD_LETTERS = 'sensorbus-enrich-dlq';

export interface StateMachineSpec {
  readonly name: string;
  /** The ASL file, relative to the repository root; deployed by CDK and run locally unchanged. */
  readonly definitionFile: string;
  readonly type: 'EXPRESS' | 'STANDARD';
  readonly substitutions: Record<string, Substitution>;
  /** Buses its `events:putEvents` tasks put on; the entries are built at run time, so the ASL does not name them. */
  readonly putsEventsOn: readonly BusName[];
  /**
   * What goes to CloudWatch Logs. `ERROR` logs failed executions with their data; `ALL` would log
   * every state of every execution, which for a workflow per reading is most of the bill.
   */
  readonly logLevel: 'ALL' | 'ERROR';
}

export const stateMachines = {
  /**
   * load device → derive metrics → evaluate alarms → store enrichment → publish ReadingEnriched + alerts;
   * on a failure that outlasts the retries: record `enrichmentError` on the reading → park the event
   * in the enrich dead-letter queue
   */
  enrichReading: {
    name: 'sensorbus-enrich-reading',
    definitionFile: 'statemachines/enrich-reading.asl.json',
    type: 'EXPRESS',
    substitutions: {
      DevicesTable: { table: 'devices' },
      ReadingsTable: { table: 'readings' },
      DeriveMetricsFunctionArn: { function: 'deriveMetrics' },
      EvaluateAlarmsFunctionArn: { function: 'evaluateAlarms' },
      DeadLetterQueueUrl: { queue: ENRICH_DEAD_LETTERS },
    },
    putsEventsOn: ['telemetry'],
    logLevel: 'ERROR',
  },
} as const satisfies Record<string, StateMachineSpec>;

export type StateMachineName = keyof typeof stateMachines;

const STANDARD_RETRY: RetryPolicy = { maximumRetryAttempts: 8, maximumEventAgeSeconds: 3600 };

export const rules: readonly RuleSpec[] = [
  {
    name: 'enrich',
    bus: 'telemetry',
    description: 'Every recorded reading is enriched by the enrich-reading workflow',
    eventPattern: patternOf(ReadingRecorded),
    targets: [
      {
        id: 'enrich-reading',
        kind: 'stateMachine',
        stateMachine: 'enrichReading',
        retryPolicy: STANDARD_RETRY,
        deadLetterQueue: ENRICH_DEAD_LETTERS,
      },
    ],
  },
  {
    name: 'alert-history',
    bus: 'telemetry',
    description: 'Keeps the record of every alert for GET /alerts',
    eventPattern: patternOf(AlertRaised, AlertResolved),
    targets: [
      {
        id: 'alert-history',
        kind: 'function',
        function: 'alertHistory',
        retryPolicy: STANDARD_RETRY,
        deadLetterQueue: 'sensorbus-alert-history-dlq',
      },
    ],
  },
  {
    name: 'alerts',
    bus: 'telemetry',
    description: 'Alerts raised and resolved, as readable notifications on the alerts topic',
    eventPattern: patternOf(AlertRaised, AlertResolved),
    targets: [
      {
        id: 'alert-notifier',
        kind: 'function',
        function: 'alertNotifier',
        retryPolicy: STANDARD_RETRY,
        deadLetterQueue: 'sensorbus-alerts-dlq',
        input: {
          inputTransformer: {
            inputPathsMap: {
              eventId: '$.detail.metadata.eventId',
              detailType: '$.detail-type',
              deviceId: '$.detail.data.deviceId',
              severity: '$.detail.data.severity',
              summary: '$.detail.data.summary',
              time: '$.detail.data.time',
            },
            inputTemplate:
              '{"eventId": <eventId>, "deviceId": <deviceId>, "severity": <severity>, ' +
              '"subject": "<detailType> (<severity>): <deviceId>", ' +
              '"message": "<detailType> for device <deviceId> at <time>: <summary>"}',
          },
        },
      },
    ],
  },
  {
    name: 'to-websocket',
    bus: 'telemetry',
    description: 'Everything a dashboard shows, forwarded to the bus dedicated to WebSocket pushes',
    // Not replays: a dashboard shows what happens now, not an operator's repair of the past.
    eventPattern: {
      ...patternOf(ReadingRecorded, ReadingEnriched, AlertRaised, AlertResolved),
      'replay-name': [{ exists: false }],
    },
    targets: [
      {
        id: 'websocket-bus',
        kind: 'bus',
        bus: 'websocket',
        retryPolicy: STANDARD_RETRY,
        deadLetterQueue: 'sensorbus-to-websocket-dlq',
      },
    ],
  },
  {
    name: 'push',
    bus: 'websocket',
    description: 'Pushes each event to the dashboards subscribed to its device',
    eventPattern: patternOf(ReadingRecorded, ReadingEnriched, AlertRaised, AlertResolved),
    targets: [
      {
        id: 'push',
        kind: 'function',
        function: 'push',
        // A live view has no use for old news: give up after a few minutes.
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 300 },
        deadLetterQueue: 'sensorbus-push-dlq',
      },
    ],
  },
];

export interface SecretSpec {
  readonly name: string;
  readonly env: string;
}

export const secrets = {
  /** The HMAC key that signs admin and viewer bearer tokens (32 random bytes, base64url). */
  tokenSigningKey: { name: 'sensorbus-token-signing-key', env: 'TOKEN_SECRET_ID' },
} as const satisfies Record<string, SecretSpec>;

export type SecretName = keyof typeof secrets;
