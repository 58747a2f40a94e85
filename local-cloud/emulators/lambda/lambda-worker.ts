/**
 * One execution environment of the local Lambda runtime: a worker thread that belongs to one
 * function, imports its handler module (the function's bundle, plain JavaScript) once (init code, SDK clients and environment reads run
 * once, as in a Lambda execution environment) and runs the invocations the main thread sends it.
 * It answers pings between invocations, so the runtime can tell a busy environment from a stuck one.
 */

import { finished } from 'node:stream/promises';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import { contextFor, type EnvironmentSpec, type LambdaHandler } from './lambda-context.ts';
import {
  installAwsLambdaGlobal,
  isStreamingHandler,
  type StreamingHandler,
  workerResponseStream,
} from './response-streaming.ts';

interface Work {
  readonly id: number;
  readonly requestId: string;
  readonly deadlineMs: number;
}

/**
 * A message from the runtime: an invocation, a ping, or word that the caller took (or will never
 * take) the chunk a streaming invocation sent last.
 */
export type EnvironmentRequest =
  | (Work & { readonly kind: 'invoke'; readonly event: unknown })
  | { readonly kind: 'ping'; readonly id: number }
  | { readonly kind: 'chunk-taken'; readonly id: number; readonly outcome: 'taken' | 'closed' };

/**
 * What the environment tells the runtime: that its init code ran (or failed), an invocation's
 * result or error payload, or a pong with its heap.
 */
export type EnvironmentReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'init-error'; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'result'; readonly id: number; readonly value: unknown; readonly streamed?: true }
  | { readonly kind: 'chunk'; readonly id: number; readonly data: Uint8Array }
  | { readonly kind: 'error'; readonly id: number; readonly errorType: string; readonly errorMessage: string }
  | {
      readonly kind: 'pong';
      readonly id: number;
      readonly heapUsedBytes: number;
      /** The heap's pages in memory (V8's physical size), used or not: what the environment's heap holds of the process's resident memory. */
      readonly heapCommittedBytes: number;
    };

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

const isHandler = (value: unknown): value is LambdaHandler | StreamingHandler => typeof value === 'function';

const reply = (message: EnvironmentReply) => parentPort?.postMessage(message);

installAwsLambdaGlobal();

/**
 * Stack traces name the function's sources, read through the source map beside its bundle: a
 * handler's error logged locally points at the TypeScript line. It costs each cold start about
 * 8 ms and 0.6 MB of heap (the map is read with the bundle), and the environment's first stack
 * trace through the map 35-50 ms and about 7 MB (its mappings decoded, then kept).
 */
process.setSourceMapsEnabled(true);

/** The init phase: the handler module is imported once, before the first invocation is handed over. */
const loaded: Promise<LambdaHandler | StreamingHandler> = import(spec.entry).then(
  (module: { handler?: unknown }) => {
    if (!isHandler(module.handler)) throw new Error(`${spec.entry} exports no handler`);
    return module.handler;
  },
);
loaded.then(
  () => reply({ kind: 'ready' }),
  (error: unknown) => {
    const failure = error instanceof Error ? error : new Error(String(error));
    reply({ kind: 'init-error', errorType: failure.name, errorMessage: failure.message });
  },
);

/** The streaming invocation's chunk in flight, waiting for the runtime to say the caller took it. */
const chunksInFlight = new Map<number, (outcome: 'taken' | 'closed') => void>();

/**
 * Runs a streaming handler: its chunks go to the runtime one at a time, and the invocation ends
 * once the handler returned and its stream finished (ended here if the handler left it open).
 */
const stream = async (run: StreamingHandler, id: number, event: unknown, context: Context): Promise<void> => {
  const responseStream = workerResponseStream(
    (data) =>
      new Promise((resolve) => {
        chunksInFlight.set(id, resolve);
        reply({ kind: 'chunk', id, data });
      }),
  );
  try {
    await run(event, responseStream, context);
    if (!responseStream.writableEnded) responseStream.end();
    await finished(responseStream);
  } finally {
    chunksInFlight.delete(id);
  }
  reply({ kind: 'result', id, value: null, streamed: true });
};

parentPort?.on('message', (request: EnvironmentRequest) => {
  if (request.kind === 'ping') {
    const heap = getHeapStatistics();
    reply({
      kind: 'pong',
      id: request.id,
      heapUsedBytes: heap.used_heap_size,
      heapCommittedBytes: heap.total_physical_size,
    });
    return;
  }
  if (request.kind === 'chunk-taken') {
    const settle = chunksInFlight.get(request.id);
    chunksInFlight.delete(request.id);
    settle?.(request.outcome);
    return;
  }
  void (async () => {
    try {
      const run = await loaded;
      const context = contextFor(spec, request.requestId, request.deadlineMs);
      if (isStreamingHandler(run)) return await stream(run, request.id, request.event, context);
      const value = await run(request.event, context);
      reply({ kind: 'result', id: request.id, value });
    } catch (error) {
      // The Node.js runtime reports a function error as its name and message
      // (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html).
      const failure = error instanceof Error ? error : new Error(String(error));
      reply({ kind: 'error', id: request.id, errorType: failure.name, errorMessage: failure.message });
    }
  })();
});
