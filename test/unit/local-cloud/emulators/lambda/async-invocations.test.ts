import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AsyncInvocations,
  type AsyncInvocationsOptions,
  type DiscardedInvocation,
} from '../../../../../local-cloud/emulators/lambda/async-invocations.ts';
import {
  LambdaInvocationError,
  LambdaThrottledError,
} from '../../../../../local-cloud/emulators/lambda/lambda.ts';
import { waitFor } from '../../../../support/local-cloud.ts';

let dir: string;
const queues: AsyncInvocations[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sensorbus-async-invoke-'));
});
afterEach(() => {
  for (const queue of queues.splice(0)) queue.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A queue whose attempts run `outcome` in turn, recording each attempt's function and payload. */
const queueWith = (outcome: (attempt: number) => unknown, options: Partial<AsyncInvocationsOptions> = {}) => {
  const attempts: unknown[] = [];
  const discarded: DiscardedInvocation[] = [];
  const queue = new AsyncInvocations({
    journalFile: join(dir, 'async.jsonl'),
    functionErrorDelaysMs: [1, 1],
    throttleBaseDelayMs: 1,
    invoke: async (functionName, payload) => {
      attempts.push({ functionName, payload });
      const result = outcome(attempts.length);
      if (result instanceof Error) throw result;
      return result;
    },
    onDiscard: (invocation) => discarded.push(invocation),
    ...options,
  });
  queues.push(queue);
  queue.resume();
  return { queue, attempts, discarded };
};

describe('Lambda asynchronous invocations', () => {
  it('runs what a previous process queued and did not finish, from the journal', async () => {
    // The first process dies while its attempt runs: the attempt never answers.
    const first = queueWith(() => new Promise(() => {}));
    const requestId = first.queue.enqueue('push', { n: 1 });
    await waitFor(() => first.attempts.length === 1, 'the first attempt');
    first.queue.close();

    const second = queueWith(() => ({ ok: true }));
    await waitFor(() => second.queue.pendingCount() === 0, 'the recovered invocation to run');

    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.attempts).toEqual([{ functionName: 'push', payload: { n: 1 } }]);
  });

  it('gives an event up after two retries of a function error, saying so', async () => {
    const { queue, attempts, discarded } = queueWith(
      () => new LambdaInvocationError('DeviceNotFound', 'No such device'),
    );

    const requestId = queue.enqueue('enrich', {});
    await waitFor(() => queue.pendingCount() === 0, 'the event given up');

    expect(attempts).toHaveLength(3);
    expect(discarded).toEqual([
      {
        requestId,
        functionName: 'enrich',
        condition: 'RetriesExhausted',
        errorType: 'DeviceNotFound',
        errorMessage: 'No such device',
      },
    ]);
  });

  it('retries throttles past the function-error retries, without counting them, until the function runs', async () => {
    const { queue, attempts, discarded } = queueWith((attempt) =>
      attempt <= 5 ? new LambdaThrottledError('ReservedFunctionConcurrentInvocationLimitExceeded') : 'done',
    );

    queue.enqueue('push', {});
    await waitFor(() => queue.pendingCount() === 0, 'the event to run');

    expect(attempts).toHaveLength(6);
    expect(discarded).toEqual([]);
  });

  it('gives a throttled event up once its next retry would pass the maximum event age', async () => {
    const { queue, discarded } = queueWith(
      () => new LambdaThrottledError('ConcurrentInvocationLimitExceeded'),
      { throttleBaseDelayMs: 1000, maximumEventAgeMs: 500 },
    );

    queue.enqueue('push', {});
    await waitFor(() => queue.pendingCount() === 0, 'the event given up');

    expect(discarded).toMatchObject([
      { condition: 'EventAgeExceeded', errorType: 'TooManyRequestsException' },
    ]);
  });
});
