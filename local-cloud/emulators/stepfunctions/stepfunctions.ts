import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { z } from 'zod';

type JSONValue = Parameters<StateMachine['run']>[0];
type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

import type { AwsCredentials } from '../edge/sigv4.ts';
import { AwsError } from '../shared/aws-protocol.ts';
import type { Faults } from '../shared/faults.ts';
import { Journal } from '../shared/journal.ts';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22); Node 20 lacks it.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolvePromise!: (value: T | PromiseLike<T>) => void;
      let rejectPromise!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolvePromise = res;
        rejectPromise = rej;
      });
      return { promise, resolve: resolvePromise, reject: rejectPromise };
    },
  });
}

const MAX_EXECUTIONS_IN_MEMORY = 2000;

export interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: string;
  stopDate?: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}

/** A state machine to run: its ASL definition with every placeholder already substituted. */
export interface LocalStateMachine {
  readonly name: string;
  readonly type: 'EXPRESS' | 'STANDARD';
  readonly definition: Record<string, unknown>;
}

export interface LocalStepFunctionsOptions {
  readonly machines: readonly LocalStateMachine[];
  readonly region: string;
  readonly accountId: string;
  /** The function a `lambda:invoke` task's `FunctionName` (an ARN) names, if any. */
  readonly functionOfArn: (arn: string) => string | undefined;
  readonly invokeFunction: (name: string, payload: unknown) => Promise<unknown>;
  readonly edgeUrl: () => string;
  /** The edge refuses unsigned requests; the workflows' SDK calls sign with these. */
  readonly credentials: AwsCredentials;
  readonly faults: Faults;
  /**
   * Failed executions are kept as JSON files here, and started ones in `journal/stepfunctions.jsonl`
   * until they finish; in memory when absent.
   */
  readonly dataDir?: string;
  /** Replaces every Retry interval (ms); AWS's seconds-long backoff makes local runs slow. */
  readonly retryIntervalMs?: number;
  readonly onFailure?: (execution: Execution) => void;
  /**
   * Executions run at once ({@link DEFAULT_MAX_RUNNING_EXECUTIONS}); the others wait, journaled on
   * disk with their input, and start as running ones finish, so memory and the SDK clients'
   * queues stay bounded however many are started.
   */
  readonly maxRunningExecutions?: number;
}

export const DEFAULT_MAX_RUNNING_EXECUTIONS = 32;

/** A started execution as the journal keeps it until it finishes: enough to run it again. */
const StartedExecution = z.object({
  executionArn: z.string(),
  stateMachineArn: z.string(),
  name: z.string(),
  startDate: z.string(),
  input: z.string(),
});
type StartedExecution = z.infer<typeof StartedExecution>;

interface TaskState {
  Type: 'Task';
  Resource: string;
}

/** Every Task state of a definition, Map and Parallel states included, by name. */
/** Every state of a definition, those inside Map and Parallel states included, by name. */
const allStates = (definition: Record<string, unknown>): Map<string, Record<string, unknown>> => {
  const found = new Map<string, Record<string, unknown>>();
  const walk = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      found.set(name, state);
      const processor = (state.ItemProcessor ?? state.Iterator) as
        | { States?: Record<string, Record<string, unknown>> }
        | undefined;
      if (processor?.States) walk(processor.States);
      for (const branch of (state.Branches as
        | { States: Record<string, Record<string, unknown>> }[]
        | undefined) ?? []) {
        walk(branch.States);
      }
    }
  };
  walk(definition.States as Record<string, Record<string, unknown>>);
  return found;
};

const taskStates = (states: Map<string, Record<string, unknown>>): Map<string, TaskState> =>
  new Map(
    [...states].flatMap(([name, state]) =>
      state.Type === 'Task' ? [[name, state as unknown as TaskState]] : [],
    ),
  );

/** States with a `Retry` field: Tasks, and Map or Parallel states that retry as a whole. */
const retryingStates = (states: Map<string, Record<string, unknown>>): string[] =>
  [...states].flatMap(([name, state]) => (Array.isArray(state.Retry) ? [name] : []));

/** SDK v3 error names that Step Functions reports by their Java SDK exception class instead. */
const JAVA_EXCEPTION_NAMES: Readonly<Record<string, string>> = {
  InternalServerError: 'InternalServerErrorException',
};

/** Errors of service integrations are named `<Service>.<Exception>`, as Step Functions names them. */
const named = (prefix: string, error: unknown): Error => {
  const source = error instanceof Error ? error : new Error(String(error));
  const renamed = new Error(source.message, { cause: source });
  renamed.name = `${prefix}.${JAVA_EXCEPTION_NAMES[source.name] ?? source.name}`;
  return renamed;
};

/** What a `sqs:sendMessage` task's parameters must hold (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sqs.html). */
const SendMessageParameters = z.object({
  QueueUrl: z.string(),
  MessageBody: z.unknown(),
  MessageAttributes: z
    .record(z.string(), z.object({ DataType: z.string(), StringValue: z.string().optional() }))
    .optional(),
  DelaySeconds: z.number().int().optional(),
});

/** A state machine as the emulator keeps it: its spec, the parsed machine, its tasks and the states that retry. */
interface MachineEntry {
  spec: LocalStateMachine;
  machine: StateMachine;
  tasks: Map<string, TaskState>;
  retrying: string[];
}

/**
 * Step Functions for the local cloud: runs the ASL files unchanged with aws-local-stepfunctions,
 * each Task resource mapped to its local implementation (a Lambda ARN to the handler in the local Lambda runtime,
 * `dynamodb:*`, `events:putEvents` and `sqs:sendMessage` to real SDK calls against the local edge). The newest
 * executions are kept in memory, and failed ones in `<data dir>/executions/` so a developer can
 * see why one failed.
 *
 * A started execution is journaled before StartExecution answers and until it finishes, so one cut
 * short by the process dying (SIGKILL included) runs again, under the same name and ARN, at the next
 * start ({@link resumeExecutions}); the workflows are written to be idempotent for this.
 */
export class LocalStepFunctions {
  readonly #options: LocalStepFunctionsOptions;
  readonly #machines = new Map<string, MachineEntry>();
  readonly #executions = new Map<string, Execution>();
  readonly #running = new Set<Promise<void>>();
  /** Started executions waiting for a turn: only their ARNs, their input is in the journal. */
  readonly #waiting: string[] = [];
  readonly #maxRunning: number;
  readonly #journal: Journal<StartedExecution>;
  #closed = false;
  #dynamo: DynamoDBClient | undefined;
  #events: EventBridgeClient | undefined;
  #sqs: SQSClient | undefined;

  constructor(options: LocalStepFunctionsOptions) {
    this.#options = options;
    this.#maxRunning = options.maxRunningExecutions ?? DEFAULT_MAX_RUNNING_EXECUTIONS;
    for (const spec of options.machines) {
      const { definition } = spec;
      this.#machines.set(`arn:aws:states:${options.region}:${options.accountId}:stateMachine:${spec.name}`, {
        spec,
        machine: new StateMachine(definition as unknown as StateMachineDefinition, {
          validationOptions: { checkArn: true, checkPaths: true },
        }),
        tasks: taskStates(allStates(definition)),
        retrying: retryingStates(allStates(definition)),
      });
    }
    if (options.dataDir) {
      const dir = join(options.dataDir, 'executions');
      mkdirSync(dir, { recursive: true });
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
        const execution = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Execution;
        this.#executions.set(execution.executionArn, execution);
      }
      mkdirSync(join(options.dataDir, 'journal'), { recursive: true });
    }
    this.#journal = new Journal({
      decode: (value) => StartedExecution.parse(value),
      ...(options.dataDir ? { file: join(options.dataDir, 'journal', 'stepfunctions.jsonl') } : {}),
    });
  }

  /**
   * Runs again the executions a previous run started and did not finish, however it ended; each
   * keeps its name, ARN and start date. Returns how many.
   */
  resumeExecutions(): number {
    let resumed = 0;
    for (const { id, value } of this.#journal.recovered()) {
      if (!this.#machines.has(value.stateMachineArn)) {
        this.#journal.done(id);
        continue;
      }
      this.#waiting.push(id);
      resumed++;
    }
    this.#startWaiting();
    return resumed;
  }

  /** The SDK clients of the service integrations, made on first use (the edge's URL is known by then). */
  #clients() {
    // Made once: the configuration holds an HTTP agent, which was built again on every Task call.
    if (this.#dynamo && this.#events && this.#sqs)
      return { dynamo: this.#dynamo, events: this.#events, sqs: this.#sqs };
    const config = {
      endpoint: this.#options.edgeUrl(),
      region: this.#options.region,
      credentials: {
        accessKeyId: this.#options.credentials.accessKeyId,
        secretAccessKey: this.#options.credentials.secretAccessKey,
      },
      // Every execution makes these calls on the local cloud's thread: resolve each command's
      // middleware once, not per call.
      cacheMiddleware: true,
      // One socket per running execution at most: each makes one call at a time, so nothing
      // queues behind the sockets for long.
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: this.#maxRunning }) },
    };
    this.#dynamo ??= new DynamoDBClient(config);
    this.#events ??= new EventBridgeClient(config);
    // The queue URL names SQS's own host; the call goes to the edge all the same.
    this.#sqs ??= new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
    return { dynamo: this.#dynamo, events: this.#events, sqs: this.#sqs };
  }

  /** The local implementation of one Task resource. */
  #handlerFor(resource: string): (input: unknown) => Promise<unknown> {
    switch (resource) {
      case 'arn:aws:states:::lambda:invoke':
        return async (input) => {
          const { FunctionName: arn, Payload } = input as { FunctionName: string; Payload: unknown };
          const fn = this.#options.functionOfArn(arn);
          if (!fn)
            throw named(
              'Lambda',
              Object.assign(new Error(`Function not found: ${arn}`), { name: 'ResourceNotFoundException' }),
            );
          const fault = this.#options.faults.take('lambda', fn);
          if (fault === 'error')
            throw named('Lambda', Object.assign(new Error('Injected fault'), { name: 'ServiceException' }));
          if (fault === 'throttle')
            throw named(
              'Lambda',
              Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }),
            );
          const result = await this.#options.invokeFunction(fn, Payload);
          return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result };
        };
      case 'arn:aws:states:::dynamodb:getItem':
        return async (input) =>
          this.#sdk('DynamoDB', () => this.#clients().dynamo.send(new GetItemCommand(input as never)));
      case 'arn:aws:states:::dynamodb:updateItem':
        return async (input) =>
          this.#sdk('DynamoDB', () => this.#clients().dynamo.send(new UpdateItemCommand(input as never)));
      case 'arn:aws:states:::events:putEvents':
        return async (input) => {
          const entries = ((input as { Entries: Record<string, unknown>[] }).Entries ?? []).map((entry) => ({
            ...entry,
            ...(typeof entry.Detail === 'object' ? { Detail: JSON.stringify(entry.Detail) } : {}),
          }));
          return this.#sdk('EventBridge', () =>
            this.#clients().events.send(new PutEventsCommand({ Entries: entries as never })),
          );
        };
      case 'arn:aws:states:::sqs:sendMessage':
        return (input) => this.#sendMessage(input);
      default:
        return async () => {
          throw named(
            'States',
            Object.assign(new Error(`No local implementation of ${resource}`), { name: 'TaskFailed' }),
          );
        };
    }
  }

  /**
   * `sqs:sendMessage` as Step Functions calls it: a JSON `MessageBody` is sent serialised
   * (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sqs.html).
   */
  async #sendMessage(input: unknown): Promise<unknown> {
    const parameters = SendMessageParameters.safeParse(input);
    if (!parameters.success) {
      throw named(
        'SQS',
        Object.assign(new Error(`Invalid sqs:sendMessage parameters: ${z.prettifyError(parameters.error)}`), {
          name: 'MissingParameter',
        }),
      );
    }
    const { MessageBody, ...rest } = parameters.data;
    const body = typeof MessageBody === 'string' ? MessageBody : JSON.stringify(MessageBody);
    return this.#sdk('SQS', () =>
      this.#clients().sqs.send(new SendMessageCommand({ ...rest, MessageBody: body })),
    );
  }

  async #sdk(service: string, call: () => Promise<{ $metadata?: unknown }>): Promise<unknown> {
    try {
      const { $metadata: _, ...result } = await call();
      return result;
    } catch (error) {
      throw named(service, error);
    }
  }

  async handle(operation: string, input: Record<string, unknown>): Promise<unknown> {
    switch (operation) {
      case 'StartExecution':
        return this.start(
          String(input.stateMachineArn ?? ''),
          input.input === undefined ? '{}' : String(input.input),
          input.name === undefined ? undefined : String(input.name),
        );
      case 'DescribeExecution': {
        const execution = this.#executions.get(String(input.executionArn ?? ''));
        if (!execution)
          throw new AwsError(
            'ExecutionDoesNotExist',
            `Execution Does Not Exist: '${String(input.executionArn)}'`,
          );
        return {
          ...execution,
          startDate: Date.parse(execution.startDate) / 1000,
          ...(execution.stopDate ? { stopDate: Date.parse(execution.stopDate) / 1000 } : {}),
        };
      }
      case 'ListExecutions': {
        const arn = String(input.stateMachineArn ?? '');
        if (!this.#machines.has(arn))
          throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
        const executions = [...this.#executions.values()]
          .filter(
            (e) =>
              e.stateMachineArn === arn &&
              (input.statusFilter === undefined || e.status === input.statusFilter),
          )
          .sort((a, b) => b.startDate.localeCompare(a.startDate))
          .slice(0, typeof input.maxResults === 'number' && input.maxResults > 0 ? input.maxResults : 100);
        return {
          executions: executions.map((e) => ({
            executionArn: e.executionArn,
            stateMachineArn: e.stateMachineArn,
            name: e.name,
            status: e.status,
            startDate: Date.parse(e.startDate) / 1000,
            ...(e.stopDate ? { stopDate: Date.parse(e.stopDate) / 1000 } : {}),
          })),
        };
      }
      default:
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by the local Step Functions`,
        );
    }
  }

  /** StartExecution: answers at once; the execution runs in the background. */
  start(
    stateMachineArn: string,
    input: string,
    name: string = randomUUID(),
  ): { executionArn: string; startDate: number } {
    if (this.#closed)
      throw new AwsError('ServiceUnavailable', 'The local Step Functions is shutting down', 503);
    const entry = this.#machines.get(stateMachineArn);
    if (!entry)
      throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new AwsError('InvalidExecutionInput', 'Invalid State Machine Execution Input');
    }
    const kind = entry.spec.type === 'EXPRESS' ? 'express' : 'execution';
    const executionArn = `arn:aws:states:${this.#options.region}:${this.#options.accountId}:${kind}:${entry.spec.name}:${name}${entry.spec.type === 'EXPRESS' ? `:${randomUUID()}` : ''}`;
    if (entry.spec.type === 'STANDARD' && this.#executions.has(executionArn)) {
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const started: StartedExecution = {
      executionArn,
      stateMachineArn,
      name,
      startDate: new Date().toISOString(),
      input,
    };
    this.#journal.put(executionArn, started);
    if (this.#running.size < this.#maxRunning && this.#waiting.length === 0)
      this.#launch(entry, { ...started, status: 'RUNNING' }, parsed);
    else this.#waiting.push(executionArn);
    return { executionArn, startDate: Date.parse(started.startDate) / 1000 };
  }

  #launch(entry: MachineEntry, execution: Execution, input: unknown): void {
    this.#executions.set(execution.executionArn, execution);
    const run = this.#run(entry, execution, input).finally(() => {
      this.#running.delete(run);
      this.#startWaiting();
    });
    this.#running.add(run);
  }

  /** Starts waiting executions, oldest first, while fewer than the maximum run. */
  #startWaiting(): void {
    while (!this.#closed && this.#running.size < this.#maxRunning) {
      const arn = this.#waiting.shift();
      if (arn === undefined) return;
      const started = this.#journal.read(arn);
      const entry = started && this.#machines.get(started.stateMachineArn);
      if (!started || !entry) continue;
      this.#launch(entry, { ...started, status: 'RUNNING' }, JSON.parse(started.input));
    }
  }

  /** Executions started and not finished: running, or waiting for a turn. */
  pendingCount(): number {
    return this.#running.size + this.#waiting.length;
  }

  async #run(entry: MachineEntry, execution: Execution, input: unknown): Promise<void> {
    const handlers = Object.fromEntries(
      [...entry.tasks].map(([name, task]) => [name, this.#handlerFor(task.Resource)]),
    ) as LocalHandlers;
    const retryOverrides =
      this.#options.retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(entry.retrying.map((name) => [name, this.#options.retryIntervalMs as number]));
    try {
      const run = entry.machine.run(input as JSONValue, {
        overrides: {
          taskResourceLocalHandlers: handlers,
          ...(retryOverrides ? { retryIntervalOverrides: retryOverrides } : {}),
        },
        context: {
          StateMachine: { Id: execution.stateMachineArn, Name: entry.spec.name },
          Execution: {
            Id: execution.executionArn,
            Name: execution.name,
            Input: input as JSONValue,
            StartTime: execution.startDate,
          },
        },
      });
      const output: unknown = await run.result;
      Object.assign(execution, { status: 'SUCCEEDED', output: JSON.stringify(output) });
    } catch (error) {
      // aws-local-stepfunctions wraps the state's error (a Fail state's Error/Cause) in an ExecutionError.
      const failure = (error instanceof Error && error.cause instanceof Error ? error.cause : error) as Error;
      Object.assign(execution, {
        status: 'FAILED',
        error: failure.name || 'States.Runtime',
        cause: failure.message,
      });
      this.#options.onFailure?.(execution);
    }
    execution.stopDate = new Date().toISOString();
    if (execution.status === 'FAILED') this.#save(execution);
    this.#journal.done(execution.executionArn);
    this.#forgetOldest();
  }

  /**
   * Keeps the newest executions in memory for DescribeExecution and ListExecutions (one runs per
   * reading, so keeping all would grow without bound); failed ones are also kept on disk.
   */
  #forgetOldest(): void {
    const excess = this.#executions.size - MAX_EXECUTIONS_IN_MEMORY;
    if (excess <= 0) return;
    let removed = 0;
    for (const [arn, execution] of this.#executions) {
      if (removed >= excess) break;
      if (execution.status === 'RUNNING') continue;
      this.#executions.delete(arn);
      removed++;
    }
  }

  /** A failed execution, as a file a developer can open to see why it failed. */
  #save(execution: Execution): void {
    if (!this.#options.dataDir) return;
    const file = join(
      this.#options.dataDir,
      'executions',
      `${execution.executionArn.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`,
    );
    writeFileSync(file, `${JSON.stringify(execution, null, 2)}\n`);
  }

  /** Executions of every machine, newest first (for tests and the developer). */
  executions(): Execution[] {
    return [...this.#executions.values()].sort((a, b) => b.startDate.localeCompare(a.startDate));
  }

  /** Resolves once no execution is running. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  busy(): boolean {
    return this.#running.size > 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
    this.#journal.close();
    this.#dynamo?.destroy();
    this.#events?.destroy();
    this.#sqs?.destroy();
  }
}
