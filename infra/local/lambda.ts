import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { type FunctionName, functions } from '../api.ts';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

const repoRoot = resolve(import.meta.dirname, '../..');

/**
 * Runs handlers in-process, as Lambda would: each module is imported once (its init code, SDK
 * clients and environment reads run once), then invoked per event with a fresh context.
 */
export class LocalLambda {
  readonly #loaded = new Map<FunctionName, Promise<LambdaHandler>>();

  load(name: FunctionName): Promise<LambdaHandler> {
    let loaded = this.#loaded.get(name);
    if (!loaded) {
      const entry = resolve(repoRoot, functions[name].entry);
      loaded = import(entry).then((module: { handler?: unknown }) => {
        if (typeof module.handler !== 'function')
          throw new Error(`${functions[name].entry} exports no handler`);
        return module.handler as LambdaHandler;
      });
      this.#loaded.set(name, loaded);
    }
    return loaded;
  }

  async invoke(name: FunctionName, event: unknown): Promise<unknown> {
    const handler = await this.load(name);
    return handler(event, contextFor(name));
  }
}

const contextFor = (name: FunctionName): Context => {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `sensorbus-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:sensorbus-${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/sensorbus-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, 30_000 - (Date.now() - started)),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
};
