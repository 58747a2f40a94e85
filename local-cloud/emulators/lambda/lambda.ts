import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Meter } from '../shared/meter.ts';
import type { EnvironmentSpec } from './lambda-context.ts';
import type { EnvironmentReply, EnvironmentRequest } from './lambda-worker.ts';

/**
 * How long a function's init code may run. Lambda gives it 10 s on a core of its own
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib);
 * locally cold starts share two cores with the local cloud and with each other (each imports its
 * handler through tsx), so the bound is wider: it catches init code that never finishes.
 */
const INIT_TIMEOUT_MS = 30_000;

/** How long one invocation may run, how much memory it may take and how many may run at once, as Lambda enforces them. */
export interface FunctionLimits {
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** At most this many invocations at once; absent, the function shares the account's unreserved concurrency. */
  readonly reservedConcurrency?: number;
}

/** Lambda's default concurrency quota of an account in a Region (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/** A function the runtime can run: its handler module and its limits. */
export interface LocalFunction {
  /** Handler module, relative to `rootDir`; it exports `handler`. */
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
   * minutes by default: each environment holds about 45-55 MB of the process's resident memory).
   */
  readonly idleTimeoutMs?: number;
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
  initTimedOut: (requestId: string) =>
    new LambdaInvocationError(
      'Sandbox.Timedout',
      `RequestId: ${requestId} Error: Task timed out after ${(INIT_TIMEOUT_MS / 1000).toFixed(2)} seconds`,
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
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** Ends the invocation at its deadline; set once the environment is ready and the event handed over. */
  timer?: NodeJS.Timeout;
  /** When the event was handed over (`performance.now()`), for the meter. */
  dispatchedAt?: number;
}

/** One execution environment: a worker thread for one function, running its invocations. */
interface Environment {
  readonly functionName: string;
  readonly worker: Worker;
  readonly limits: FunctionLimits;
  readonly invocations: Map<number, Invocation>;
  /** Whether its init code has run; invocations wait for it. */
  ready: boolean;
  /** Invocations waiting for init, handed over in order once it has run. */
  readonly waiting: { id: number; event: unknown }[];
  readonly initTimer: NodeJS.Timeout;
  lastActiveAt: number;
  /** When the ping still unanswered was sent. */
  pingSentAt?: number;
  heapUsedBytes?: number;
  /** When the runtime decided to end it (timeout, out of memory, reaped); it takes no new invocations from then on. */
  retiredAt?: number;
}

/** What the runtime reports of one environment. */
export interface EnvironmentReport {
  readonly function: string;
  readonly inFlight: number;
  /** JavaScript heap in use at the last ping (MB), against the function's memory. */
  readonly heapUsedMb?: number;
  readonly memoryMb: number;
  readonly responsive: boolean;
}

export interface LambdaHealth {
  readonly ok: boolean;
  readonly environments: readonly EnvironmentReport[];
  /** Functions with an environment that does not answer pings, or is past ending. */
  readonly stuck: readonly string[];
}

/**
 * Runs handlers as Lambda does, off the local cloud's thread: each function gets its own execution
 * environment (a worker thread) when it is first invoked, which imports the handler module once and
 * then runs invocations with a fresh context. Lambda's limits hold: an invocation that outruns its
 * function's timeout fails with `Sandbox.Timedout` and its environment is ended (a runaway loop
 * cannot stall other functions, which run in threads of their own); an environment's heap is
 * bounded by the function's memory, and one that runs out fails its invocations with
 * `Runtime.OutOfMemory`. The next invocation starts a fresh environment; idle ones are reaped.
 *
 * Unlike Lambda, one environment runs a function's concurrent invocations together (as Lambda
 * Managed Instances do, https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-execution-environment.html):
 * one thread per function keeps memory and the cores' contention with the local cloud's own thread
 * low, and handlers mostly wait on I/O. An environment that is ended takes its other in-flight
 * invocations with it (`Runtime.ExitError`); callers treat that as any failed invocation.
 */
export class LocalLambda {
  readonly #functions: ReadonlyMap<string, LocalFunction>;
  readonly #rootDir: string;
  readonly #functionArn: (name: string) => string;
  readonly #environments = new Map<string, Environment>();
  /** Environments being ended, until their thread has exited. */
  readonly #retiring = new Set<Environment>();
  readonly #idleTimeoutMs: number;
  readonly #unresponsiveAfterMs: number;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onLog: ((line: string) => void) | undefined;
  /** Invocations running now, by function, and those of functions without reserved concurrency together. */
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

  #start(functionName: string): Environment {
    if (this.#closed)
      throw new LambdaInvocationError('ServiceException', 'The local Lambda runtime is closed');
    const existing = this.#environments.get(functionName);
    if (existing) return existing;
    const fn = this.#functions.get(functionName);
    if (!fn) {
      throw new LambdaInvocationError('ResourceNotFoundException', `Function not found: ${functionName}`);
    }
    const spec: EnvironmentSpec = {
      functionName,
      functionArn: this.#functionArn(functionName),
      entry: pathToFileURL(resolve(this.#rootDir, fn.entry)).href,
      memoryMb: fn.limits.memoryMb,
    };
    const tsx = import.meta.resolve('tsx/esm/api');
    const runtime = pathToFileURL(resolve(import.meta.dirname, 'lambda-worker.ts')).href;
    const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(runtime)});`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
      workerData: spec,
      // Lambda's environment variables, fixed when the environment starts
      // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
      env: {
        ...process.env,
        AWS_LAMBDA_FUNCTION_NAME: spec.functionArn.slice(spec.functionArn.lastIndexOf(':') + 1),
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.limits.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      },
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: fn.limits.memoryMb },
      stdout: this.#onLog !== undefined,
      stderr: this.#onLog !== undefined,
    });
    const onLog = this.#onLog;
    if (onLog)
      for (const output of [worker.stdout, worker.stderr])
        createInterface({ input: output }).on('line', onLog);
    const environment: Environment = {
      functionName,
      worker,
      limits: fn.limits,
      invocations: new Map(),
      ready: false,
      waiting: [],
      initTimer: setTimeout(
        () => this.#end(environment, (requestId) => runtimeErrors.initTimedOut(requestId)),
        INIT_TIMEOUT_MS,
      ).unref(),
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
    this.#environments.set(functionName, environment);
    return environment;
  }

  #answer(environment: Environment, reply: EnvironmentReply): void {
    if (reply.kind === 'ready') {
      clearTimeout(environment.initTimer);
      environment.ready = true;
      for (const { id, event } of environment.waiting.splice(0)) this.#dispatch(environment, id, event);
      return;
    }
    if (reply.kind === 'init-error') {
      this.#end(environment, () => new LambdaInvocationError(reply.errorType, reply.errorMessage, true));
      return;
    }
    if (reply.kind === 'pong') {
      environment.pingSentAt = undefined;
      environment.heapUsedBytes = reply.heapUsedBytes;
      return;
    }
    const invocation = environment.invocations.get(reply.id);
    if (!invocation) return;
    environment.invocations.delete(reply.id);
    environment.lastActiveAt = Date.now();
    clearTimeout(invocation.timer);
    if (this.#meter && invocation.dispatchedAt !== undefined) {
      const ms = Math.max(1, Math.ceil(performance.now() - invocation.dispatchedAt));
      this.#meter.add(`lambda/invocations/${environment.functionName}`);
      this.#meter.add(`lambda/ms/${environment.functionName}`, ms);
      this.#meter.add('lambda/gbSeconds', (ms / 1000) * (environment.limits.memoryMb / 1024));
    }
    if (reply.kind === 'result') invocation.resolve(reply.value);
    else invocation.reject(new LambdaInvocationError(reply.errorType, reply.errorMessage));
  }

  /**
   * Ends an environment: it takes no more invocations, the ones in flight fail with `errorOf`,
   * and its thread is terminated (which interrupts even a loop that never yields).
   */
  #end(environment: Environment, errorOf: (requestId: string) => LambdaInvocationError): void {
    if (this.#environments.get(environment.functionName) === environment) {
      this.#environments.delete(environment.functionName);
    }
    clearTimeout(environment.initTimer);
    environment.waiting.length = 0;
    for (const invocation of environment.invocations.values()) {
      clearTimeout(invocation.timer);
      invocation.reject(errorOf(invocation.requestId));
    }
    environment.invocations.clear();
    if (environment.retiredAt === undefined) {
      environment.retiredAt = Date.now();
      this.#retiring.add(environment);
      void environment.worker.terminate();
    }
  }

  #timedOut(environment: Environment, id: number): void {
    const invocation = environment.invocations.get(id);
    if (!invocation) return;
    environment.invocations.delete(id);
    invocation.reject(runtimeErrors.timedOut(invocation.requestId, environment.limits.timeoutSeconds));
    this.#end(environment, (requestId) =>
      runtimeErrors.exited(requestId, 'the environment was reset after a timeout'),
    );
  }

  #beat(): void {
    const now = Date.now();
    for (const environment of this.#environments.values()) {
      if (environment.invocations.size === 0 && now - environment.lastActiveAt > this.#idleTimeoutMs) {
        this.#end(environment, (requestId) => runtimeErrors.exited(requestId, 'the environment was reaped'));
        continue;
      }
      if (environment.pingSentAt !== undefined) continue;
      environment.pingSentAt = now;
      const ping: EnvironmentRequest = { kind: 'ping', id: this.#nextId++ };
      environment.worker.postMessage(ping);
    }
  }

  /** Invocations sent and not answered yet. */
  get inFlight(): number {
    let count = 0;
    for (const environment of this.#environments.values()) count += environment.invocations.size;
    return count;
  }

  /** Whether every environment answers pings; what each holds and how much heap it uses. */
  health(): LambdaHealth {
    const now = Date.now();
    const environments = [...this.#environments.values()].map(
      (environment): EnvironmentReport => ({
        function: environment.functionName,
        inFlight: environment.invocations.size,
        memoryMb: environment.limits.memoryMb,
        responsive:
          environment.pingSentAt === undefined || now - environment.pingSentAt <= this.#unresponsiveAfterMs,
        ...(environment.heapUsedBytes !== undefined
          ? { heapUsedMb: Math.round((environment.heapUsedBytes / 1048576) * 10) / 10 }
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
        .map((environment) => environment.functionName),
    ];
    return { ok: stuck.length === 0, environments, stuck };
  }

  /** Starts a function's execution environment now and runs its init code, so that its errors surface. */
  async load(functionName: string): Promise<void> {
    const environment = this.#start(functionName);
    if (environment.ready) return;
    await new Promise<void>((resolvePromise, reject) => {
      const id = this.#nextId++;
      environment.invocations.set(id, { requestId: randomUUID(), resolve: () => resolvePromise(), reject });
      const onReady = (reply: EnvironmentReply) => {
        if (reply.kind !== 'ready') return;
        environment.worker.off('message', onReady);
        environment.invocations.delete(id);
        resolvePromise();
      };
      environment.worker.on('message', onReady);
    });
  }

  /**
   * Invokes a function synchronously (`RequestResponse`): resolves with what the handler returned,
   * or rejects with a {@link LambdaInvocationError}; over the function's reserved concurrency, or the
   * account's unreserved concurrency, at once with a {@link LambdaThrottledError}. The timeout runs from when the event is handed
   * to a ready environment; a cold start's init has its own limit.
   */
  invoke(functionName: string, event: unknown): Promise<unknown> {
    const reserved = this.#functions.get(functionName)?.limits.reservedConcurrency;
    const running = this.#running.get(functionName) ?? 0;
    if (reserved !== undefined ? running >= reserved : this.#unreservedRunning >= this.#unreservedLimit) {
      this.#throttled += 1;
      return Promise.reject(
        new LambdaThrottledError(
          reserved !== undefined
            ? 'ReservedFunctionConcurrentInvocationLimitExceeded'
            : 'ConcurrentInvocationLimitExceeded',
        ),
      );
    }
    const count = (delta: number) => {
      this.#running.set(functionName, (this.#running.get(functionName) ?? 0) + delta);
      if (reserved === undefined) this.#unreservedRunning += delta;
    };
    count(1);
    const invocation = this.#run(functionName, event);
    void invocation.then(
      () => count(-1),
      () => count(-1),
    );
    return invocation;
  }

  /** Invocations refused with `TooManyRequestsException` since start. */
  get throttledCount(): number {
    return this.#throttled;
  }

  #run(functionName: string, event: unknown): Promise<unknown> {
    let environment: Environment;
    try {
      environment = this.#start(functionName);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#nextId++;
    return new Promise((resolvePromise, reject) => {
      environment.invocations.set(id, { requestId: randomUUID(), resolve: resolvePromise, reject });
      environment.lastActiveAt = Date.now();
      if (environment.ready) this.#dispatch(environment, id, event);
      else environment.waiting.push({ id, event });
    });
  }

  #dispatch(environment: Environment, id: number, event: unknown): void {
    const invocation = environment.invocations.get(id);
    if (!invocation) return;
    const deadlineMs = Date.now() + environment.limits.timeoutSeconds * 1000;
    invocation.timer = setTimeout(() => this.#timedOut(environment, id), deadlineMs - Date.now()).unref();
    invocation.dispatchedAt = performance.now();
    const request: EnvironmentRequest = {
      kind: 'invoke',
      id,
      requestId: invocation.requestId,
      deadlineMs,
      event,
    };
    try {
      environment.worker.postMessage(request);
    } catch (error) {
      environment.invocations.delete(id);
      clearTimeout(invocation.timer);
      invocation.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const workers = [...this.#environments.values(), ...this.#retiring].map(
      (environment) => environment.worker,
    );
    this.#environments.clear();
    this.#retiring.clear();
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
