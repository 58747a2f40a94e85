/**
 * The single source of truth for sensorbus' event flow: which rule sends which events where, the
 * schedules, and the workflow. The CDK stacks (`infra/aws/`) and the local cloud (`local-cloud/`)
 * both loop over what is declared here; nothing below is spelled anywhere else. What the flow runs
 * on is in `resources.ts` (tables, buses, topics, secrets), `functions.ts` and `api.ts` (routes);
 * the shapes of all of it, and the helpers that derive names, are in `topology-types.ts`.
 *
 *   device ─POST /readings (1..100 readings: one upload)─▶ ingest ─one conditional write per hour─▶ readings
 *   readings stream (INSERTs, MODIFYs) ─▶ announce ─PutEvents one ReadingRecorded per upload─▶ bus telemetry
 *                                      └▶ rollups  ─per-bucket aggregates─▶ rollups
 *   bus telemetry ─ rule enrich        ReadingRecorded             ─▶ Step Functions enrich-reading, one per upload
 *                 │                      (─▶ PutEvents ReadingEnriched, AlertRaised, AlertResolved;
 *                 │                       retries, then gives up ─▶ enrichmentError + enrich dead letter)
 *                 ├ rule alerts        every alert event           ─▶ alert-notifier ─▶ SNS alerts
 *                 ├ rule alert-history every alert event           ─▶ alert-history (GET /alerts)
 *                 └ rule to-websocket  ReadingEnriched (watched) | alerts ─▶ bus websocket
 *   bus websocket ─ rule push          ReadingEnriched | alerts    ─▶ push ─▶ subscribed dashboards
 *
 *   alert events: AlertRaised, AlertAcknowledged, AlertSnoozed, AlertEscalated, AlertResolved (the
 *   enrichment raises and resolves; operators acknowledge, snooze and resolve by hand through
 *   POST /alerts/{id}/...; the alert-escalation schedule escalates)
 */

import { alertNotificationTransformer } from '../schemas/alert-notification.ts';
import { ALERT_EVENTS, ReadingEnriched, ReadingRecorded } from '../schemas/events.ts';
import type { FunctionName } from './functions.ts';
import {
  type BusName,
  type QueueName,
  queues,
  type SecretName,
  type TableName,
  type TopicName,
} from './resources.ts';
import {
  branchesOf,
  deadLetterQueueOf,
  patternOf,
  type QueueSpec,
  type RetryPolicy,
  type RuleRow,
  type RuleSpec as RuleSpecOf,
  rulesOf,
  type ScheduleSpec as ScheduleSpecOf,
  type StateMachineSpec as StateMachineSpecOf,
  type Substitution as SubstitutionOf,
  type TargetSpec as TargetSpecOf,
} from './topology-types.ts';

const STANDARD_RETRY: RetryPolicy = { maximumRetryAttempts: 8, maximumEventAgeSeconds: 3600 };
/** Every step of an alert's life: raised, acknowledged, snoozed, escalated, resolved. */
const ALERT_LIFECYCLE = patternOf(...ALERT_EVENTS);
/**
 * Everything a dashboard shows. `ReadingEnriched` carries each upload's readings with their
 * enrichment, so it is the one update a dashboard gets per upload; `ReadingRecorded` stays on
 * the telemetry bus.
 */
const DASHBOARD_EVENTS = patternOf(ReadingEnriched, ...ALERT_EVENTS);
/**
 * What the telemetry bus forwards to dashboards: the readings of devices a dashboard may be
 * watching (`watched`, set by the ingest from the device's `watchedUntil`), every alert event.
 */
const WATCHED_DASHBOARD_EVENTS = {
  $or: [
    { ...patternOf(ReadingEnriched), detail: { data: { watched: [true] } } },
    ...branchesOf(ALERT_LIFECYCLE),
  ],
};

/**
 * The rules, one line of the flow each: the bus they listen on, the events they select, their one
 * target. Each target's dead-letter queue is named after its rule (`sensorbus-<rule>-dlq`).
 */
const ruleTable = {
  enrich: {
    bus: 'telemetry',
    eventPattern: patternOf(ReadingRecorded),
    target: { id: 'enrich-reading', kind: 'stateMachine', stateMachine: 'enrichReading' },
    description: 'Every recorded reading is enriched by the enrich-reading workflow',
  },
  'alert-history': {
    bus: 'telemetry',
    eventPattern: ALERT_LIFECYCLE,
    target: { id: 'alert-history', kind: 'function', function: 'alertHistory' },
    description: 'Keeps the record of every alert for GET /alerts',
  },
  alerts: {
    bus: 'telemetry',
    eventPattern: ALERT_LIFECYCLE,
    target: {
      id: 'alert-notifier',
      kind: 'function',
      function: 'alertNotifier',
      input: { inputTransformer: alertNotificationTransformer },
    },
    description: 'Every alert event, as a readable notification on the alerts topic (none while snoozed)',
  },
  'to-websocket': {
    bus: 'telemetry',
    // Not replays: a dashboard shows what happens now, not an operator's repair of the past.
    eventPattern: { ...WATCHED_DASHBOARD_EVENTS, 'replay-name': [{ exists: false }] },
    target: { id: 'websocket-bus', kind: 'bus', bus: 'websocket' },
    description:
      'What a dashboard shows (readings of watched devices, every alert event), forwarded to the bus dedicated to WebSocket pushes',
  },
  push: {
    bus: 'websocket',
    eventPattern: DASHBOARD_EVENTS,
    target: { id: 'push', kind: 'function', function: 'push' },
    // A live view has no use for old news: give up after a few minutes.
    retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 300 },
    description: 'Pushes each event to the dashboards subscribed to its device',
  },
} as const satisfies Record<string, RuleRow<Names>>;

/** The rules of the table above, each target with its retry policy and a dead-letter queue named after its rule. */
export const rules: readonly RuleSpec[] = rulesOf<Names>(ruleTable, STANDARD_RETRY);

export type RuleName = keyof typeof ruleTable;

/** Scheduled functions: EventBridge Scheduler on AWS, timers locally. */
export const schedules = {
  silenceCheck: { function: 'silenceCheck', everyMinutes: 1 },
  alertEscalation: { function: 'alertEscalation', everyMinutes: 1 },
} as const satisfies Record<string, ScheduleSpec>;

/**
 * Readings that were not enriched: EventBridge could not start the workflow for them, or the
 * workflow retried, gave up and parked its input here itself. Either way the message is the
 * `ReadingRecorded` event, and `npm run events -- redrive` runs the enrichment again.
 */
export const ENRICH_DEAD_LETTERS = deadLetterQueueOf('enrich' satisfies RuleName);

export const stateMachines = {
  /**
   * load device → derive metrics → evaluate alarms → store enrichment → publish ReadingEnriched + alerts;
   * on a failure that outlasts the retries: record `enrichmentError` per reading (enrichments table) → park the event
   * in the enrich dead-letter queue
   */
  enrichReading: {
    name: 'sensorbus-enrich-reading',
    definitionFile: 'statemachines/enrich-reading.asl.json',
    type: 'EXPRESS',
    substitutions: {
      DevicesTable: { table: 'devices' },
      EnrichmentsTable: { table: 'enrichments' },
      DeriveMetricsFunctionArn: { function: 'deriveMetrics' },
      EvaluateAlarmsFunctionArn: { function: 'evaluateAlarms' },
      DeadLetterQueueUrl: { queue: ENRICH_DEAD_LETTERS },
    },
    putsEventsOn: ['telemetry'],
    logLevel: 'ERROR',
  },
} as const satisfies Record<string, StateMachineSpec>;

export type StateMachineName = keyof typeof stateMachines;

/** The names the declarations refer to one another by. */
interface Names {
  readonly table: TableName;
  readonly bus: BusName;
  readonly topic: TopicName;
  readonly queue: QueueName;
  readonly secret: SecretName;
  readonly function: FunctionName;
  readonly stateMachine: StateMachineName;
}

export type RuleSpec = RuleSpecOf<Names>;

/** The names of the topology with queues beside its own: a developer's rule tried in a test. */
type ExtendedNames = Omit<Names, 'queue'> & { readonly queue: string };
/** A rule of the topology or of an extension of it ({@link extendTopology}). */
export type AnyRuleSpec = RuleSpecOf<ExtendedNames>;
export type AnyTargetSpec = TargetSpecOf<ExtendedNames>;

/** Rules and the queues they deliver to, which the CDK stacks and the local cloud create alike. */
export interface RulesAndQueues {
  readonly queues: Readonly<Record<string, QueueSpec>>;
  readonly rules: readonly AnyRuleSpec[];
}

/**
 * The topology with more rules and queues, written as the rules table above is: how a test proves
 * a target kind the product's own flow does not use (a queue), on AWS and locally, without
 * deploying it with the product.
 */
export const extendTopology = (extension: {
  readonly queues: Readonly<Record<string, QueueSpec>>;
  readonly rules: Readonly<Record<string, RuleRow<ExtendedNames>>>;
}): RulesAndQueues => ({
  queues: { ...queues, ...extension.queues },
  rules: [...rules, ...rulesOf<ExtendedNames>(extension.rules, STANDARD_RETRY)],
});

export type TargetSpec = TargetSpecOf<Names>;
export type StateMachineSpec = StateMachineSpecOf<Names>;
export type Substitution = SubstitutionOf<Names>;
export type ScheduleSpec = ScheduleSpecOf<Names>;

/** What the flow runs on, re-exported so that a reader of the flow finds it here too. */
export * from './resources.ts';
/** Re-exported for the local DynamoDB, which reads the table shape from here. */
export type { QueueSpec, TableSpec } from './topology-types.ts';
