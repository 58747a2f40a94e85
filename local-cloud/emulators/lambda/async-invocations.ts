import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Journal } from '../shared/journal.ts';
import { LambdaInvocationError, LambdaThrottledError } from './lambda.ts';

/**
 * Lambda's retries of an asynchronous invocation
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html): a function
 * error (its own, or the runtime's, such as a timeout) is retried twice, one minute then two
 * minutes later; a throttle or a system error goes back to the queue, retried from 1 s after the
 * first attempt, doubling to at most 5 minutes, until the event is 6 hours old.
 */
export const ASYNC_RETRY = {
  functionErrorDelaysMs: [60_000, 120_000],
  throttleBaseDelayMs: 1000,
  throttleMaxDelayMs: 5 * 60_000,
  maximumEventAgeMs: 6 * 3600_000,
} as const;

export interface AsyncInvocationsOptions {
  /** Runs one attempt: the runtime's synchronous invoke. */
  readonly invoke: (functionName: string, payload: unknown) => Promise<unknown>;
  /** The journal of queued invocations; in memory when absent (nothing outlives the process). */
  readonly journalFile?: string;
  /** Delays before each retry of a function error (their count is `MaximumRetryAttempts`); {@link ASYNC_RETRY}'s by default. */
  readonly functionErrorDelaysMs?: readonly number[];
  /** First delay after a throttle, doubling; {@link ASYNC_RETRY}'s by default. */
  readonly throttleBaseDelayMs?: number;
  readonly throttleMaxDelayMs?: number;
  /** An event older than this is discarded rather than retried (`MaximumEventAgeInSeconds`). */
  readonly maximumEventAgeMs?: number;
  /** Attempts running at once; Lambda reads its queue at the pace the function's concurrency allows. */
  readonly concurrency?: number;
  /** Told of every event discarded after its retries, as Lambda would send it to an on-failure destination. */
  readonly onDiscard?: (discarded: DiscardedInvocation) => void;
}

/** An event Lambda gave up on, and why. */
export interface DiscardedInvocation {
  readonly requestId: string;
  readonly functionName: string;
  /** `RetriesExhausted` or `EventAgeExceeded`, as Lambda's destination records say `condition`. */
  readonly condition: 'RetriesExhausted' | 'EventAgeExceeded';
  readonly errorType: string;
  readonly errorMessage: string;
}

/** One queued invocation as the journal holds it. */
const QueuedInvocation = z.object({
  functionName: z.string(),
  payload: z.unknown(),
  enqueuedAt: z.number(),
  /** Attempts that ended in a function error. */
  errors: z.number().int().nonnegative(),
  /** Attempts throttled (or failed by the service), which do not count against the retries. */
  throttles: z.number().int().nonnegative(),
  /** Not to be attempted before this time (epoch ms). */
  notBefore: z.number(),
});
type QueuedInvocation = z.infer<typeof QueuedInvocation>;

/**
 * Lambda's asynchronous invocation (`InvocationType: Event`): the event is written to a durable
 * queue (a journal on disk) before the caller gets 202, then run with Lambda's retries
 * ({@link ASYNC_RETRY}). A process killed with events queued runs them after the next start.
 * Memory holds only the ids and their due times; the events stay in the journal's file.
 */
export class AsyncInvocations {
  readonly #options: AsyncInvocationsOptions;
  readonly #journal: Journal<QueuedInvocation>;
  /** Ids due now, oldest first. */
  readonly #due: string[] = [];
  /** Ids waiting for a retry's delay, with the timer that makes them due. */
  readonly #delayed = new Map<string, NodeJS.Timeout>();
  #running = 0;
  #closed = false;

  constructor(options: AsyncInvocationsOptions) {
    this.#options = options;
    this.#journal = new Journal({
      decode: (value) => QueuedInvocation.parse(value),
      ...(options.journalFile ? { file: options.journalFile } : {}),
    });
  }

  /** Schedules what a previous run left queued; call once the functions can run. */
  resume(): void {
    for (const { id, value } of this.#journal.recovered()) this.#schedule(id, value.notBefore);
  }

  /** Queues an invocation durably and answers its request id (the caller's 202). */
  enqueue(functionName: string, payload: unknown): string {
    const requestId = randomUUID();
    const now = Date.now();
    this.#journal.put(requestId, {
      functionName,
      payload,
      enqueuedAt: now,
      errors: 0,
      throttles: 0,
      notBefore: now,
    });
    this.#schedule(requestId, now);
    return requestId;
  }

  /** Invocations queued and not finished: due, waiting for a retry, or running. */
  pendingCount(): number {
    return this.#journal.size;
  }

  #schedule(id: string, notBefore: number): void {
    const wait = notBefore - Date.now();
    if (wait <= 0) {
      this.#due.push(id);
      this.#pump();
      return;
    }
    this.#delayed.set(
      id,
      setTimeout(() => {
        this.#delayed.delete(id);
        this.#schedule(id, 0);
      }, wait).unref(),
    );
  }

  #pump(): void {
    const concurrency = this.#options.concurrency ?? 8;
    while (!this.#closed && this.#running < concurrency) {
      const id = this.#due.shift();
      if (id === undefined) return;
      const queued = this.#journal.read(id);
      if (!queued) continue;
      this.#running += 1;
      void this.#attempt(id, queued).finally(() => {
        this.#running -= 1;
        this.#pump();
      });
    }
  }

  async #attempt(id: string, queued: QueuedInvocation): Promise<void> {
    try {
      await this.#options.invoke(queued.functionName, queued.payload);
      this.#journal.done(id);
      return;
    } catch (error) {
      if (this.#closed) return;
      const now = Date.now();
      const functionError =
        error instanceof LambdaInvocationError && !(error instanceof LambdaThrottledError);
      const errorType = error instanceof Error ? error.name : 'Error';
      const errorMessage = error instanceof Error ? error.message : String(error);
      const delays = this.#options.functionErrorDelaysMs ?? ASYNC_RETRY.functionErrorDelaysMs;
      const next: QueuedInvocation = functionError
        ? { ...queued, errors: queued.errors + 1 }
        : { ...queued, throttles: queued.throttles + 1 };
      const delay = functionError
        ? delays[next.errors - 1]
        : Math.min(
            (this.#options.throttleBaseDelayMs ?? ASYNC_RETRY.throttleBaseDelayMs) *
              2 ** (next.throttles - 1),
            this.#options.throttleMaxDelayMs ?? ASYNC_RETRY.throttleMaxDelayMs,
          );
      const maximumAge = this.#options.maximumEventAgeMs ?? ASYNC_RETRY.maximumEventAgeMs;
      if (delay === undefined || now + delay - queued.enqueuedAt > maximumAge) {
        this.#journal.done(id);
        this.#options.onDiscard?.({
          requestId: id,
          functionName: queued.functionName,
          condition: delay === undefined ? 'RetriesExhausted' : 'EventAgeExceeded',
          errorType,
          errorMessage,
        });
        return;
      }
      this.#journal.put(id, { ...next, notBefore: now + delay });
      this.#schedule(id, now + delay);
    }
  }

  /** Stops attempting; what is queued stays in the journal for the next start. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#due.length = 0;
    this.#journal.close();
  }
}
