import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunctions } from '../../local-cloud/emulators/lambda/function-builds.ts';
import {
  ENVIRONMENT_YOUNG_GENERATION_MB,
  LambdaInvocationError,
  LambdaThrottledError,
  LocalLambda,
  type LocalLambdaOptions,
} from '../../local-cloud/emulators/lambda/lambda.ts';
import { waitFor } from '../support/local-cloud.ts';

const rootDir = join(import.meta.dirname, '../..');
/** The runtime runs JavaScript, as Lambda runs a deployment package: the handler's bundle. */
const { files } = await buildFunctions({
  rootDir,
  entries: { misbehaving: 'test/support/misbehaving-handler.ts' },
  esbuild: { bundle: true, platform: 'node', format: 'esm', sourcemap: true, logLevel: 'error' },
  cacheDir: join(rootDir, '.sensorbus', 'functions'),
});
const entry = files.misbehaving ?? '';
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

  it("names the handler's TypeScript source in a stack trace, read through its bundle's source map", async () => {
    const answer = (await lambda.invoke('bystander', { action: 'stack' })) as { stack?: string };

    expect(answer.stack).toMatch(/test\/support\/misbehaving-handler\.ts:\d+:\d+/);
    expect(answer.stack).not.toMatch(/misbehaving\.mjs/);
  });

  it("bounds an environment's young generation, so busy environments do not each hold tens of MB of it", async () => {
    const answer = (await lambda.invoke('bystander', { action: 'churn' })) as { newSpaceBytes: number };

    expect(answer.newSpaceBytes).toBeGreaterThan(0);
    expect(answer.newSpaceBytes).toBeLessThanOrEqual(ENVIRONMENT_YOUNG_GENERATION_MB * 2 ** 20);
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

describe('local Lambda execution environments', () => {
  let dir: string;
  const runtimes: LocalLambda[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sensorbus-lambda-pool-'));
  });
  afterAll(async () => {
    await Promise.all(runtimes.map((runtime) => runtime.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const runtime = (options: Partial<LocalLambdaOptions>) => {
    const started = new LocalLambda({
      functions,
      rootDir,
      functionArn,
      heartbeatIntervalMs: 100,
      ...options,
    });
    runtimes.push(started);
    return started;
  };
  /** A gate that held invocations wait on, opened by the test. */
  const gate = (name: string) => {
    const file = join(dir, name);
    return { hold: { action: 'hold', until: file }, open: () => writeFileSync(file, '') };
  };
  const environmentOf = (answer: unknown): unknown =>
    typeof answer === 'object' && answer !== null && 'environment' in answer ? answer.environment : undefined;

  it('runs concurrent invocations each in an environment of its own, starting one (a cold start) per invocation that finds the others busy', async () => {
    const lambda = runtime({ maxEnvironmentsPerFunction: 4 });
    const { hold, open } = gate('concurrent');

    const held = [1, 2, 3].map(() => lambda.invoke('bystander', hold));
    await waitFor(() => lambda.stats().bystander?.busy === 3, 'three invocations running');
    const whileHeld = lambda.stats().bystander;
    open();
    const environments = new Set((await Promise.all(held)).map(environmentOf));
    for (const n of [1, 2, 3]) await lambda.invoke('bystander', { n });

    expect(whileHeld).toMatchObject({ environments: 3, busy: 3, waiting: 0 });
    expect(environments.size).toBe(3);
    expect(lambda.stats().bystander).toMatchObject({ environments: 3, coldStarts: 3, busy: 0 });
  });

  it('keeps within the pool bound: invocations past it wait for a free environment, and their timeout runs only once one takes them', async () => {
    // runaway times out after 1 s; the echo waits behind the loop longer than that and still answers.
    const lambda = runtime({ maxEnvironmentsPerFunction: 1 });
    await lambda.load('runaway');

    const looping = failureOf(lambda.invoke('runaway', { action: 'loop' }));
    const queued = lambda.invoke('runaway', { action: 'echo' });
    await waitFor(() => lambda.stats().runaway?.waiting === 1, 'the echo to wait');
    const whileLooping = lambda.stats().runaway;

    expect((await looping).name).toBe('Sandbox.Timedout');
    expect(await queued).toEqual({ echoed: { action: 'echo' } });
    expect(whileLooping).toMatchObject({ environments: 1, busy: 1, waiting: 1 });
    expect(lambda.stats().runaway).toMatchObject({ environments: 1, coldStarts: 2 });
  });

  it('ends only the environment of an invocation that timed out: the others running beside it answer', async () => {
    // The loop starts first, so it reaches the 8 s timeout while the held ones still have time left.
    const lambda = runtime({
      functions: { ...functions, steady: { entry, limits: { timeoutSeconds: 8, memoryMb: 512 } } },
      maxEnvironmentsPerFunction: 3,
    });
    const { hold, open } = gate('beside-a-timeout');
    await lambda.load('steady');

    const looping = failureOf(lambda.invoke('steady', { action: 'loop' }));
    await waitFor(() => lambda.stats().steady?.busy === 1, 'the loop to run');
    const held = [1, 2].map(() => lambda.invoke('steady', hold));
    await waitFor(() => lambda.stats().steady?.busy === 3, 'the held invocations to run beside it');
    const error = await looping;
    const afterTimeout = lambda.stats().steady;
    open();
    const answers = await Promise.all(held);

    expect(error.name).toBe('Sandbox.Timedout');
    expect(afterTimeout).toMatchObject({ environments: 2, busy: 2, coldStarts: 3 });
    expect(new Set(answers.map(environmentOf)).size).toBe(2);
  });

  it("never runs more than the function's reserved concurrency: the rest are throttled, and no environment starts for them", async () => {
    const lambda = runtime({
      functions: {
        ...functions,
        reserved: { entry, limits: { timeoutSeconds: 30, memoryMb: 128, reservedConcurrency: 2 } },
      },
      maxEnvironmentsPerFunction: 4,
    });
    const { hold, open } = gate('reserved');

    const attempts = [1, 2, 3, 4, 5].map(() =>
      lambda.invoke('reserved', hold).catch((error: unknown) => error),
    );
    await waitFor(() => lambda.stats().reserved?.busy === 2, 'two invocations running');
    const whileHeld = lambda.stats().reserved;
    open();
    const outcomes = await Promise.all(attempts);

    expect(outcomes.filter((outcome) => outcome instanceof LambdaThrottledError)).toHaveLength(3);
    expect(outcomes.filter((outcome) => typeof environmentOf(outcome) === 'number')).toHaveLength(2);
    expect(whileHeld).toMatchObject({ environments: 2, waiting: 0 });
  });

  it('throttles a caller with a deadline that the full pool cannot take in time or past its queue, and keeps callers without one waiting', async () => {
    const lambda = runtime({ maxEnvironmentsPerFunction: 1, maxWaitingPerFunction: 2 });
    const { hold, open } = gate('patience');

    const held = lambda.invoke('bystander', hold);
    await waitFor(() => lambda.stats().bystander?.busy === 1, 'the held invocation to run');
    const outwaited = await failureOf(lambda.invoke('bystander', { hurried: true }, { maxWaitMs: 50 }));
    const waitingAfterIt = lambda.stats().bystander?.waiting;
    const patient = [1, 2].map((n) => lambda.invoke('bystander', { patient: n }));
    const overQueue = await failureOf(lambda.invoke('bystander', { late: true }, { maxWaitMs: 60_000 }));
    const waitingWhileHeld = lambda.stats().bystander?.waiting;
    open();

    expect(outwaited).toBeInstanceOf(LambdaThrottledError);
    expect(outwaited).toMatchObject({
      name: 'TooManyRequestsException',
      reason: 'ConcurrentInvocationLimitExceeded',
    });
    expect(waitingAfterIt).toBe(0);
    expect(overQueue).toBeInstanceOf(LambdaThrottledError);
    expect(waitingWhileHeld).toBe(2);
    expect(await Promise.all([held, ...patient])).toEqual([
      { environment: expect.any(Number) },
      { echoed: { patient: 1 } },
      { echoed: { patient: 2 } },
    ]);
    expect(lambda.throttledCount).toBe(2);
  });

  it("makes room for another function at the machine's bound by ending the least recently used idle environment", async () => {
    const lambda = runtime({ maxEnvironments: 1 });

    await lambda.invoke('bystander', { first: true });
    const answer = await lambda.invoke('runaway', { action: 'echo' });

    expect(answer).toEqual({ echoed: { action: 'echo' } });
    expect(lambda.stats()).toMatchObject({
      bystander: { environments: 0, coldStarts: 1 },
      runaway: { environments: 1, coldStarts: 1 },
    });
  });

  it("at the machine's bound, gives the idle environment of a function with nothing waiting to a function whose invocations wait, though their pools are the same size", async () => {
    const lambda = runtime({ maxEnvironments: 2, maxEnvironmentsPerFunction: 2, idleGivesWayAfterMs: 0 });
    const { hold, open } = gate('gives-way');
    await lambda.invoke('runaway', { action: 'echo' });
    await lambda.invoke('bystander', { action: 'echo' });

    const held = [1, 2].map(() => lambda.invoke('bystander', hold));
    await waitFor(() => lambda.stats().bystander?.busy === 2, 'both held invocations to run');
    const whileHeld = lambda.stats();
    open();
    const environments = new Set((await Promise.all(held)).map(environmentOf));

    expect(whileHeld).toMatchObject({
      bystander: { environments: 2, busy: 2, waiting: 0 },
      runaway: { environments: 0 },
    });
    expect(environments.size).toBe(2);
  });

  it("at the machine's bound, keeps pools one environment apart as they are, so that two busy functions do not trade an environment (a cold start each) back and forth", async () => {
    const lambda = runtime({
      functions: { ...functions, neighbour: { entry, limits: { timeoutSeconds: 30, memoryMb: 512 } } },
      maxEnvironments: 3,
      maxEnvironmentsPerFunction: 3,
      idleGivesWayAfterMs: 3_600_000,
    });
    const { hold, open } = gate('one-apart');
    const warm = gate('one-apart-warm');
    const warming = [1, 2].map(() => lambda.invoke('neighbour', warm.hold));
    await waitFor(() => lambda.stats().neighbour?.busy === 2, 'two environments of the neighbour');
    warm.open();
    await Promise.all(warming);
    await lambda.invoke('bystander', { action: 'echo' });

    const held = lambda.invoke('bystander', hold);
    const queued = lambda.invoke('bystander', { action: 'echo' });
    await waitFor(() => lambda.stats().bystander?.waiting === 1, 'the second invocation to wait');
    const whileHeld = lambda.stats();
    open();
    await Promise.all([held, queued]);

    expect(whileHeld).toMatchObject({
      bystander: { environments: 1, busy: 1, waiting: 1 },
      neighbour: { environments: 2, busy: 0 },
    });
    expect(lambda.stats()).toMatchObject({ bystander: { coldStarts: 1 }, neighbour: { coldStarts: 2 } });
  });

  it("at the machine's bound, takes an idle environment from a function with two more: the pools settle one apart at most", async () => {
    const lambda = runtime({
      functions: { ...functions, neighbour: { entry, limits: { timeoutSeconds: 30, memoryMb: 512 } } },
      maxEnvironments: 4,
      maxEnvironmentsPerFunction: 4,
      idleGivesWayAfterMs: 3_600_000,
    });
    const { hold, open } = gate('two-apart');
    const warm = gate('two-apart-warm');
    const warming = [1, 2, 3].map(() => lambda.invoke('neighbour', warm.hold));
    await waitFor(() => lambda.stats().neighbour?.busy === 3, 'three environments of the neighbour');
    warm.open();
    await Promise.all(warming);
    await lambda.invoke('bystander', { action: 'echo' });

    const held = [1, 2].map(() => lambda.invoke('bystander', hold));
    await waitFor(() => lambda.stats().bystander?.busy === 2, 'both held invocations to run');
    const whileHeld = lambda.stats();
    open();
    await Promise.all(held);

    expect(whileHeld).toMatchObject({
      bystander: { environments: 2, busy: 2, waiting: 0 },
      neighbour: { environments: 2 },
    });
  });

  it('keeps the environment of a function idle for less than the give-way time: the waiting function runs on its own', async () => {
    const lambda = runtime({
      maxEnvironments: 2,
      maxEnvironmentsPerFunction: 2,
      idleGivesWayAfterMs: 3_600_000,
    });
    const { hold, open } = gate('keeps');
    await lambda.invoke('runaway', { action: 'echo' });
    await lambda.invoke('bystander', { action: 'echo' });

    const held = lambda.invoke('bystander', hold);
    const queued = lambda.invoke('bystander', { action: 'echo' });
    await waitFor(() => lambda.stats().bystander?.waiting === 1, 'the second invocation to wait');
    const whileHeld = lambda.stats();
    open();
    await Promise.all([held, queued]);

    expect(whileHeld).toMatchObject({
      bystander: { environments: 1, busy: 1, waiting: 1 },
      runaway: { environments: 1 },
    });
  });
});
