import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
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

export interface LocalLambdaOptions {
  /**
   * Receives each line the handlers write to stdout or stderr (Lambda sends them to CloudWatch
   * Logs); when absent they go to this process's own stdout and stderr.
   */
  readonly onLog?: (line: string) => void;
}

/**
 * Runs handlers as Lambda would, off the local cloud's thread: each module is imported once in a
 * worker thread (its init code, SDK clients and environment reads run once), then invoked per
 * event with a fresh context. The worker shares this process's environment, which is how handlers
 * receive table names and `AWS_ENDPOINT_URL`.
 */
export class LocalLambda {
  readonly #onLog: ((line: string) => void) | undefined;
  #worker: Worker | undefined;
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  #nextId = 0;

  constructor(options: LocalLambdaOptions = {}) {
    this.#onLog = options.onLog;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = pathToFileURL(resolve(import.meta.dirname, 'lambda-worker.ts')).href;
    const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
      env: SHARE_ENV,
      execArgv: [],
      stdout: this.#onLog !== undefined,
      stderr: this.#onLog !== undefined,
    });
    const onLog = this.#onLog;
    if (onLog)
      for (const output of [worker.stdout, worker.stderr])
        createInterface({ input: output }).on('line', onLog);
    worker.on('message', (reply: Reply) => {
      const waiting = this.#pending.get(reply.id);
      if (!waiting) return;
      this.#pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.value);
      else
        waiting.reject(
          Object.assign(new Error(reply.error?.message ?? 'Lambda failed'), {
            name: reply.error?.name ?? 'Error',
          }),
        );
    });
    // A crashed runtime fails what it was running; the next invocation starts a fresh one, as
    // Lambda replaces an execution environment.
    worker.on('error', (error) => this.#failAll(error));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#failAll(new Error(`The local Lambda runtime exited with code ${code}`));
    });
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #failAll(error: Error): void {
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }

  #send(kind: 'load' | 'invoke', name: FunctionName, event?: unknown): Promise<unknown> {
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolvePromise, reject) => {
      this.#pending.set(id, { resolve: resolvePromise, reject });
      const entry = pathToFileURL(resolve(repoRoot, functions[name].entry)).href;
      try {
        worker.postMessage({ id, kind, name, entry, event });
      } catch (error) {
        this.#pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Invocations sent and not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Imports a function's module now, so that its init errors surface at start-up. */
  async load(name: FunctionName): Promise<void> {
    await this.#send('load', name);
  }

  invoke(name: FunctionName, event: unknown): Promise<unknown> {
    return this.#send('invoke', name, event);
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }
}
