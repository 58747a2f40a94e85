import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildSync } from 'esbuild';
import type { Meter } from '../shared/meter.ts';
import { coldStartSlots, failWaitingAfterInitTimeouts, initLimitMs, recentInitMs } from './cold-starts.ts';
import type { EnvironmentSpec } from './lambda-context.ts';
import type { EnvironmentReply, EnvironmentRequest } from './lambda-worker.ts';
import { type ChunkListener, responseBody, STREAMED } from './response-streaming.ts';

/** How long one invocation may run, how much memory it may take and how many may run at once, as Lambda enforces them. */
export interface FunctionLimits {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** At most this many invocations at once; absent, the function shares the account's unreserved concurrency. */
  readonly reservedConcurrency?: number;
}

/** Lambda's default concurrency quota of an account in a Region (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/**
 * How many execution environments the runtime keeps, per function and in all. Each is a worker
 * thread that costs tens of MB of resident memory and up to a second of CPU for its cold start;
 * measured on a 2-core machine when environments compiled their TypeScript, 7 cold starts at once
 * took 7 to 10 s and 23 at once outran the init timeout (from bundles, a cold start takes a
 * fifth of that). So the pool is far smaller than Lambda's concurrency
 * quotas, and invocations past it wait for an environment (see {@link LocalLambda}).
 */
export const DEFAULT_ENVIRONMENTS_PER_FUNCTION = 4;
export const DEFAULT_ENVIRONMENTS = 16;

/**
 * Invocations with a deadline that may wait for one function's environments at once: past it,
 * such a caller is throttled at once rather than queued behind work the pool cannot reach before
 * its deadline (two rounds of a full function pool).
 */
export const DEFAULT_WAITING_PER_FUNCTION = 2 * DEFAULT_ENVIRONMENTS_PER_FUNCTION;

/**
 * How long an environment stays idle, its function with nothing waiting, before it gives way to a
 * function whose invocations wait for an environment at the machine's bound. Without it, the pools
 * settled on one or two environments each: after a burst, the functions with a backlog (the
 * workflow's tasks, the push) ran on one or two environments while a dozen of other functions'
 * stayed idle until reaped five minutes later. A minute is past the gaps of a function in use, a
 * scheduled one's included, so mostly the environments of functions out of use give way: at 10 s
 * the soak started 104 environments in 11 minutes (25 in 8 minutes before), each a cold start of
 * seconds of CPU on a loaded machine.
 */
export const DEFAULT_IDLE_GIVES_WAY_AFTER_MS = 60_000;

/**
 * The young generation of each execution environment's heap (MB). By V8's default a busy
 * environment's new space grows to 32 MB: the soak's sixteen environments each committed about
 * 56 MB of heap for 20 to 30 MB in use, most of the process's resident memory. Handlers' objects
 * are short-lived and small, so a smaller young generation only scavenges more often.
 */
export const ENVIRONMENT_YOUNG_GENERATION_MB = 8;

/**
 * The runtime each execution environment runs (`lambda-worker.ts` and what it imports), bundled
 * once per process into one module held in memory: an environment then loads plain JavaScript,
 * its runtime and its function's bundle, with no TypeScript loader (and its thread) of its own.
 */
let runtimeModule: URL | undefined;
const workerRuntime = (): URL => {
  if (runtimeModule) return runtimeModule;
  const { outputFiles } = buildSync({
    entryPoints: [resolve(import.meta.dirname, 'lambda-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node}`,
    write: false,
    logLevel: 'error',
  });
  const [output] = outputFiles;
  if (!output) throw new Error('esbuild made nothing of the Lambda worker runtime');
  runtimeModule = new URL(`data:text/javascript,${encodeURIComponent(output.text)}`);
  return runtimeModule;
};

/** How a caller waits for an execution environment of the function it invokes. */
export interface InvokeOptions {
  /**
   * How long the invocation may wait for a free environment before it is throttled with
   * `TooManyRequestsException`, as Lambda throttles at once what its concurrency cannot run: a
   * synchronous caller with a deadline (an API's integration timeout) would rather tell its client
   * to retry than answer 504. Absent, the invocation waits as long as it takes: asynchronous
   * sources bound their own concurrency and retry throttles with backoff, so they lose nothing by
   * waiting.
   */
  readonly maxWaitMs?: number;
  /** Where a streaming handler's chunks go (`InvokeWithResponseStream`); absent, they are collected into the result. */
  readonly onChunk?: ChunkListener;
  /**
   * Whether a caller with `maxWaitMs` is refused at once when {@link LocalLambdaOptions.maxWaitingPerFunction}
   * invocations already wait (true by default); a caller whose work is brief and bursty (a
   * WebSocket connect) waits within `maxWaitMs` alone.
   */
  readonly refuseWhenQueueFull?: boolean;
}

/** A function the runtime can run: its handler module and its limits. */
export interface LocalFunction {
  /**
   * Handler module, relative to `rootDir`, that exports `handler`: JavaScript, as Lambda runs a
   * deployment package (`function-builds.ts` bundles TypeScript sources).
   */
  readonly entry: string;
  readonly limits: FunctionLimits;
}

export interface LocalLambdaOptions {
  /** The functions it runs, by name. */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  /** The directory function entries are relative to. */
  readonly rootDir: string;
  /** A function's ARN, which its environment sees as its name (`AWS_LAMBDA_FUNCTION_NAME` is its last segment). */
  readonly functionArn: (name: string) => string;
  /**
   * An environment with nothing to do for this long is shut down, as Lambda reaps idle ones (5
   * minutes by default: each environment holds about 17 MB of the process's resident memory when
   * idle, tens of MB when busy).
   */
  readonly idleTimeoutMs?: number;
  /**
   * Execution environments one function may have at once on this machine (see {@link LocalLambda}
   * on why there is a bound below the function's concurrency); {@link DEFAULT_ENVIRONMENTS_PER_FUNCTION} by default.
   */
  readonly maxEnvironmentsPerFunction?: number;
  /** Execution environments of every function together; {@link DEFAULT_ENVIRONMENTS} by default. */
  readonly maxEnvironments?: number;
  /**
   * Invocations that may wait for one function's environments when a caller with a deadline
   * ({@link InvokeOptions.maxWaitMs}) arrives; {@link DEFAULT_WAITING_PER_FUNCTION} by default.
   */
  readonly maxWaitingPerFunction?: number;
  /** Environments whose init code may run at once (cold starts are CPU-bound); the machine's cores by default. */
  readonly maxConcurrentColdStarts?: number;
  /**
   * At the machine's bound, an environment idle this long, of a function with nothing waiting, is
   * ended for a function whose invocations wait, whatever their pool sizes
   * ({@link DEFAULT_IDLE_GIVES_WAY_AFTER_MS} by default).
   */
  readonly idleGivesWayAfterMs?: number;
  /** How often each environment is pinged. */
  readonly heartbeatIntervalMs?: number;
  /** An environment that leaves a ping unanswered this long is unresponsive (its thread is stuck). */
  readonly unresponsiveAfterMs?: number;
  /**
   * Receives each line the handlers write to stdout or stderr (Lambda sends them to CloudWatch
   * Logs); when absent they go to this process's own stdout and stderr.
   */
  readonly onLog?: (line: string) => void;
  /**
   * Invocations that may run at once across every function ({@link DEFAULT_ACCOUNT_CONCURRENCY}
   * by default, as Lambda's account quota); functions without reserved concurrency share what the
   * reserved ones leave.
   */
  readonly accountConcurrency?: number;
  /**
   * Counts each invocation, its duration from the event's hand-over to the answer and its GB-seconds
   * at the function's memory (https://aws.amazon.com/lambda/pricing/); off when absent.
   */
  readonly meter?: Meter;
}

/**
 * An invocation that failed: the function threw (`errorType` is the error's name) or the runtime
 * ended it (`Sandbox.Timedout`, `Runtime.OutOfMemory`, `Runtime.ExitError`). Its `name` is the
 * error type, which is what Step Functions and the callers match on, as with Lambda's
 * `{errorType, errorMessage}` payload
 * (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html#API_Invoke_ResponseSyntax).
 */
export class LambdaInvocationError extends Error {
  /** Whether the runtime ended the invocation (Lambda's `Unhandled` function error) rather than the handler throwing. */
  readonly unhandled: boolean;

  constructor(errorType: string, errorMessage: string, unhandled = false) {
    super(errorMessage);
    this.name = errorType;
    this.unhandled = unhandled;
  }

  /** The payload Lambda answers for this error. */
  get payload(): { errorType: string; errorMessage: string } {
    return { errorType: this.name, errorMessage: this.message };
  }
}

/** Why Lambda throttled an invocation, as its `TooManyRequestsException` says (`Reason`). */
export type ThrottleReason =
  | 'ReservedFunctionConcurrentInvocationLimitExceeded'
  | 'ConcurrentInvocationLimitExceeded';

/**
 * An invocation Lambda refused because the function or the account is at its concurrency limit:
 * `TooManyRequestsException` (HTTP 429) with its `Reason`
 * (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors). The handler
 * never ran, so the caller may retry it: Step Functions sees `Lambda.TooManyRequestsException`,
 * EventBridge retries it with backoff.
 */
/** Whether an invocation failed because Lambda throttled it (the error's name, as the SDK and the local runtime give it). */
export const isThrottle = (error: unknown): error is Error =>
  error instanceof Error && error.name === 'TooManyRequestsException';

export class LambdaThrottledError extends LambdaInvocationError {
  readonly reason: ThrottleReason;

  constructor(reason: ThrottleReason) {
    super('TooManyRequestsException', 'Rate Exceeded.');
    this.reason = reason;
  }
}

/** Lambda's errors for an invocation the runtime ended (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html). */
const runtimeErrors = {
  timedOut: (requestId: string, timeoutSeconds: number) =>
    new LambdaInvocationError(
      'Sandbox.Timedout',
      `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
      true,
    ),
  outOfMemory: (requestId: string) =>
    new LambdaInvocationError(
      'Runtime.OutOfMemory',
      `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
      true,
    ),
  initTimedOut: (requestId: string, limitMs: number) =>
    new LambdaInvocationError(
      'Sandbox.Timedout',
      `RequestId: ${requestId} Error: Task timed out after ${(limitMs / 1000).toFixed(2)} seconds`,
      true,
    ),
  exited: (requestId: string, reason: string) =>
    new LambdaInvocationError(
      'Runtime.ExitError',
      `RequestId: ${requestId} Error: Runtime exited with error: ${reason}`,
      true,
    ),
};

interface Invocation {
  readonly requestId: string;
  readonly event: unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** Ends the invocation at its deadline; set once an environment has it. */
  timer?: NodeJS.Timeout;
  /** Throttles the invocation if no environment has taken it within the caller's patience. */
  waitTimer?: NodeJS.Timeout;
  /** When the event was handed over (`performance.now()`), for the meter. */
  dispatchedAt?: number;
  /** Where a streaming handler's chunks go (`InvokeWithResponseStream`); absent, they are collected into the result. */
  readonly onChunk?: ChunkListener;
}

/** A promise with its settling functions (Node 20 has no `Promise.withResolvers`). */
interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const deferred = (): Deferred => {
  let settle: Pick<Deferred, 'resolve' | 'reject'> = { resolve: () => {}, reject: () => {} };
  const promise = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // `load` may never be called: an init failure is reported to the invocations, not as an unhandled rejection.
  promise.catch(() => {});
  return { promise, ...settle };
};

/** One execution environment: a worker thread of one function, running one invocation at a time. */
interface Environment {
  readonly id: number;
  readonly pool: FunctionPool;
  readonly worker: Worker;
  /** Whether its init code has run. */
  ready: boolean;
  /** Settles once its init code has run (or failed): what {@link LocalLambda.load} waits on. */
  readonly initialized: Deferred;
  readonly initTimer: NodeJS.Timeout;
  /** When it started (`performance.now()`), for its init duration. */
  readonly startedAt: number;
  /** The invocation it runs now, if any. */
  current?: Invocation;
  lastActiveAt: number;
  /** When the ping still unanswered was sent. */
  pingSentAt?: number;
  heapUsedBytes?: number;
  heapCommittedBytes?: number;
  /** When the runtime decided to end it (timeout, out of memory, reaped); it takes no new invocations from then on. */
  retiredAt?: number;
}

/** A function's environments and the invocations waiting for one of them. */
interface FunctionPool {
  readonly name: string;
  readonly fn: LocalFunction;
  readonly environments: Set<Environment>;
  /** Admitted invocations no environment has taken yet, oldest first. */
  readonly waiting: Invocation[];
  coldStarts: number;
  initMsTotal: number;
  /** Inits of the function that outran the limit since its last init that did not. */
  initTimeoutsInARow: number;
}

/** What the runtime reports of one environment. */
export interface EnvironmentReport {
  readonly function: string;
  /** 1 while it runs an invocation, else 0: an environment runs one at a time. */
  readonly inFlight: number;
  /** JavaScript heap in use at the last ping (MB), against the function's memory. */
  readonly heapUsedMb?: number;
  /** Its heap's pages in memory at the last ping (MB), used or not. */
  readonly heapCommittedMb?: number;
  readonly memoryMb: number;
  readonly responsive: boolean;
}

export interface LambdaHealth {
  readonly ok: boolean;
  readonly environments: readonly EnvironmentReport[];
  /** Functions with an environment that does not answer pings, or is past ending. */
  readonly stuck: readonly string[];
}

/** What one function's pool holds now and has done since start. */
export interface FunctionPoolStats {
  readonly environments: number;
  /** Environments running an invocation now. */
  readonly busy: number;
  /** Admitted invocations waiting for an environment. */
  readonly waiting: number;
  /** Environments started, each with its init code run once (Lambda's cold starts). */
  readonly coldStarts: number;
  /** Their init durations together (ms), as Lambda's `Init Duration` sums them. */
  readonly initMs: number;
}

/**
 * Runs handlers as Lambda does, off the local cloud's thread, in execution environments (worker
 * threads) that each belong to one function, import its handler once (init, counted as a cold
 * start) and then run one invocation at a time with a fresh context
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). An invocation
 * that finds every environment of its function busy gets a new one. Lambda's limits hold: past the
 * function's reserved concurrency, or the account's unreserved share, an invocation is throttled
 * with `TooManyRequestsException`; one that outruns the function's timeout fails with
 * `Sandbox.Timedout` and its environment is ended (which interrupts even a loop that never yields,
 * and touches no other invocation); an environment's heap is bounded by the function's memory.
 * Idle environments are reaped.
 *
 * Unlike Lambda, the pool is bounded by the machine ({@link DEFAULT_ENVIRONMENTS_PER_FUNCTION},
 * {@link DEFAULT_ENVIRONMENTS}): an admitted invocation that finds the pool full waits, counted
 * against the concurrency as if it ran, for the next free environment; an idle environment of a
 * function that has at least two environments more than its own (any, if it has none), or of one
 * idle a while with nothing waiting ({@link DEFAULT_IDLE_GIVES_WAY_AFTER_MS}), is ended to make room. Its timeout runs from
 * when an environment takes it, as Lambda's runs from when the handler starts, so a wait is never
 * charged to the handler.
 */
export class LocalLambda {
  readonly #functions: ReadonlyMap<string, LocalFunction>;
  readonly #rootDir: string;
  readonly #functionArn: (name: string) => string;
  readonly #pools = new Map<string, FunctionPool>();
  /** Environments being ended, until their thread has exited. */
  readonly #retiring = new Set<Environment>();
  readonly #idleTimeoutMs: number;
  readonly #unresponsiveAfterMs: number;
  readonly #maxPerFunction: number;
  readonly #maxEnvironments: number;
  readonly #maxWaiting: number;
  readonly #maxColdStarts: number;
  readonly #idleGivesWayAfterMs: number;
  /** How long inits have been taking lately (see {@link recentInitMs}); none has run yet when undefined. */
  #recentInitMs: number | undefined;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onLog: ((line: string) => void) | undefined;
  /** Invocations admitted and not answered (running or waiting), by function, and those of functions without reserved concurrency together. */
  readonly #running = new Map<string, number>();
  #unreservedRunning = 0;
  readonly #unreservedLimit: number;
  #throttled = 0;
  readonly #meter: Meter | undefined;
  #nextId = 0;
  #closed = false;

  constructor(options: LocalLambdaOptions) {
    this.#onLog = options.onLog;
    this.#meter = options.meter;
    this.#functions = new Map(Object.entries(options.functions));
    this.#rootDir = options.rootDir;
    this.#functionArn = options.functionArn;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 5 * 60_000;
    this.#maxPerFunction = options.maxEnvironmentsPerFunction ?? DEFAULT_ENVIRONMENTS_PER_FUNCTION;
    this.#maxEnvironments = options.maxEnvironments ?? DEFAULT_ENVIRONMENTS;
    this.#maxWaiting = options.maxWaitingPerFunction ?? DEFAULT_WAITING_PER_FUNCTION;
    this.#maxColdStarts = options.maxConcurrentColdStarts ?? availableParallelism();
    this.#idleGivesWayAfterMs = options.idleGivesWayAfterMs ?? DEFAULT_IDLE_GIVES_WAY_AFTER_MS;
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    this.#unresponsiveAfterMs = options.unresponsiveAfterMs ?? 5 * heartbeatIntervalMs;
    this.#heartbeat = setInterval(() => this.#beat(), heartbeatIntervalMs);
    this.#heartbeat.unref();
    const reserved = [...this.#functions.values()].reduce(
      (sum, fn) => sum + (fn.limits.reservedConcurrency ?? 0),
      0,
    );
    this.#unreservedLimit = (options.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY) - reserved;
  }

  #pool(functionName: string): FunctionPool {
    if (this.#closed)
      throw new LambdaInvocationError('ServiceException', 'The local Lambda runtime is closed');
    const existing = this.#pools.get(functionName);
    if (existing) return existing;
    const fn = this.#functions.get(functionName);
    if (!fn) {
      throw new LambdaInvocationError('ResourceNotFoundException', `Function not found: ${functionName}`);
    }
    const pool: FunctionPool = {
      name: functionName,
      fn,
      environments: new Set(),
      waiting: [],
      coldStarts: 0,
      initMsTotal: 0,
      initTimeoutsInARow: 0,
    };
    this.#pools.set(functionName, pool);
    return pool;
  }

  /** Starts a new execution environment of a function; its init code runs at once (a cold start). */
  #start(pool: FunctionPool): Environment {
    const spec: EnvironmentSpec = {
      functionName: pool.name,
      functionArn: this.#functionArn(pool.name),
      entry: pathToFileURL(resolve(this.#rootDir, pool.fn.entry)).href,
      memoryMb: pool.fn.limits.memoryMb,
    };
    const worker = new Worker(workerRuntime(), {
      workerData: spec,
      // Lambda's environment variables, fixed when the environment starts
      // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
      env: {
        ...process.env,
        AWS_LAMBDA_FUNCTION_NAME: spec.functionArn.slice(spec.functionArn.lastIndexOf(':') + 1),
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(pool.fn.limits.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      },
      execArgv: [],
      resourceLimits: {
        maxOldGenerationSizeMb: pool.fn.limits.memoryMb,
        maxYoungGenerationSizeMb: ENVIRONMENT_YOUNG_GENERATION_MB,
      },
      stdout: this.#onLog !== undefined,
      stderr: this.#onLog !== undefined,
    });
    const onLog = this.#onLog;
    if (onLog)
      for (const output of [worker.stdout, worker.stderr])
        createInterface({ input: output }).on('line', onLog);
    const initialized = deferred();
    const initLimit = initLimitMs(pool.fn.limits.timeoutSeconds);
    const environment: Environment = {
      id: this.#nextId++,
      pool,
      worker,
      ready: false,
      initialized,
      initTimer: setTimeout(() => this.#initTimedOut(environment), initLimit).unref(),
      startedAt: performance.now(),
      lastActiveAt: Date.now(),
    };
    worker.on('message', (reply: EnvironmentReply) => this.#answer(environment, reply));
    worker.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.#end(environment, (requestId) =>
        outOfMemory ? runtimeErrors.outOfMemory(requestId) : runtimeErrors.exited(requestId, error.message),
      );
    });
    worker.on('exit', (code) => {
      environment.retiredAt ??= Date.now();
      this.#end(environment, (requestId) => runtimeErrors.exited(requestId, `exit status ${code}`));
      this.#retiring.delete(environment);
    });
    worker.unref();
    pool.environments.add(environment);
    pool.coldStarts += 1;
    return environment;
  }

  #answer(environment: Environment, reply: EnvironmentReply): void {
    if (reply.kind === 'ready') {
      clearTimeout(environment.initTimer);
      environment.ready = true;
      const initMs = performance.now() - environment.startedAt;
      environment.pool.initMsTotal += initMs;
      environment.pool.initTimeoutsInARow = 0;
      this.#recentInitMs = recentInitMs(this.#recentInitMs, initMs);
      environment.initialized.resolve();
      this.#pump();
      return;
    }
    if (reply.kind === 'init-error') {
      this.#end(environment, () => new LambdaInvocationError(reply.errorType, reply.errorMessage, true));
      return;
    }
    if (reply.kind === 'pong') {
      environment.pingSentAt = undefined;
      environment.heapUsedBytes = reply.heapUsedBytes;
      environment.heapCommittedBytes = reply.heapCommittedBytes;
      return;
    }
    const invocation = environment.current;
    if (!invocation || reply.id !== this.#invocationIds.get(invocation)) return;
    if (reply.kind === 'chunk') {
      this.#chunk(environment, invocation, reply.id, reply.data);
      return;
    }
    environment.current = undefined;
    environment.lastActiveAt = Date.now();
    clearTimeout(invocation.timer);
    if (this.#meter && invocation.dispatchedAt !== undefined) {
      const functionName = environment.pool.name;
      const ms = Math.max(1, Math.ceil(performance.now() - invocation.dispatchedAt));
      this.#meter.add(`lambda/invocations/${functionName}`);
      this.#meter.add(`lambda/ms/${functionName}`, ms);
      this.#meter.add('lambda/gbSeconds', (ms / 1000) * (environment.pool.fn.limits.memoryMb / 1024));
    }
    if (reply.kind === 'result')
      invocation.resolve(reply.streamed ? this.#streamedResult(invocation) : reply.value);
    else invocation.reject(new LambdaInvocationError(reply.errorType, reply.errorMessage));
    this.#pump();
  }

  /** Chunks of streaming invocations that nobody reads as a stream (a plain `Invoke`), kept for the result. */
  readonly #collected = new WeakMap<Invocation, Uint8Array[]>();

  /**
   * Passes a streaming invocation's chunk to its caller; the worker sends the next one only once
   * told this one was taken (or that the caller is gone).
   */
  #chunk(environment: Environment, invocation: Invocation, id: number, data: Uint8Array): void {
    const settle = (outcome: 'taken' | 'closed') => {
      if (environment.current !== invocation) return;
      const taken: EnvironmentRequest = { kind: 'chunk-taken', id, outcome };
      environment.worker.postMessage(taken);
    };
    if (invocation.onChunk) {
      invocation.onChunk(data, settle);
      return;
    }
    this.#collected.set(invocation, [...(this.#collected.get(invocation) ?? []), data]);
    settle('taken');
  }

  /** What a streamed invocation resolves with: the mark its caller expects, or the bytes a plain `Invoke` gets. */
  #streamedResult(invocation: Invocation): unknown {
    if (invocation.onChunk) return STREAMED;
    return Buffer.concat(this.#collected.get(invocation) ?? []).toString('utf8');
  }

  /** The id each dispatched invocation was sent with, so that a late answer is not taken for another's. */
  readonly #invocationIds = new WeakMap<Invocation, number>();

  /**
   * Ends an environment: it takes no more invocations, the one it runs fails with `errorOf`, and
   * its thread is terminated (which interrupts even a loop that never yields). One that ends before
   * its init code ran fails the invocations waiting for it, unless another environment of the
   * function is ready to take them.
   */
  #end(
    environment: Environment,
    errorOf: (requestId: string) => LambdaInvocationError,
    { keepWaiting = false } = {},
  ): void {
    const { pool } = environment;
    const wasLive = pool.environments.delete(environment);
    clearTimeout(environment.initTimer);
    const invocation = environment.current;
    environment.current = undefined;
    if (invocation) {
      clearTimeout(invocation.timer);
      invocation.reject(errorOf(invocation.requestId));
    }
    if (!environment.ready) {
      const failure = errorOf(randomUUID());
      environment.initialized.reject(failure);
      const othersReady = [...pool.environments].some((other) => other.ready);
      if (wasLive && !othersReady && !keepWaiting)
        for (const waiting of pool.waiting.splice(0)) {
          clearTimeout(waiting.waitTimer);
          waiting.reject(errorOf(waiting.requestId));
        }
    }
    if (environment.retiredAt === undefined) {
      environment.retiredAt = Date.now();
      this.#retiring.add(environment);
      void environment.worker.terminate();
    }
    if (wasLive) this.#pump();
  }

  /**
   * An init that outran its limit (see {@link initLimitMs}) ends its environment; it counts as a
   * slow init for the pacing of cold starts, and what waits for the function keeps waiting unless
   * the function's inits keep timing out ({@link failWaitingAfterInitTimeouts}).
   */
  #initTimedOut(environment: Environment): void {
    const { pool } = environment;
    const limitMs = initLimitMs(pool.fn.limits.timeoutSeconds);
    pool.initTimeoutsInARow += 1;
    this.#recentInitMs = recentInitMs(this.#recentInitMs, limitMs);
    this.#end(environment, (requestId) => runtimeErrors.initTimedOut(requestId, limitMs), {
      keepWaiting: !failWaitingAfterInitTimeouts(pool.initTimeoutsInARow),
    });
  }

  #timedOut(environment: Environment, invocation: Invocation): void {
    if (environment.current !== invocation) return;
    environment.current = undefined;
    invocation.reject(
      runtimeErrors.timedOut(invocation.requestId, environment.pool.fn.limits.timeoutSeconds),
    );
    this.#end(environment, (requestId) =>
      runtimeErrors.exited(requestId, 'the environment was reset after a timeout'),
    );
  }

  #beat(): void {
    const now = Date.now();
    for (const environment of this.#live()) {
      if (
        environment.ready &&
        environment.current === undefined &&
        now - environment.lastActiveAt > this.#idleTimeoutMs
      ) {
        this.#end(environment, (requestId) => runtimeErrors.exited(requestId, 'the environment was reaped'));
        continue;
      }
      // Init has its own limit (a cold start's module loading blocks the thread, pings unanswered).
      if (!environment.ready || environment.pingSentAt !== undefined) continue;
      environment.pingSentAt = now;
      const ping: EnvironmentRequest = { kind: 'ping', id: this.#nextId++ };
      environment.worker.postMessage(ping);
    }
    // An environment idle long enough may now give way to invocations that wait.
    this.#pump();
  }

  *#live(): Generator<Environment> {
    for (const pool of this.#pools.values()) yield* pool.environments;
  }

  /**
   * Hands waiting invocations to free environments, and starts environments for those still
   * waiting, as far as the pool's bounds allow; an idle environment of another function makes room.
   * Called whenever an invocation arrives or an environment frees, becomes ready or ends.
   */
  #pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#assign();
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #pumping = false;
  #pumpAgain = false;

  #assign(): void {
    for (const pool of this.#pools.values()) {
      for (const environment of pool.environments) {
        const next = environment.ready && environment.current === undefined && pool.waiting.shift();
        if (next) this.#dispatch(environment, next);
      }
    }
    for (const pool of this.#pools.values()) {
      let starting = [...pool.environments].filter((environment) => !environment.ready).length;
      while (pool.waiting.length > starting && pool.environments.size < this.#maxPerFunction) {
        const live = [...this.#live()];
        const slots = coldStartSlots(this.#maxColdStarts, this.#recentInitMs);
        if (live.filter((environment) => !environment.ready).length >= slots) return;
        if (live.length >= this.#maxEnvironments) {
          // A function with at least two environments more than this one gives one up, or any
          // function if this one has none: the pools settle on fair shares, at most one apart.
          // One more was not enough: two functions one apart traded an environment (a cold start
          // each) back and forth whenever the larger one's queue was empty for a moment. So does
          // one that has been idle a while with nothing waiting: fair shares of a pool smaller
          // than the functions left a backlog on one environment while others sat idle.
          const now = Date.now();
          const idle = live
            .filter(
              (environment) =>
                environment.ready &&
                environment.current === undefined &&
                environment.pool !== pool &&
                (environment.pool.environments.size > pool.environments.size + 1 ||
                  pool.environments.size === 0 ||
                  (environment.pool.waiting.length === 0 &&
                    now - environment.lastActiveAt >= this.#idleGivesWayAfterMs)),
            )
            .sort((a, b) => a.lastActiveAt - b.lastActiveAt)[0];
          if (!idle) return;
          this.#end(idle, (requestId) => runtimeErrors.exited(requestId, 'the environment was reaped'));
        }
        this.#start(pool);
        starting += 1;
      }
    }
  }

  /** Invocations admitted and not answered yet: running in an environment, or waiting for one. */
  get inFlight(): number {
    let count = 0;
    for (const pool of this.#pools.values()) {
      count += pool.waiting.length;
      for (const environment of pool.environments) if (environment.current) count += 1;
    }
    return count;
  }

  /** Each function's environments and waiting invocations now, and its cold starts since start. */
  stats(): Record<string, FunctionPoolStats> {
    return Object.fromEntries(
      [...this.#pools.values()].map((pool) => [
        pool.name,
        {
          environments: pool.environments.size,
          busy: [...pool.environments].filter((environment) => environment.current).length,
          waiting: pool.waiting.length,
          coldStarts: pool.coldStarts,
          initMs: Math.round(pool.initMsTotal),
        },
      ]),
    );
  }

  /** Whether every environment answers pings; what each holds and how much heap it uses. */
  health(): LambdaHealth {
    const now = Date.now();
    const environments = [...this.#live()].map(
      (environment): EnvironmentReport => ({
        function: environment.pool.name,
        inFlight: environment.current ? 1 : 0,
        memoryMb: environment.pool.fn.limits.memoryMb,
        responsive:
          environment.pingSentAt === undefined || now - environment.pingSentAt <= this.#unresponsiveAfterMs,
        ...(environment.heapUsedBytes !== undefined
          ? { heapUsedMb: Math.round((environment.heapUsedBytes / 1048576) * 10) / 10 }
          : {}),
        ...(environment.heapCommittedBytes !== undefined
          ? { heapCommittedMb: Math.round((environment.heapCommittedBytes / 1048576) * 10) / 10 }
          : {}),
      }),
    );
    const stuck = [
      ...environments
        .filter((environment) => !environment.responsive)
        .map((environment) => environment.function),
      // An environment told to end that has not, long after, holds a thread stuck outside JavaScript.
      ...[...this.#retiring]
        .filter((environment) => now - (environment.retiredAt ?? now) > this.#unresponsiveAfterMs)
        .map((environment) => environment.pool.name),
    ];
    return { ok: stuck.length === 0, environments, stuck: [...new Set(stuck)] };
  }

  /** Starts an execution environment of a function now, unless it has one, and runs its init code, so that its errors surface. */
  async load(functionName: string): Promise<void> {
    const pool = this.#pool(functionName);
    const [existing] = pool.environments;
    await (existing ?? this.#start(pool)).initialized.promise;
  }

  /**
   * Invokes a function synchronously (`RequestResponse`): resolves with what the handler returned,
   * or rejects with a {@link LambdaInvocationError}; over the function's reserved concurrency, or the
   * account's unreserved concurrency, at once with a {@link LambdaThrottledError}. A caller with a
   * deadline ({@link InvokeOptions.maxWaitMs}) is throttled too when the pool cannot take its event
   * in time: at once when {@link LocalLambdaOptions.maxWaitingPerFunction} invocations already wait,
   * or once it has waited its `maxWaitMs`. The timeout runs from when an environment takes the
   * event; a cold start's init has its own limit.
   */
  invoke(functionName: string, event: unknown, options: InvokeOptions = {}): Promise<unknown> {
    let pool: FunctionPool;
    try {
      pool = this.#pool(functionName);
    } catch (error) {
      return Promise.reject(error);
    }
    const reserved = pool.fn.limits.reservedConcurrency;
    const running = this.#running.get(functionName) ?? 0;
    if (reserved !== undefined ? running >= reserved : this.#unreservedRunning >= this.#unreservedLimit)
      return this.#throttle(
        reserved !== undefined
          ? 'ReservedFunctionConcurrentInvocationLimitExceeded'
          : 'ConcurrentInvocationLimitExceeded',
      );
    const { maxWaitMs } = options;
    // The machine's concurrency is exhausted: the pool is Lambda's concurrency here.
    if (
      maxWaitMs !== undefined &&
      options.refuseWhenQueueFull !== false &&
      pool.waiting.length - this.#starting(pool) >= this.#maxWaiting
    )
      return this.#throttle('ConcurrentInvocationLimitExceeded');
    const count = (delta: number) => {
      this.#running.set(functionName, (this.#running.get(functionName) ?? 0) + delta);
      if (reserved === undefined) this.#unreservedRunning += delta;
    };
    count(1);
    const invocation = new Promise<unknown>((resolvePromise, reject) => {
      const waiting: Invocation = {
        requestId: randomUUID(),
        event,
        resolve: resolvePromise,
        reject,
        ...(options.onChunk ? { onChunk: options.onChunk } : {}),
      };
      pool.waiting.push(waiting);
      if (maxWaitMs !== undefined)
        waiting.waitTimer = setTimeout(() => this.#giveUpWaiting(pool, waiting), maxWaitMs).unref();
    });
    this.#pump();
    void invocation.then(
      () => count(-1),
      () => count(-1),
    );
    return invocation;
  }

  #throttle(reason: ThrottleReason): Promise<never> {
    this.#throttled += 1;
    return Promise.reject(new LambdaThrottledError(reason));
  }

  /** Environments of the function whose init is running: each will take one of the first waiting invocations. */
  #starting(pool: FunctionPool): number {
    let starting = 0;
    for (const environment of pool.environments) if (!environment.ready) starting += 1;
    return starting;
  }

  /** Throttles an invocation no environment took within its caller's patience, unless a cold start is under way for it. */
  #giveUpWaiting(pool: FunctionPool, invocation: Invocation): void {
    const index = pool.waiting.indexOf(invocation);
    // One of the first to wait has an environment starting for it: on Lambda its cold start is
    // part of its invocation, not a wait, so it is not throttled for it.
    if (index < 0 || index < this.#starting(pool)) return;
    pool.waiting.splice(index, 1);
    this.#throttled += 1;
    invocation.reject(new LambdaThrottledError('ConcurrentInvocationLimitExceeded'));
  }

  /**
   * Invokes a function as `InvokeWithResponseStream` does
   * (https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html): the body
   * carries what a streaming handler writes, as it writes it, with the reader's pace holding the
   * handler back; a function that does not stream answers its result as one chunk. The invocation
   * is admitted, throttled and timed as {@link invoke}'s; its failure, before or during the body,
   * destroys the body with the {@link LambdaInvocationError}.
   */
  invokeWithResponseStream(functionName: string, event: unknown, options: InvokeOptions = {}): Readable {
    return responseBody((onChunk) => this.invoke(functionName, event, { ...options, onChunk }));
  }

  /** Invocations refused with `TooManyRequestsException` since start. */
  get throttledCount(): number {
    return this.#throttled;
  }

  #dispatch(environment: Environment, invocation: Invocation): void {
    const id = this.#nextId++;
    this.#invocationIds.set(invocation, id);
    clearTimeout(invocation.waitTimer);
    environment.current = invocation;
    environment.lastActiveAt = Date.now();
    const { timeoutSeconds } = environment.pool.fn.limits;
    const deadlineMs = Date.now() + timeoutSeconds * 1000;
    invocation.timer = setTimeout(
      () => this.#timedOut(environment, invocation),
      timeoutSeconds * 1000,
    ).unref();
    invocation.dispatchedAt = performance.now();
    const request: EnvironmentRequest = {
      kind: 'invoke',
      id,
      requestId: invocation.requestId,
      deadlineMs,
      event: invocation.event,
    };
    try {
      environment.worker.postMessage(request);
    } catch (error) {
      environment.current = undefined;
      clearTimeout(invocation.timer);
      invocation.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const closed = () => new LambdaInvocationError('ServiceException', 'The local Lambda runtime is closed');
    const workers = [...this.#live(), ...this.#retiring].map((environment) => environment.worker);
    for (const pool of this.#pools.values()) {
      for (const waiting of pool.waiting.splice(0)) {
        clearTimeout(waiting.waitTimer);
        waiting.reject(closed());
      }
    }
    this.#retiring.clear();
    await Promise.all(workers.map((worker) => worker.terminate()));
    this.#pools.clear();
  }
}
