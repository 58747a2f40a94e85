import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AwsError } from '../shared/aws-protocol.ts';
import type { Faults } from '../shared/faults.ts';
import { Journal, type JournalEntry } from '../shared/journal.ts';
import { type Archive, Archives, type ArchivedEvent as StoredEvent } from './archives.ts';
import type { BusEvent } from './bus-event.ts';
import { type Bus, DEFAULT_BUS, describeBus, validateBusName } from './buses.ts';
import { type DeadLetterQueues, queueNameOf } from './dead-letters.ts';
import { compilePattern, InvalidEventPatternError } from './pattern.ts';
import {
  compileRulePattern,
  DEFAULT_RETRY,
  describeRule,
  MAX_TARGETS_PER_RULE,
  paginate,
  type Rule,
  ruleOfArn,
  type Target,
  targetProblem,
  validateRuleName,
} from './rules.ts';
import { renderTargetInput } from './target-input.ts';

export type { BusEvent };

/** An archived event with the moment the bus accepted it. */
export interface ArchivedEvent extends StoredEvent {
  readonly event: BusEvent;
}

export type BusListener = (event: BusEvent, busName: string) => void;

/** Delivers a rendered input to the resource behind a target ARN; throws when the target fails. */
export type TargetInvoker = (payload: string, event: BusEvent) => Promise<void>;

export interface LocalEventBridgeOptions {
  readonly region: string;
  readonly accountId: string;
  readonly busNames: readonly string[];
  /** Buses with an archive of every event, kept `retentionDays` (0: for ever). */
  readonly archivedBuses: readonly { readonly name: string; readonly retentionDays: number }[];
  /**
   * Archives and the journal of pending deliveries (`journal/eventbridge.jsonl`) live here; in
   * memory when absent.
   */
  readonly dataDir?: string;
  /** The SQS queues a target's `DeadLetterConfig` names, where what failed for good goes. */
  readonly deadLetters: DeadLetterQueues;
  readonly faults: Faults;
  /** The local implementation behind a target ARN, if there is one. */
  readonly resolveTarget: (arn: string) => TargetInvoker | undefined;
  /** First retry delay; later ones double (with jitter). AWS waits longer; locally seconds matter. */
  readonly retryBaseDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /**
   * Delivery attempts under way at once ({@link DEFAULT_MAX_CONCURRENT_DELIVERIES}); the others
   * wait their turn, as EventBridge paces invocations to the account's invocation quota
   * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
   */
  readonly maxConcurrentDeliveries?: number;
  /**
   * Of those, attempts under way at once to one rule target (half of them by default): a target
   * that is slow to take its events (a function whose environments are all busy) does not hold
   * every attempt while the other targets' deliveries wait behind it, as EventBridge delivers to
   * each target independently.
   */
  readonly maxConcurrentDeliveriesPerTarget?: number;
  /**
   * Pending deliveries kept in memory ({@link DEFAULT_MAX_DELIVERIES_IN_MEMORY}); the rest stay in
   * the journal on disk and are read back as these are delivered, so memory does not grow with the backlog.
   */
  readonly maxDeliveriesInMemory?: number;
  readonly onDeliveryError?: (message: string, context: Record<string, unknown>) => void;
}

export const DEFAULT_MAX_CONCURRENT_DELIVERIES = 16;
export const DEFAULT_MAX_DELIVERIES_IN_MEMORY = 2000;

/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html */
export const MAX_PUT_EVENTS_ENTRIES = 10;
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

const isoSeconds = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

/** An event accepted by PutEvents (or put on a bus by a rule target), with its bus and acceptance time. */
interface Accepted {
  readonly busName: string;
  readonly event: BusEvent;
  readonly ingestionTime: string;
}

interface PutEventsEntryInput {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

/** Size of an entry as EventBridge counts it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html). */
export const entrySize = (entry: PutEventsEntryInput): number => {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const field of [entry.Source, entry.DetailType, entry.Detail]) {
    if (typeof field === 'string') size += Buffer.byteLength(field);
  }
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources)
      if (typeof resource === 'string') size += Buffer.byteLength(resource);
  }
  return size;
};

/** An EventBridge event as it is put on a bus, journaled and dead-lettered: parsed, never cast, when read back. */
export const JournaledEvent = z.object({
  version: z.literal('0'),
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.record(z.string(), z.unknown()),
  'replay-name': z.string().optional(),
});

/** A delivery as the journal keeps it: enough to resume it, with the retry policy's counters. */
const PendingDelivery = z.object({
  ruleArn: z.string(),
  targetId: z.string(),
  event: JournaledEvent,
  ingestionTime: z.string(),
  /** Failed attempts so far (an attempt cut short by the process dying is not counted). */
  attempts: z.number().int().nonnegative(),
  /** When the event was routed to the target (ms since the epoch): the start of its age. */
  firstAttemptAt: z.number(),
});
type PendingDelivery = z.infer<typeof PendingDelivery>;

interface Delivery extends PendingDelivery {
  readonly id: string;
  timer?: NodeJS.Timeout;
}

const journaled = ({ id: _, timer: __, ...pending }: Delivery): PendingDelivery => pending;

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** The bus a name or ARN names; the default bus when absent. */
const busNameOf = (name: unknown): string => {
  const raw = str(name) ?? DEFAULT_BUS;
  return raw.startsWith('arn:') ? raw.slice(raw.lastIndexOf('/') + 1) : raw;
};

/** An epoch-seconds timestamp (the JSON protocol's) or an ISO time, in milliseconds. */
const timeOf = (value: unknown): number | undefined => {
  const ms =
    typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
};

type ReplayState = 'STARTING' | 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

/** A replay StartReplay began (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html). */
interface Replay {
  readonly name: string;
  readonly arn: string;
  readonly archiveArn: string;
  readonly archiveName: string;
  readonly busName: string;
  readonly filterArns: readonly string[];
  readonly start: number;
  readonly end: number;
  readonly description?: string;
  state: ReplayState;
  readonly replayStartTime: number;
  replayEndTime?: number;
  eventLastReplayedTime?: number;
}

/** What DescribeReplay answers (ListReplays answers the same without the ARN, destination and description). */
const describeReplay = (replay: Replay) => ({
  ReplayName: replay.name,
  ReplayArn: replay.arn,
  EventSourceArn: replay.archiveArn,
  State: replay.state,
  Destination: {
    Arn: `${replay.archiveArn.slice(0, replay.archiveArn.indexOf(':archive/'))}:event-bus/${replay.busName}`,
    ...(replay.filterArns.length > 0 ? { FilterArns: replay.filterArns } : {}),
  },
  EventStartTime: replay.start / 1000,
  EventEndTime: replay.end / 1000,
  ReplayStartTime: replay.replayStartTime / 1000,
  ...(replay.description !== undefined ? { Description: replay.description } : {}),
  ...(replay.replayEndTime !== undefined ? { ReplayEndTime: replay.replayEndTime / 1000 } : {}),
  ...(replay.eventLastReplayedTime !== undefined
    ? { EventLastReplayedTime: replay.eventLastReplayedTime / 1000 }
    : {}),
});

/** A value as Java's `toString` shows it: `null`, a list as `[a, b]`. */
const javaValue = (value: unknown): string =>
  value === undefined || value === null
    ? 'null'
    : Array.isArray(value)
      ? `[${value.map(javaValue).join(', ')}]`
      : String(value);

/**
 * An entry as EventBridge's Java model prints it inside a validation message (recorded on AWS:
 * LocalStack's `test_events.py::test_put_events_exceed_limit_ten_entries`).
 */
const javaEntry = (entry: PutEventsEntryInput & { TraceHeader?: unknown }): string =>
  `PutEventsRequestEntry(time=${javaValue(entry.Time)}, source=${javaValue(entry.Source)}, resources=${javaValue(entry.Resources)}, detailType=${javaValue(entry.DetailType)}, detail=${javaValue(entry.Detail)}, eventBusName=${javaValue(entry.EventBusName)}, traceHeader=${javaValue(entry.TraceHeader)}, kmsKeyIdentifier=null, internalMetadata=null)`;

/**
 * The local EventBridge: custom buses, rules with AWS's pattern semantics, targets with input
 * transformation, asynchronous at-least-once delivery with retries and backoff, dead-letter
 * queues, an archive per bus with replay, and a live tail.
 *
 * As on AWS, an accepted event is stored durably before PutEvents answers: it is appended to its
 * bus's archive, and each of its deliveries (one per matching rule target) to a journal, with
 * synchronous writes, so a process killed at any moment loses none of them. A delivery leaves the
 * journal once delivered or dead-lettered, and is resumed by the next start otherwise.
 */
export class LocalEventBridge {
  readonly #options: LocalEventBridgeOptions;
  readonly #listeners = new Set<BusListener>();
  readonly #archives: Archives;
  readonly #replays = new Map<string, Replay>();
  /** Every bus (the `default` one always), with its rules. */
  readonly #buses = new Map<string, Bus>();
  readonly #rules = new Map<string, Map<string, Rule>>();
  /** Tags by resource ARN (buses and rules), dropped with the resource. */
  readonly #tags = new Map<string, Map<string, string>>();
  /** The window of pending deliveries held in memory: waiting for their time, for a turn, or under way. */
  readonly #pending = new Map<string, Delivery>();
  /** Deliveries whose time has come, waiting for one of the concurrent attempts to free, oldest first. */
  readonly #ready: Delivery[] = [];
  readonly #journal: Journal<PendingDelivery>;
  readonly #inFlight = new Set<Promise<void>>();
  /** Attempts under way by rule target (rule ARN and target id). */
  readonly #inFlightByTarget = new Map<string, number>();
  readonly #maxConcurrent: number;
  readonly #maxPerTarget: number;
  readonly #maxInMemory: number;
  readonly deadLetters: DeadLetterQueues;
  #closed = false;

  constructor(options: LocalEventBridgeOptions) {
    this.#options = options;
    this.#maxConcurrent = options.maxConcurrentDeliveries ?? DEFAULT_MAX_CONCURRENT_DELIVERIES;
    this.#maxPerTarget =
      options.maxConcurrentDeliveriesPerTarget ?? Math.max(1, Math.ceil(this.#maxConcurrent / 2));
    this.#maxInMemory = options.maxDeliveriesInMemory ?? DEFAULT_MAX_DELIVERIES_IN_MEMORY;
    for (const bus of [DEFAULT_BUS, ...options.busNames]) this.#addBus(bus);
    this.#archives = new Archives(options.dataDir && join(options.dataDir, 'archive'));
    // An archived bus of the topology has an archive of every event, named after the bus.
    for (const { name, retentionDays } of options.archivedBuses) {
      if (!this.#archives.has(name))
        this.#archives.create({ name, busName: name, eventSourceArn: this.busArn(name), retentionDays });
      else if (this.#archives.get(name).retentionDays !== retentionDays)
        this.#archives.update(name, { retentionDays });
    }
    this.deadLetters = options.deadLetters;
    const journalDir = options.dataDir && join(options.dataDir, 'journal');
    if (journalDir) mkdirSync(journalDir, { recursive: true });
    this.#journal = new Journal({
      decode: (value) => PendingDelivery.parse(value),
      ...(journalDir ? { file: join(journalDir, 'eventbridge.jsonl') } : {}),
    });
  }

  #addBus(name: string, description?: string): Bus {
    const now = new Date();
    const bus: Bus = {
      name,
      arn: this.busArn(name),
      creationTime: now,
      lastModifiedTime: now,
      ...(description !== undefined ? { description } : {}),
    };
    this.#buses.set(name, bus);
    this.#rules.set(name, new Map());
    return bus;
  }

  busArn(busName: string): string {
    return `arn:aws:events:${this.#options.region}:${this.#options.accountId}:event-bus/${busName}`;
  }

  /** A rule on a custom bus has the bus in its ARN; one on the default bus has not. */
  ruleArn(busName: string, ruleName: string): string {
    const path = busName === DEFAULT_BUS ? ruleName : `${busName}/${ruleName}`;
    return `arn:aws:events:${this.#options.region}:${this.#options.accountId}:rule/${path}`;
  }

  #busOf(name: unknown): string | undefined {
    const busName = busNameOf(name);
    return this.#buses.has(busName) ? busName : undefined;
  }

  #requireBus(name: unknown): string {
    const bus = this.#busOf(name);
    if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${busNameOf(name)} does not exist.`);
    return bus;
  }

  #requiredBus(name: unknown): Bus {
    const bus = this.#buses.get(this.#requireBus(name));
    if (!bus) throw new AwsError('ResourceNotFoundException', `Event bus ${String(name)} does not exist.`);
    return bus;
  }

  /** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html */
  #createEventBus(input: Record<string, unknown>) {
    const name = validateBusName(input.Name);
    if (this.#buses.has(name))
      throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    const bus = this.#addBus(name, str(input.Description));
    this.#putTags(bus.arn, input.Tags);
    return {
      EventBusArn: bus.arn,
      ...(bus.description !== undefined ? { Description: bus.description } : {}),
    };
  }

  /** The default bus cannot be deleted; deleting a bus deletes its rules (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeleteEventBus.html). */
  #deleteEventBus(input: Record<string, unknown>) {
    const name = str(input.Name);
    if (name === DEFAULT_BUS) throw new AwsError('ValidationException', 'Cannot delete event bus default.');
    const bus = this.#requiredBus(name);
    for (const rule of this.#rules.get(bus.name)?.values() ?? []) this.#tags.delete(rule.arn);
    this.#rules.delete(bus.name);
    this.#buses.delete(bus.name);
    this.#tags.delete(bus.arn);
    return {};
  }

  #listEventBuses(input: Record<string, unknown>) {
    const prefix = str(input.NamePrefix) ?? '';
    const all = [...this.#buses.values()]
      .filter((bus) => bus.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
    const { page, NextToken } = paginate(all, input);
    return { EventBuses: page.map(describeBus), ...(NextToken ? { NextToken } : {}) };
  }

  /** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListRuleNamesByTarget.html */
  #listRuleNamesByTarget(input: Record<string, unknown>) {
    const arn = str(input.TargetArn);
    if (arn === undefined) {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value null at 'targetArn' failed to satisfy constraint: Member must not be null",
      );
    }
    const busName = this.#requireBus(input.EventBusName);
    const names = [...(this.#rules.get(busName)?.values() ?? [])]
      .filter((rule) => [...rule.targets.values()].some((target) => target.Arn === arn))
      .map((rule) => rule.name)
      .sort();
    const { page, NextToken } = paginate(names, input);
    return { RuleNames: page, ...(NextToken ? { NextToken } : {}) };
  }

  /**
   * The tags of a bus or rule ARN, or AWS's not-found answer for the resource the ARN names
   * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListTagsForResource.html).
   */
  #tagsOf(resourceArn: unknown): Map<string, string> {
    const arn = String(resourceArn ?? '');
    const path = arn.split(':').slice(5).join(':');
    if (path.startsWith('rule/')) {
      const { busName, ruleName } = ruleOfArn(arn);
      this.#requireRule(ruleName, busName);
    } else if (path.startsWith('event-bus/')) {
      this.#requiredBus(path.slice('event-bus/'.length));
    } else {
      throw new AwsError(
        'ValidationException',
        `Parameter ResourceARN is not valid. Reason: ${arn} is not a valid ARN.`,
      );
    }
    const tags = this.#tags.get(arn) ?? new Map<string, string>();
    this.#tags.set(arn, tags);
    return tags;
  }

  #putTags(resourceArn: string, tags: unknown): void {
    if (!Array.isArray(tags)) return;
    const current = this.#tags.get(resourceArn) ?? new Map<string, string>();
    for (const tag of tags as { Key?: unknown; Value?: unknown }[])
      current.set(String(tag.Key), String(tag.Value ?? ''));
    this.#tags.set(resourceArn, current);
  }

  #tagResource(input: Record<string, unknown>) {
    this.#tagsOf(input.ResourceARN);
    this.#putTags(String(input.ResourceARN), input.Tags);
    return {};
  }

  #untagResource(input: Record<string, unknown>) {
    const tags = this.#tagsOf(input.ResourceARN);
    for (const key of Array.isArray(input.TagKeys) ? input.TagKeys : []) tags.delete(String(key));
    return {};
  }

  #requireRule(name: unknown, busName: unknown): Rule {
    const bus = this.#requireBus(busName);
    const rule = this.#rules.get(bus)?.get(String(name));
    if (!rule)
      throw new AwsError(
        'ResourceNotFoundException',
        `Rule ${String(name)} does not exist on EventBus ${bus}.`,
      );
    return rule;
  }

  /** Runs listeners on every accepted event (tests, the tail command). */
  subscribe(listener: BusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One API call; `failEntries` (an injected fault) makes PutEvents fail every entry it is given. */
  async handle(operation: string, input: Record<string, unknown>, failEntries = false): Promise<unknown> {
    switch (operation) {
      case 'PutEvents':
        return this.putEvents(input, failEntries);
      case 'PutRule':
        return this.putRule(input);
      case 'DescribeRule':
        return describeRule(this.#requireRule(input.Name, input.EventBusName));
      case 'ListRules':
        return this.#listRules(input);
      case 'DeleteRule':
        return this.#deleteRule(input);
      case 'PutTargets':
        return this.putTargets(input);
      case 'RemoveTargets':
        return this.#removeTargets(input);
      case 'ListTargetsByRule':
        return { Targets: [...this.#requireRule(input.Rule, input.EventBusName).targets.values()] };
      case 'EnableRule':
      case 'DisableRule':
        this.#requireRule(input.Name, input.EventBusName).state =
          operation === 'EnableRule' ? 'ENABLED' : 'DISABLED';
        return {};
      case 'TestEventPattern':
        return this.#testEventPattern(input);
      case 'CreateEventBus':
        return this.#createEventBus(input);
      case 'DeleteEventBus':
        return this.#deleteEventBus(input);
      case 'ListEventBuses':
        return this.#listEventBuses(input);
      case 'DescribeEventBus':
        return describeBus(this.#requiredBus(input.Name));
      case 'CreateArchive':
        return this.#createArchive(input);
      case 'DescribeArchive':
        return this.#describeArchive(this.#archives.get(input.ArchiveName));
      case 'ListArchives':
        return this.#listArchives(input);
      case 'UpdateArchive':
        return this.#updateArchive(input);
      case 'DeleteArchive':
        this.#archives.delete(input.ArchiveName);
        return {};
      case 'StartReplay':
        return this.#startReplay(input);
      case 'DescribeReplay':
        return describeReplay(this.#replay(input.ReplayName));
      case 'ListReplays':
        return this.#listReplays(input);
      case 'CancelReplay':
        return this.#cancelReplay(input);
      case 'ListRuleNamesByTarget':
        return this.#listRuleNamesByTarget(input);
      case 'TagResource':
        return this.#tagResource(input);
      case 'UntagResource':
        return this.#untagResource(input);
      case 'ListTagsForResource':
        return {
          Tags: [...this.#tagsOf(input.ResourceARN).entries()].map(([Key, Value]) => ({ Key, Value })),
        };
      default:
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by the local EventBridge`,
        );
    }
  }

  putEvents(input: Record<string, unknown>, failEntries = false): unknown {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length < 1) {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
      );
    }
    if (entries.length > MAX_PUT_EVENTS_ENTRIES) {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '[${entries.map(javaEntry).join(', ')}]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PUT_EVENTS_ENTRIES}`,
      );
    }
    const total = entries.reduce((sum: number, entry: PutEventsEntryInput) => sum + entrySize(entry), 0);
    if (total > MAX_PUT_EVENTS_BYTES) {
      throw new AwsError(
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
    }
    const accepted: Accepted[] = [];
    const results = entries.map((entry: PutEventsEntryInput) => {
      if (failEntries)
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'Injected fault: entry not accepted' };
      const result = this.#accept(entry);
      if ('ErrorCode' in result) return result;
      // An event for a bus that does not exist is accepted and goes nowhere, as on AWS.
      if (this.#buses.has(result.busName)) accepted.push(result);
      return { EventId: result.event.id };
    });
    this.#publishAll(accepted);
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  #accept(entry: PutEventsEntryInput): Accepted | { ErrorCode: string; ErrorMessage: string } {
    for (const [field, name] of [
      [entry.Source, 'Source'],
      [entry.DetailType, 'DetailType'],
      [entry.Detail, 'Detail'],
    ] as const) {
      if (str(field) === undefined) {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
        };
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(String(entry.Detail));
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const busName = busNameOf(entry.EventBusName);
    const now = new Date();
    const time =
      entry.Time === undefined
        ? now
        : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : String(entry.Time));
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': String(entry.DetailType),
      source: String(entry.Source),
      account: this.#options.accountId,
      time: isoSeconds(Number.isNaN(time.getTime()) ? now : time),
      region: this.#options.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail: detail as Record<string, unknown>,
    };
    return { busName, event, ingestionTime: now.toISOString() };
  }

  /** Puts an accepted event on a bus: archive, deliveries journaled, listeners, then delivery. */
  publish(busName: string, event: BusEvent, ingestionTime = new Date().toISOString()): void {
    this.#publishAll([{ busName, event, ingestionTime }]);
  }

  /**
   * Stores a call's accepted events durably before it answers (one archive write per bus, one
   * journal write for every delivery), then tells the listeners and starts the deliveries.
   */
  #publishAll(accepted: readonly Accepted[]): void {
    if (accepted.length === 0) return;
    if (this.#closed) throw new AwsError('ServiceUnavailable', 'The local EventBridge is shutting down', 503);
    const byBus = new Map<string, ArchivedEvent[]>();
    for (const { busName, event, ingestionTime } of accepted) {
      byBus.set(busName, [...(byBus.get(busName) ?? []), { event, ingestionTime }]);
    }
    for (const [busName, archived] of byBus) this.#archives.append(busName, archived);
    const deliveries = accepted.flatMap(({ busName, event, ingestionTime }) =>
      this.#route(busName, event, ingestionTime),
    );
    this.#journal.putAll(deliveries.map((delivery) => ({ id: delivery.id, value: journaled(delivery) })));
    for (const { busName, event } of accepted)
      for (const listener of this.#listeners) listener(event, busName);
    this.#admit(deliveries);
  }

  /** Takes journaled deliveries into the window while it has room; the others wait on disk for {@link #refill}. */
  #admit(deliveries: readonly Delivery[]): void {
    for (const delivery of deliveries) {
      if (this.#pending.size >= this.#maxInMemory) return;
      this.#schedule(delivery);
    }
  }

  /**
   * Reads deliveries waiting on disk back into the window once half of it is free, oldest first.
   * A delivery read back starts at once; its attempts and age come with it.
   */
  #refill(): void {
    if (this.#closed || this.#pending.size > this.#maxInMemory / 2) return;
    if (this.#journal.size <= this.#pending.size) return;
    for (const id of this.#journal.ids()) {
      if (this.#pending.size >= this.#maxInMemory) return;
      if (this.#pending.has(id)) continue;
      const value = this.#journal.read(id);
      if (value) this.#schedule({ ...value, id });
    }
  }

  /** The deliveries an event makes: one per target of every enabled rule it matches. */
  #route(busName: string, event: BusEvent, ingestionTime: string): Delivery[] {
    const deliveries: Delivery[] = [];
    for (const rule of this.#rules.get(busName)?.values() ?? []) {
      if (rule.state !== 'ENABLED' || !rule.compiled.matches(event)) continue;
      for (const target of rule.targets.values()) {
        deliveries.push({
          id: randomUUID(),
          ruleArn: rule.arn,
          targetId: target.Id,
          event,
          ingestionTime,
          attempts: 0,
          firstAttemptAt: Date.now(),
        });
      }
    }
    return deliveries;
  }

  #schedule(delivery: Delivery, delayMs = 0): void {
    if (this.#closed) return;
    this.#pending.set(delivery.id, delivery);
    delivery.timer = setTimeout(() => {
      delivery.timer = undefined;
      this.#ready.push(delivery);
      this.#pump();
    }, delayMs);
  }

  /**
   * Starts attempts for ready deliveries, oldest first, while fewer than the maximum are under way;
   * a delivery whose target already has its share under way waits for one of them.
   */
  #pump(): void {
    let index = 0;
    while (!this.#closed && this.#inFlight.size < this.#maxConcurrent && index < this.#ready.length) {
      const delivery = this.#ready[index];
      if (!delivery) return;
      const target = `${delivery.ruleArn} ${delivery.targetId}`;
      const underWay = this.#inFlightByTarget.get(target) ?? 0;
      if (underWay >= this.#maxPerTarget) {
        index++;
        continue;
      }
      this.#ready.splice(index, 1);
      this.#inFlightByTarget.set(target, underWay + 1);
      const attempt = this.#attempt(delivery).finally(() => {
        const left = (this.#inFlightByTarget.get(target) ?? 1) - 1;
        if (left > 0) this.#inFlightByTarget.set(target, left);
        else this.#inFlightByTarget.delete(target);
        this.#inFlight.delete(attempt);
        this.#pump();
        this.#refill();
      });
      this.#inFlight.add(attempt);
    }
  }

  #ruleByArn(ruleArn: string): Rule | undefined {
    const { busName, ruleName } = ruleOfArn(ruleArn);
    return this.#rules.get(busName)?.get(ruleName);
  }

  async #attempt(delivery: Delivery): Promise<void> {
    const rule = this.#ruleByArn(delivery.ruleArn);
    const target = rule?.targets.get(delivery.targetId);
    if (!rule || !target) {
      this.#finish(delivery);
      return;
    }
    delivery.attempts += 1;
    try {
      if (this.#options.faults.take('target', target.Arn)) {
        throw Object.assign(new Error(`Injected fault: target ${target.Arn} failed`), {
          name: 'InjectedTargetFailure',
        });
      }
      const invoke = this.#options.resolveTarget(target.Arn);
      if (!invoke)
        throw Object.assign(new Error(`No resource answers ${target.Arn}`), {
          name: 'ResourceNotFoundException',
        });
      const payload = renderTargetInput(target, delivery.event as unknown as Record<string, unknown>, {
        ruleName: rule.name,
        ruleArn: rule.arn,
        ingestionTime: delivery.ingestionTime,
      });
      await invoke(payload, delivery.event);
      this.#finish(delivery);
    } catch (error) {
      this.#retryOrDeadLetter(delivery, rule, target, error);
    }
  }

  #retryOrDeadLetter(delivery: Delivery, rule: Rule, target: Target, error: unknown): void {
    const policy = { ...DEFAULT_RETRY, ...target.RetryPolicy };
    const base = this.#options.retryBaseDelayMs ?? 1000;
    const delay =
      Math.min(this.#options.maxRetryDelayMs ?? 60_000, base * 2 ** (delivery.attempts - 1)) *
      (0.5 + Math.random() / 2);
    const ageAfterDelay = (Date.now() + delay - delivery.firstAttemptAt) / 1000;
    const retriesLeft = delivery.attempts <= policy.MaximumRetryAttempts;
    if (retriesLeft && ageAfterDelay <= policy.MaximumEventAgeInSeconds) {
      this.#journal.put(delivery.id, journaled(delivery));
      this.#schedule(delivery, delay);
      return;
    }
    const errorCode = error instanceof Error ? error.name : 'Error';
    const errorMessage = error instanceof Error ? error.message : String(error);
    this.#options.onDeliveryError?.('Delivery failed for good', {
      rule: rule.arn,
      target: target.Arn,
      errorCode,
      errorMessage,
    });
    const dlq = target.DeadLetterConfig?.Arn;
    // The dead letter is written first: a process killed in between leaves the delivery to resume.
    if (dlq) {
      try {
        this.#sendDeadLetter(dlq, delivery, rule, target, errorCode, errorMessage, retriesLeft);
      } catch (sendError) {
        // As EventBridge does when its dead-letter queue is missing: the event is dropped and
        // counted (InvocationsFailedToBeSentToDlq, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
        this.#options.onDeliveryError?.('Dead letter not sent', {
          rule: rule.arn,
          target: target.Arn,
          deadLetterQueue: dlq,
          errorCode: sendError instanceof Error ? sendError.name : 'Error',
          errorMessage: sendError instanceof Error ? sendError.message : String(sendError),
        });
      }
    }
    this.#finish(delivery);
  }

  /** Delivered, dead-lettered or without a target any more: no longer pending, here or after a restart. */
  #finish(delivery: Delivery): void {
    this.#pending.delete(delivery.id);
    this.#journal.done(delivery.id);
  }

  #sendDeadLetter(
    dlq: string,
    delivery: Delivery,
    rule: Rule,
    target: Target,
    errorCode: string,
    errorMessage: string,
    retriesLeft: boolean,
  ): void {
    this.deadLetters.send(queueNameOf(dlq), {
      body: delivery.event,
      attributes: {
        RULE_ARN: rule.arn,
        TARGET_ARN: target.Arn,
        ERROR_CODE: errorCode,
        ERROR_MESSAGE: errorMessage.slice(0, 1024),
        EXHAUSTED_RETRY_CONDITION: retriesLeft ? 'MaximumEventAgeInSeconds' : 'MaximumRetryAttempts',
        RETRY_ATTEMPTS: delivery.attempts - 1,
      },
    });
  }

  putRule(input: Record<string, unknown>): { RuleArn: string } {
    const name = validateRuleName(input.Name);
    const busName = this.#requireBus(input.EventBusName);
    if (input.ScheduleExpression !== undefined) {
      throw new AwsError(
        'ValidationException',
        'ScheduleExpression is supported only on the default event bus.',
      );
    }
    const { text, compiled } = compileRulePattern(input.EventPattern);
    const state = input.State === 'DISABLED' ? 'DISABLED' : 'ENABLED';
    const rules = this.#rules.get(busName) ?? new Map<string, Rule>();
    const existing = rules.get(name);
    const description = str(input.Description);
    if (existing) {
      existing.eventPattern = text;
      existing.compiled = compiled;
      existing.state = state;
      if (description !== undefined) existing.description = description;
      return { RuleArn: existing.arn };
    }
    const rule: Rule = {
      name,
      busName,
      arn: this.ruleArn(busName, name),
      eventPattern: text,
      compiled,
      state,
      targets: new Map(),
      ...(description !== undefined ? { description } : {}),
    };
    rules.set(name, rule);
    this.#putTags(rule.arn, input.Tags);
    return { RuleArn: rule.arn };
  }

  #listRules(input: Record<string, unknown>) {
    const busName = this.#requireBus(input.EventBusName);
    const prefix = str(input.NamePrefix) ?? '';
    const all = [...(this.#rules.get(busName)?.values() ?? [])]
      .filter((rule) => rule.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
    const { page, NextToken } = paginate(all, input);
    return { Rules: page.map(describeRule), ...(NextToken ? { NextToken } : {}) };
  }

  #deleteRule(input: Record<string, unknown>) {
    const busName = this.#requireBus(input.EventBusName);
    const rule = this.#rules.get(busName)?.get(String(input.Name));
    if (!rule) return {};
    if (rule.targets.size > 0 && input.Force !== true) {
      throw new AwsError('ValidationException', "Rule can't be deleted since it has targets.");
    }
    this.#rules.get(busName)?.delete(rule.name);
    this.#tags.delete(rule.arn);
    return {};
  }

  putTargets(input: Record<string, unknown>) {
    const rule = this.#requireRule(input.Rule, input.EventBusName);
    const targets = Array.isArray(input.Targets) ? (input.Targets as unknown[]) : [];
    if (targets.length < 1 || targets.length > 10) {
      throw new AwsError(
        'ValidationException',
        "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10",
      );
    }
    // AWS refuses the whole call when any target is invalid, before adding any.
    targets.forEach((target, index) => {
      const problem = targetProblem(target, index);
      if (problem) throw new AwsError('ValidationException', problem);
    });
    for (const target of targets as Target[]) {
      if (!rule.targets.has(target.Id) && rule.targets.size >= MAX_TARGETS_PER_RULE) {
        throw new AwsError(
          'LimitExceededException',
          `The requested resource exceeds the maximum number allowed.`,
        );
      }
      rule.targets.set(target.Id, target);
    }
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  #removeTargets(input: Record<string, unknown>) {
    const rule = this.#requireRule(input.Rule, input.EventBusName);
    const ids = Array.isArray(input.Ids) ? input.Ids.map(String) : [];
    for (const id of ids) rule.targets.delete(id);
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  #testEventPattern(input: Record<string, unknown>) {
    let event: unknown;
    try {
      event = JSON.parse(String(input.Event));
    } catch {
      throw new AwsError('ValidationException', 'Parameter Event is not valid.');
    }
    const required = ['id', 'account', 'source', 'time', 'region', 'detail-type'];
    const missing = required.filter(
      (field) => typeof event !== 'object' || event === null || !(field in event),
    );
    if (missing.length > 0) {
      throw new AwsError(
        'ValidationException',
        `Parameter Event is not valid. Reason: Provided Event is missing required field(s): ${missing.join(', ')}.`,
      );
    }
    try {
      return { Result: compilePattern(String(input.EventPattern)).matches(event) };
    } catch (error) {
      if (error instanceof InvalidEventPatternError)
        throw new AwsError('InvalidEventPatternException', error.message);
      throw error;
    }
  }

  /** Every event an archive kept, oldest first (a topology bus's archive has the bus's name). */
  archived(archiveName: string): ArchivedEvent[] {
    return this.#archives.events(archiveName).map((entry) => ({
      event: JournaledEvent.parse(entry.event),
      ingestionTime: entry.ingestionTime,
    }));
  }

  /** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html */
  #createArchive(input: Record<string, unknown>) {
    const busName = this.#requireBus(input.EventSourceArn);
    const archive = this.#archives.create({
      name: String(input.ArchiveName ?? ''),
      busName,
      eventSourceArn: this.busArn(busName),
      retentionDays: typeof input.RetentionDays === 'number' ? input.RetentionDays : 0,
      ...(str(input.EventPattern) !== undefined ? { eventPattern: String(input.EventPattern) } : {}),
      ...(str(input.Description) !== undefined ? { description: String(input.Description) } : {}),
    });
    return {
      ArchiveArn: this.#archiveArn(archive.name),
      State: 'ENABLED',
      CreationTime: archive.creationTime / 1000,
    };
  }

  #archiveArn(name: string): string {
    return `arn:aws:events:${this.#options.region}:${this.#options.accountId}:archive/${name}`;
  }

  #archiveSummary(archive: Archive) {
    return {
      ArchiveName: archive.name,
      EventSourceArn: archive.eventSourceArn,
      State: 'ENABLED',
      RetentionDays: archive.retentionDays,
      ...this.#archives.size(archive),
      CreationTime: archive.creationTime / 1000,
    };
  }

  #describeArchive(archive: Archive) {
    return {
      ArchiveArn: this.#archiveArn(archive.name),
      ...this.#archiveSummary(archive),
      ...(archive.eventPattern !== undefined ? { EventPattern: archive.eventPattern } : {}),
      ...(archive.description !== undefined ? { Description: archive.description } : {}),
    };
  }

  #listArchives(input: Record<string, unknown>) {
    const source = str(input.EventSourceArn);
    const busName = source === undefined ? undefined : this.#requireBus(source);
    const prefix = str(input.NamePrefix) ?? '';
    const all = this.#archives
      .list()
      .filter(
        (archive) =>
          archive.name.startsWith(prefix) && (busName === undefined || archive.busName === busName),
      )
      .filter(() => input.State === undefined || input.State === 'ENABLED');
    const { page, NextToken } = paginate(all, input);
    return {
      Archives: page.map((archive) => this.#archiveSummary(archive)),
      ...(NextToken ? { NextToken } : {}),
    };
  }

  #updateArchive(input: Record<string, unknown>) {
    const archive = this.#archives.update(input.ArchiveName, {
      ...(typeof input.EventPattern === 'string' ? { eventPattern: input.EventPattern } : {}),
      ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
      ...(typeof input.RetentionDays === 'number' ? { retentionDays: input.RetentionDays } : {}),
    });
    return {
      ArchiveArn: this.#archiveArn(archive.name),
      State: 'ENABLED',
      CreationTime: archive.creationTime / 1000,
    };
  }

  #replay(name: unknown): Replay {
    const replay = this.#replays.get(String(name));
    if (!replay) throw new AwsError('ResourceNotFoundException', `Replay ${String(name)} does not exist.`);
    return replay;
  }

  /**
   * Starts re-delivering an archive's events of a time range to its bus's rules (to those in
   * `FilterArns` only, when given), marked with `replay-name`, and answers before it runs, as
   * StartReplay does (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html).
   */
  #startReplay(input: Record<string, unknown>) {
    const name = String(input.ReplayName ?? '');
    if (this.#replays.has(name))
      throw new AwsError('ResourceAlreadyExistsException', `Replay ${name} already exists.`);
    const source = String(input.EventSourceArn ?? '');
    const archiveName = source.slice(source.lastIndexOf('/') + 1);
    if (!source.includes(':archive/') || !this.#archives.has(archiveName)) {
      throw new AwsError(
        'ValidationException',
        `Parameter EventSourceArn is not valid. Reason: Archive ${archiveName} does not exist.`,
      );
    }
    const archive = this.#archives.get(archiveName);
    const start = timeOf(input.EventStartTime);
    const end = timeOf(input.EventEndTime);
    if (start === undefined || end === undefined || end <= start) {
      throw new AwsError(
        'ValidationException',
        'Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.',
      );
    }
    const destination = (input.Destination ?? {}) as { Arn?: unknown; FilterArns?: unknown };
    const busName = this.#requireBus(destination.Arn);
    if (busName !== archive.busName) {
      throw new AwsError(
        'ValidationException',
        'Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.',
      );
    }
    const filterArns = Array.isArray(destination.FilterArns) ? destination.FilterArns.map(String) : [];
    const replay: Replay = {
      name,
      arn: `arn:aws:events:${this.#options.region}:${this.#options.accountId}:replay/${name}`,
      archiveArn: this.#archiveArn(archive.name),
      archiveName: archive.name,
      busName,
      filterArns,
      start,
      end,
      state: 'STARTING',
      replayStartTime: Date.now(),
      ...(str(input.Description) !== undefined ? { description: String(input.Description) } : {}),
    };
    this.#replays.set(name, replay);
    setImmediate(() => this.#runReplay(replay));
    return { ReplayArn: replay.arn, State: replay.state, ReplayStartTime: replay.replayStartTime / 1000 };
  }

  /** Runs a replay in one go (the archive is local), unless it was cancelled before it began. */
  #runReplay(replay: Replay): void {
    if (replay.state === 'CANCELLING') {
      replay.state = 'CANCELLED';
      replay.replayEndTime = Date.now();
      return;
    }
    replay.state = 'RUNNING';
    for (const { event, ingestionTime } of this.archived(replay.archiveName)) {
      const time = Date.parse(event.time);
      if (time < replay.start || time > replay.end) continue;
      const deliveries = this.#route(
        replay.busName,
        { ...event, 'replay-name': replay.name },
        ingestionTime,
      ).filter((delivery) => replay.filterArns.length === 0 || replay.filterArns.includes(delivery.ruleArn));
      this.#journal.putAll(deliveries.map((delivery) => ({ id: delivery.id, value: journaled(delivery) })));
      this.#admit(deliveries);
      replay.eventLastReplayedTime = time;
    }
    replay.state = 'COMPLETED';
    replay.replayEndTime = Date.now();
  }

  #listReplays(input: Record<string, unknown>) {
    const prefix = str(input.NamePrefix) ?? '';
    const source = str(input.EventSourceArn);
    const all = [...this.#replays.values()]
      .filter(
        (replay) =>
          replay.name.startsWith(prefix) &&
          (source === undefined || replay.archiveArn === source) &&
          (input.State === undefined || replay.state === input.State),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
    const { page, NextToken } = paginate(all, input);
    return {
      Replays: page.map((replay) => {
        const { Destination: _, ReplayArn: __, Description: ___, ...summary } = describeReplay(replay);
        return summary;
      }),
      ...(NextToken ? { NextToken } : {}),
    };
  }

  /** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CancelReplay.html */
  #cancelReplay(input: Record<string, unknown>) {
    const replay = this.#replay(input.ReplayName);
    if (replay.state !== 'STARTING' && replay.state !== 'RUNNING') {
      throw new AwsError(
        'IllegalStatusException',
        `Replay ${replay.name} is not in a valid state for this operation.`,
      );
    }
    replay.state = 'CANCELLING';
    return { ReplayArn: replay.arn, State: replay.state };
  }

  /**
   * Sends a queue's dead letters back to the targets they failed on; those delivered leave the
   * queue. A letter a workflow parked itself (no rule) starts that workflow again with its body.
   */
  async redrive(queue: string): Promise<{ redriven: number; failed: number }> {
    const letters = this.deadLetters.list(queue);
    const done = new Set<string>();
    for (const letter of letters) {
      if (!('RULE_ARN' in letter.attributes)) {
        const start = this.#options.resolveTarget(letter.attributes.TARGET_ARN);
        try {
          await start?.(JSON.stringify(letter.body), letter.body);
          if (start) done.add(letter.messageId);
        } catch {
          // stays in the queue, as a failed SQS redrive leaves the message
        }
        continue;
      }
      const rule = this.#ruleByArn(letter.attributes.RULE_ARN);
      const target = [...(rule?.targets.values() ?? [])].find((t) => t.Arn === letter.attributes.TARGET_ARN);
      if (!rule || !target) continue;
      const invoke = this.#options.resolveTarget(target.Arn);
      try {
        if (!invoke) throw new Error(`No resource answers ${target.Arn}`);
        await invoke(
          renderTargetInput(target, letter.body as unknown as Record<string, unknown>, {
            ruleName: rule.name,
            ruleArn: rule.arn,
            ingestionTime: letter.sentAt,
          }),
          letter.body,
        );
        done.add(letter.messageId);
      } catch {
        // stays in the queue, as a failed SQS redrive leaves the message
      }
    }
    this.deadLetters.remove(queue, done);
    return { redriven: done.size, failed: letters.length - done.size };
  }

  /** Whether a delivery attempt is under way right now. */
  busy(): boolean {
    return this.#inFlight.size > 0;
  }

  /** Deliveries that have not yet succeeded nor been dead-lettered, in memory and on disk. */
  pendingCount(): number {
    return this.#journal.size;
  }

  /**
   * Resumes the deliveries a previous run left pending, however it ended (SIGKILL included), with
   * their attempt counts and ages; also, once, those an older version saved at a clean stop in
   * `eventbridge-pending.json`, which is then deleted.
   */
  resumePending(): number {
    const recovered: JournalEntry<PendingDelivery>[] = [...this.#journal.recovered()];
    const legacy = this.#options.dataDir && join(this.#options.dataDir, 'eventbridge-pending.json');
    if (legacy && existsSync(legacy)) {
      const saved = z.array(PendingDelivery).parse(JSON.parse(readFileSync(legacy, 'utf8')));
      const entries = saved.map((value) => ({ id: randomUUID(), value }));
      this.#journal.putAll(entries);
      rmSync(legacy);
      recovered.push(...entries);
    }
    this.#admit(recovered.map(({ id, value }) => ({ ...value, id })));
    return recovered.length;
  }

  /** Waits briefly for deliveries under way; the rest stay in the journal for the next start. */
  async close(graceMs = 2000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.#inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all(this.#inFlight), new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    this.#closed = true;
    for (const delivery of this.#pending.values()) clearTimeout(delivery.timer);
    this.#ready.length = 0;
    this.#journal.close();
    this.#archives.close();
  }
}
