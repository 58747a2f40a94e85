/**
 * The shapes of what `infra/topology.ts`, `infra/resources.ts` and `infra/functions.ts` declare,
 * and the helpers that derive one declaration from another. The shapes that refer to other
 * declarations by name are generic in those names, so this module depends on no declaration and
 * the declarations depend on one another in one direction only.
 */
import type { EventContract } from '../schemas/events.ts';

export type AttributeType = 'S' | 'N';
export interface KeySpec {
  readonly name: string;
  readonly type: AttributeType;
}
export interface IndexSpec {
  readonly name: string;
  readonly partitionKey: KeySpec;
  readonly sortKey?: KeySpec;
  /** `KEYS_ONLY` keeps sparse indexes cheap; `ALL` serves reads without a second fetch. */
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
  /** The table's DynamoDB stream, and the function that consumes it. */
  readonly stream?: StreamSpec;
  /**
   * How long items are kept, when the table's TTL follows a retention: the handlers that write
   * the table receive the days through `env` and set `timeToLiveAttribute` from it.
   */
  readonly retention?: { readonly days: number; readonly env: string };
}

/** What a stream record carries besides the keys (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_StreamSpecification.html). */
export type StreamViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';

export interface StreamSpec {
  readonly viewType: StreamViewType;
  /**
   * Lambda event source mappings on the stream: `DynamoEventSource` on AWS, the local cloud's
   * poller here. At most two, as AWS advises: more readers of one shard are throttled
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.Lambda.html).
   */
  readonly consumers?: readonly [StreamConsumerSpec] | readonly [StreamConsumerSpec, StreamConsumerSpec];
}

/**
 * How a function consumes a table's stream, with Lambda's settings for stream event sources
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html). Records are read from
 * the oldest kept (TRIM_HORIZON), so none written before the mapping first polls is missed.
 */
export interface StreamConsumerSpec {
  /** A function of `infra/functions.ts` (checked where the mapping is built: the tables cannot import the functions). */
  readonly function: string;
  /** Records per invocation, 1..10,000. */
  readonly batchSize: number;
  /** How long to gather records before invoking with fewer than `batchSize`, 0..300. */
  readonly maximumBatchingWindowSeconds: number;
  /**
   * Retries of a failed batch before it is skipped and its metadata sent to `onFailure`; -1 retries
   * until the records leave the stream (24 hours).
   */
  readonly maximumRetryAttempts: number;
  /** Split a failed batch in two and retry each half (a split is not a retry). */
  readonly bisectBatchOnFunctionError: boolean;
  /** The function answers `{batchItemFailures}` and only the records from the first failed one are retried. */
  readonly reportBatchItemFailures: boolean;
  /** The dead-letter queue for skipped batches' metadata (an SQS queue on AWS). */
  readonly onFailure: string;
  /**
   * Lambda event filtering (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html):
   * event patterns over the stream record (`{eventName: ['INSERT']}`); only records matching one
   * are delivered, the others are passed over without an invocation. Every record when absent.
   */
  readonly filters?: readonly StreamRecordFilter[];
}

/** An event pattern over a stream record, as Lambda's `FilterCriteria` holds one (at most 5 per consumer). */
export type StreamRecordFilter = Readonly<Record<string, unknown>>;

export interface BusSpec {
  readonly name: string;
  readonly env: string;
  /** Kept in an archive (AWS) or `<data dir>/archive/` (local) so it can be replayed. */
  readonly archived: boolean;
}

export interface TopicSpec {
  readonly name: string;
  readonly env: string;
}

/**
 * An SQS queue a rule can deliver to (`kind: 'queue'` targets): encrypted, TLS only, with a
 * dead-letter queue of its own ({@link deadLetterQueueOfQueue}) for what its consumers fail to
 * handle `maxReceiveCount` times (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
 */
export interface QueueSpec {
  /** Physical name locally; on AWS the stage name is prefixed. */
  readonly name: string;
  /** Receives before SQS moves a message to the queue's dead-letter queue, 1..1000. */
  readonly maxReceiveCount: number;
}

export interface SecretSpec {
  readonly name: string;
  readonly env: string;
}

/** The names declarations refer to one another by; `topology.ts` binds them to what it declares. */
export interface TopologyNames {
  readonly table: string;
  readonly bus: string;
  readonly topic: string;
  readonly queue: string;
  readonly secret: string;
  readonly function: string;
  readonly stateMachine: string;
}

export type Access = 'read' | 'write' | 'readWrite';

export interface FunctionSpec<N extends Pick<TopologyNames, 'table' | 'bus' | 'topic' | 'secret'>> {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Tables it uses; their names reach it through each table's `env` variable. */
  readonly tables: Partial<Record<N['table'], Access>>;
  /** Buses it puts events on; their names reach it through each bus's `env` variable. */
  readonly buses: readonly N['bus'][];
  /**
   * Buses whose names it needs without access to them: the events the `EvaluateAlarms` task
   * builds are put on the bus by the workflow, not by the function.
   */
  readonly namesBuses?: readonly N['bus'][];
  /**
   * Topics it publishes to, or whose subscriptions it manages (subscribe, list, unsubscribe);
   * their ARNs reach it through each topic's `env` variable.
   */
  readonly topics?: Partial<Record<N['topic'], 'publish' | 'manageSubscriptions'>>;
  /** Whether it posts to WebSocket connections (API Gateway Management API, endpoint via `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`). */
  readonly websocketManagement?: boolean;
  /** Secrets it reads; their ids reach it through each secret's `env` variable. */
  readonly secrets?: readonly N['secret'][];
}

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

/** Where a rule sends what it matches, and in what form. */
export type TargetOf<N extends TopologyNames> = {
  /** Unique within its rule, as EventBridge's target `Id`. */
  readonly id: string;
  readonly input?: TargetInput;
} & (
  | { readonly kind: 'bus'; readonly bus: N['bus'] }
  | { readonly kind: 'stateMachine'; readonly stateMachine: N['stateMachine'] }
  | { readonly kind: 'function'; readonly function: N['function'] }
  | { readonly kind: 'topic'; readonly topic: N['topic'] }
  | { readonly kind: 'queue'; readonly queue: N['queue'] }
);

export type TargetSpec<N extends TopologyNames> = TargetOf<N> & {
  readonly retryPolicy: RetryPolicy;
  /** An SQS queue, on AWS and locally (mirrored to `<data dir>/dlq/<name>.jsonl` for reading). Named after the rule: {@link deadLetterQueueOf}. */
  readonly deadLetterQueue: string;
};

export interface RuleSpec<N extends TopologyNames> {
  readonly name: string;
  readonly bus: N['bus'];
  readonly description: string;
  readonly eventPattern: Record<string, unknown>;
  readonly targets: readonly TargetSpec<N>[];
}

/** One line of the rules table: a rule with its one target, before the names derived from it. */
export interface RuleRow<N extends TopologyNames> {
  readonly bus: N['bus'];
  readonly eventPattern: Record<string, unknown>;
  readonly target: TargetOf<N>;
  /** Defaults to the topology's standard policy. */
  readonly retryPolicy?: RetryPolicy;
  readonly description: string;
}

/**
 * What a `${Name}` placeholder of an ASL file stands for: a table's name, a bus's name, a
 * function's ARN or a dead-letter queue's URL.
 */
export type Substitution<N extends TopologyNames> =
  | { readonly table: N['table'] }
  | { readonly bus: N['bus'] }
  | { readonly function: N['function'] }
  | { readonly queue: string };

export interface StateMachineSpec<N extends TopologyNames> {
  readonly name: string;
  /** The ASL file, relative to the repository root; deployed by CDK and run locally unchanged. */
  readonly definitionFile: string;
  readonly type: 'EXPRESS' | 'STANDARD';
  readonly substitutions: Record<string, Substitution<N>>;
  /** Buses its `events:putEvents` tasks put on; the entries are built at run time, so the ASL does not name them. */
  readonly putsEventsOn: readonly N['bus'][];
  /**
   * What goes to CloudWatch Logs. `ERROR` logs failed executions with their data; `ALL` would log
   * every state of every execution, which for a workflow per reading is most of the bill.
   */
  readonly logLevel: 'ALL' | 'ERROR';
}

/** A function run on a timer: EventBridge Scheduler on AWS, timers locally. */
export interface ScheduleSpec<N extends Pick<TopologyNames, 'function'>> {
  readonly function: N['function'];
  readonly everyMinutes: number;
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

/** The alternatives of a pattern made by {@link patternOf}: its `$or` branches, or itself. */
export const branchesOf = (pattern: Record<string, unknown>): Record<string, unknown>[] => {
  const branches = pattern.$or;
  return Array.isArray(branches) ? branches : [pattern];
};

/** The dead-letter queue of a rule's target: one per rule, named after it. */
export const deadLetterQueueOf = (ruleName: string): string => `sensorbus-${ruleName}-dlq`;

/**
 * The dead-letter queue of a declared queue (its redrive policy's target): named after the queue,
 * never like a rule's ({@link deadLetterQueueOf}), so a rule and a queue of one name keep theirs apart.
 */
export const deadLetterQueueOfQueue = (queueName: string): string => `${queueName}-redrive-dlq`;

/** The rules of a table keyed by rule name, each with its target's dead-letter queue and retry policy. */
export const rulesOf = <N extends TopologyNames>(
  table: Record<string, RuleRow<N>>,
  standardRetry: RetryPolicy,
): RuleSpec<N>[] =>
  Object.entries(table).map(([name, { target, retryPolicy, ...rule }]) => ({
    name,
    ...rule,
    targets: [
      { ...target, retryPolicy: retryPolicy ?? standardRetry, deadLetterQueue: deadLetterQueueOf(name) },
    ],
  }));
