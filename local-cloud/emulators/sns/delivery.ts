/**
 * HTTP/S delivery with SNS's retry semantics, and the record of deliveries that never succeeded.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeliveryLog } from './delivery-log.ts';

/**
 * Delays before each retry, in the phases of an SNS delivery policy: three immediate retries, then
 * exponential backoff. AWS's default for HTTP/S is three retries 20 seconds apart; this keeps the shape
 * but compresses it so a failing local endpoint reaches the dead-letter record within seconds.
 */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [0, 0, 0, 1_000, 2_000, 4_000];

/** SNS gives an HTTP/S endpoint about 15 seconds to answer before counting the attempt as failed. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 15_000;

export interface HttpRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RetryOptions {
  readonly delaysMs: readonly number[];
  readonly timeoutMs: number;
  /** Aborted when the service stops: the attempt under way finishes, no retry starts. */
  readonly stop: AbortSignal;
  /** Checked before every attempt; an unsubscribed endpoint gets nothing more. */
  readonly wanted: () => boolean;
  /** Attempts a previous run already made (and their last error): the policy carries on from there. */
  readonly resumeFrom?: { readonly attempts: number; readonly error: string };
  /** Told after every failed attempt, so its count can be kept across restarts. */
  readonly onFailedAttempt?: (attempts: number, error: string) => void;
}

export type DeliveryOutcome =
  | { readonly status: 'delivered'; readonly attempts: number }
  | { readonly status: 'cancelled'; readonly attempts: number }
  | { readonly status: 'failed' | 'stopped'; readonly attempts: number; readonly error: string };

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
};

const attempt = async (request: HttpRequest, timeoutMs: number): Promise<string | undefined> => {
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.status >= 500 ? `HTTP ${response.status}` : undefined;
  } catch (error) {
    return describe(error);
  }
};

/**
 * POSTs until the endpoint accepts, the retries run out, or the service stops. As on AWS, any status
 * below 500 counts as delivered (a 4xx is the endpoint refusing, and retrying would not change that);
 * a 5xx, a network error or a timeout is retried.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html
 */
export const postWithRetries = async (
  request: HttpRequest,
  options: RetryOptions,
): Promise<DeliveryOutcome> => {
  let attempts = options.resumeFrom?.attempts ?? 0;
  let error = options.resumeFrom?.error ?? 'not attempted';
  if (attempts > options.delaysMs.length) return { status: 'failed', attempts, error };
  // A resumed delivery tries again at once: its process was gone for at least the delay it was waiting out.
  for (const delay of [undefined, ...options.delaysMs.slice(attempts)]) {
    if (delay !== undefined) {
      if (options.stop.aborted) return { status: 'stopped', attempts, error };
      try {
        await sleep(delay, undefined, { signal: options.stop });
      } catch {
        return { status: 'stopped', attempts, error };
      }
    }
    if (!options.wanted()) return { status: 'cancelled', attempts };
    attempts += 1;
    const failure = await attempt(request, options.timeoutMs);
    if (failure === undefined) return { status: 'delivered', attempts };
    error = failure;
    options.onFailedAttempt?.(attempts, error);
  }
  return { status: 'failed', attempts, error };
};

/** One delivery that never succeeded, as a line of `sns-<topic>.jsonl`. */
export interface DeadLetter {
  readonly failedAt: string;
  /** Why it was given up: retries exhausted, or the service stopped before it succeeded. */
  readonly reason: 'retries-exhausted' | 'stopped' | 'write-failed';
  readonly error: string;
  readonly attempts: number;
  readonly topicArn: string;
  readonly subscriptionArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  /** `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`. */
  readonly type: string;
  readonly messageId: string;
  /** Exactly what the endpoint would have received. */
  readonly body: string;
}

/**
 * Dead letters per topic, appended to `<dir>/sns-<topic>.jsonl` or kept in memory. SNS itself drops a
 * message whose delivery policy is exhausted unless the subscription has a redrive policy; the local SNS
 * always keeps it, so no acknowledged message disappears without a trace.
 *
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
 */
export class DeadLetters extends DeliveryLog<DeadLetter> {
  async record(topicName: string, letter: DeadLetter): Promise<void> {
    this.remember(letter);
    if (this.dir) await appendFile(join(this.dir, `sns-${topicName}.jsonl`), `${JSON.stringify(letter)}\n`);
  }
}
