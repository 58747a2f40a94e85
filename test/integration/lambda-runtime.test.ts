import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaInvocationError, LocalLambda } from '../../local-cloud/emulators/lambda/lambda.ts';
import { waitFor } from '../support/local-cloud.ts';

const entry = 'test/support/misbehaving-handler.ts';
const rootDir = join(import.meta.dirname, '../..');
const functionArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/** The functions run the same module; each has its own limits and so its own environments. */
const functions = {
  runaway: { entry, limits: { timeoutSeconds: 1, memoryMb: 512 } },
  bystander: { entry, limits: { timeoutSeconds: 30, memoryMb: 512 } },
  hungry: { entry, limits: { timeoutSeconds: 30, memoryMb: 48 } },
};

const failureOf = async (pending: Promise<unknown>): Promise<LambdaInvocationError> => {
  const error = await pending.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof LambdaInvocationError))
    throw new Error(`expected a LambdaInvocationError, got ${error}`);
  return error;
};

describe('local Lambda runtime limits', () => {
  let lambda: LocalLambda;

  beforeAll(async () => {
    lambda = new LocalLambda({
      functions,
      rootDir,
      functionArn,
      heartbeatIntervalMs: 100,
      unresponsiveAfterMs: 500,
    });
    await Promise.all([lambda.load('runaway'), lambda.load('bystander')]);
  });
  afterAll(async () => {
    await lambda.close();
  });

  it('ends a function that loops forever with Sandbox.Timedout while other functions keep answering, then replaces its environment', async () => {
    const order: string[] = [];
    const runaway = failureOf(lambda.invoke('runaway', { action: 'loop' })).then((error) => {
      order.push('runaway ended');
      return error;
    });

    await waitFor(
      () => lambda.health().stuck.includes('runaway'),
      'the looping environment to miss its pings',
    );
    const answers = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const value = await lambda.invoke('bystander', { n });
        order.push(`bystander ${n}`);
        return value;
      }),
    );
    expect(lambda.health().ok).toBe(false);

    const error = await runaway;
    expect(answers).toEqual([1, 2, 3].map((n) => ({ echoed: { n } })));
    expect(order).toEqual(['bystander 1', 'bystander 2', 'bystander 3', 'runaway ended']);
    expect(error.name).toBe('Sandbox.Timedout');
    expect(error.unhandled).toBe(true);
    expect(error.message).toMatch(/^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/);

    expect(await lambda.invoke('runaway', { action: 'echo' })).toEqual({ echoed: { action: 'echo' } });
    await waitFor(() => lambda.health().ok, 'the runtime to be healthy again');
  });

  it('fails an invocation that exhausts its memory with Runtime.OutOfMemory, and the next one runs in a fresh environment', async () => {
    const error = await failureOf(lambda.invoke('hungry', { action: 'allocate' }));

    expect(error.name).toBe('Runtime.OutOfMemory');
    expect(error.message).toMatch(
      /^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$/,
    );
    expect(await lambda.invoke('hungry', { action: 'echo' })).toEqual({ echoed: { action: 'echo' } });
  });

  it("reports a handler's own error by its name, as Lambda's errorType, and an unknown function as ResourceNotFoundException", async () => {
    const thrown = await failureOf(lambda.invoke('bystander', { action: 'throw' }));
    const unknown = await failureOf(lambda.invoke('nothing-here', {}));

    expect([thrown.name, thrown.message, thrown.unhandled]).toEqual([
      'DeviceNotFound',
      'No such device',
      false,
    ]);
    expect(unknown.name).toBe('ResourceNotFoundException');
  });

  it('reaps an idle environment and starts a fresh one on the next invocation', async () => {
    const reaping = new LocalLambda({
      functions,
      rootDir,
      functionArn,
      heartbeatIntervalMs: 50,
      idleTimeoutMs: 200,
    });
    try {
      await reaping.invoke('bystander', { first: true });
      expect(reaping.health().environments.map((e) => e.function)).toEqual(['bystander']);

      await waitFor(() => reaping.health().environments.length === 0, 'the idle environment to be reaped');
      expect(await reaping.invoke('bystander', { second: true })).toEqual({ echoed: { second: true } });
    } finally {
      await reaping.close();
    }
  });
});
