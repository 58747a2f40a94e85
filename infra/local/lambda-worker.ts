/**
 * The local Lambda runtime: a worker thread that imports each handler module once (its init code
 * runs once, as in a Lambda execution environment) and runs invocations sent by the main thread,
 * so handler code and its SDK clients do not compete with the local cloud's services for a core.
 */
import { parentPort } from 'node:worker_threads';
import { contextFor, type LambdaHandler } from './lambda-context.ts';

interface Request {
  readonly id: number;
  readonly kind: 'load' | 'invoke';
  readonly name: string;
  readonly entry: string;
  readonly event?: unknown;
}

const handlers = new Map<string, Promise<LambdaHandler>>();

const load = (name: string, entry: string): Promise<LambdaHandler> => {
  let loaded = handlers.get(name);
  if (!loaded) {
    loaded = import(entry).then((module: { handler?: unknown }) => {
      if (typeof module.handler !== 'function') throw new Error(`${entry} exports no handler`);
      return module.handler as LambdaHandler;
    });
    handlers.set(name, loaded);
  }
  return loaded;
};

parentPort?.on('message', (request: Request) => {
  void (async () => {
    try {
      const handler = await load(request.name, request.entry);
      const value =
        request.kind === 'invoke' ? await handler(request.event, contextFor(request.name)) : undefined;
      parentPort?.postMessage({ id: request.id, ok: true, value });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      parentPort?.postMessage({
        id: request.id,
        ok: false,
        error: { name: failure.name, message: failure.message },
      });
    }
  })();
});
