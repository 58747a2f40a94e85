/**
 * One execution environment of the local Lambda runtime: a worker thread that belongs to one
 * function, imports its handler module once (init code, SDK clients and environment reads run
 * once, as in a Lambda execution environment) and runs the invocations the main thread sends it.
 * It answers pings between invocations, so the runtime can tell a busy environment from a stuck one.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { contextFor, type EnvironmentSpec, type LambdaHandler } from './lambda-context.ts';

interface Work {
  readonly id: number;
  readonly requestId: string;
  readonly deadlineMs: number;
}

/** A message from the runtime: an invocation, or a ping. */
export type EnvironmentRequest =
  | (Work & { readonly kind: 'invoke'; readonly event: unknown })
  | { readonly kind: 'ping'; readonly id: number };

/**
 * What the environment tells the runtime: that its init code ran (or failed), an invocation's
 * result or error payload, or a pong with its heap.
 */
export type EnvironmentReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'init-error'; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'result'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'error'; readonly id: number; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'pong'; readonly id: number; readonly heapUsedBytes: number };

const isEnvironmentSpec = (value: unknown): value is EnvironmentSpec =>
  typeof value === 'object' &&
  value !== null &&
  'functionName' in value &&
  typeof value.functionName === 'string' &&
  'functionArn' in value &&
  typeof value.functionArn === 'string' &&
  'entry' in value &&
  typeof value.entry === 'string' &&
  'memoryMb' in value &&
  typeof value.memoryMb === 'number';

if (!isEnvironmentSpec(workerData))
  throw new Error('The Lambda worker needs an EnvironmentSpec as workerData');
const spec: EnvironmentSpec = workerData;

const isHandler = (value: unknown): value is LambdaHandler => typeof value === 'function';

const reply = (message: EnvironmentReply) => parentPort?.postMessage(message);

/** The init phase: the handler module is imported once, before the first invocation is handed over. */
const loaded: Promise<LambdaHandler> = import(spec.entry).then((module: { handler?: unknown }) => {
  if (!isHandler(module.handler)) throw new Error(`${spec.entry} exports no handler`);
  return module.handler;
});
loaded.then(
  () => reply({ kind: 'ready' }),
  (error: unknown) => {
    const failure = error instanceof Error ? error : new Error(String(error));
    reply({ kind: 'init-error', errorType: failure.name, errorMessage: failure.message });
  },
);

parentPort?.on('message', (request: EnvironmentRequest) => {
  if (request.kind === 'ping') {
    reply({ kind: 'pong', id: request.id, heapUsedBytes: getHeapStatistics().used_heap_size });
    return;
  }
  void (async () => {
    try {
      const run = await loaded;
      const value = await run(request.event, contextFor(spec, request.requestId, request.deadlineMs));
      reply({ kind: 'result', id: request.id, value });
    } catch (error) {
      // The Node.js runtime reports a function error as its name and message
      // (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html).
      const failure = error instanceof Error ? error : new Error(String(error));
      reply({ kind: 'error', id: request.id, errorType: failure.name, errorMessage: failure.message });
    }
  })();
});
