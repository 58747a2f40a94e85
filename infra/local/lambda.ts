import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { type FunctionName, functions } from '../api.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { name: string; message: string };
}

type Waiting = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/** One execution environment: a worker thread and the invocations it is running. */
interface Environment {
  readonly worker: Worker;
  readonly pending: Map<number, Waiting>;
}

export interface LocalLambdaOptions {
  /**
   * At most this many execution environments (worker threads) run at once; by default one per
   * core, at least two, so a busy handler never stalls the others.
   */
  readonly maxEnvironments?: number;
}

/**
 * Runs handlers as Lambda would, off the local cloud's thread, in execution environments: worker
 * threads that each import a handler module once, on its first invocation there (its init code,
 * SDK clients and environment reads run once per environment), then run invocations with a fresh
 * context. As Lambda scales out when every environment is busy, an invocation that finds every
 * worker running another starts a new one, up to `maxEnvironments`; otherwise it goes to the
 * least busy. Workers share this process's environment, which is how handlers receive table names
 * and `AWS_ENDPOINT_URL`.
 */
export class LocalLambda {
  readonly #environments: Environment[] = [];
  readonly #maxEnvironments: number;
  #nextId = 0;

  constructor(options: LocalLambdaOptions = {}) {
    this.#maxEnvironments = Math.max(1, options.maxEnvironments ?? Math.max(2, availableParallelism()));
  }

  /** Environments running now. */
  get environments(): number {
    return this.#environments.length;
  }

  #startEnvironment(): Environment {
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = pathToFileURL(resolve(import.meta.dirname, 'lambda-worker.ts')).href;
    const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
      env: SHARE_ENV,
      execArgv: [],
    });
    const environment: Environment = { worker, pending: new Map() };
    worker.on('message', (reply: Reply) => {
      const waiting = environment.pending.get(reply.id);
      if (!waiting) return;
      environment.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.value);
      else
        waiting.reject(
          Object.assign(new Error(reply.error?.message ?? 'Lambda failed'), {
            name: reply.error?.name ?? 'Error',
          }),
        );
    });
    // A crashed runtime fails what it was running; later invocations go to the other environments
    // or a fresh one, as Lambda replaces an execution environment.
    const fail = (error: Error) => {
      const index = this.#environments.indexOf(environment);
      if (index >= 0) this.#environments.splice(index, 1);
      for (const waiting of environment.pending.values()) waiting.reject(error);
      environment.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The local Lambda runtime exited with code ${code}`)));
    worker.unref();
    this.#environments.push(environment);
    return environment;
  }

  /** An idle environment, else a new one while there is room, else the least busy. */
  #environmentFor(): Environment {
    let leastBusy: Environment | undefined;
    for (const environment of this.#environments) {
      if (environment.pending.size === 0) return environment;
      if (!leastBusy || environment.pending.size < leastBusy.pending.size) leastBusy = environment;
    }
    if (!leastBusy || this.#environments.length < this.#maxEnvironments) return this.#startEnvironment();
    return leastBusy;
  }

  #send(
    environment: Environment,
    kind: 'load' | 'invoke',
    name: FunctionName,
    event?: unknown,
  ): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolvePromise, reject) => {
      environment.pending.set(id, { resolve: resolvePromise, reject });
      const entry = pathToFileURL(resolve(repoRoot, functions[name].entry)).href;
      try {
        environment.worker.postMessage({ id, kind, name, entry, event });
      } catch (error) {
        environment.pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Imports a function's module now, so that its init errors surface at start-up. */
  async load(name: FunctionName): Promise<void> {
    await this.#send(this.#environments[0] ?? this.#startEnvironment(), 'load', name);
  }

  invoke(name: FunctionName, event: unknown): Promise<unknown> {
    return this.#send(this.#environmentFor(), 'invoke', name, event);
  }

  async close(): Promise<void> {
    const environments = this.#environments.splice(0);
    await Promise.all(environments.map((environment) => environment.worker.terminate()));
  }
}
