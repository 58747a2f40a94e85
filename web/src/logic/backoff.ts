/**
 * Reconnect delays: exponential backoff with "equal jitter", so a fleet of dashboards that lost the
 * same server does not come back in lockstep
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */
export interface BackoffOptions {
  /** Delay ceiling before the first retry. */
  readonly baseMs: number;
  /** No delay is ever longer than this. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * The delay before retry number `attempt` (0 for the first): half of `min(max, base × 2^attempt)`
 * plus a random share of the other half. `random` is injectable so tests are deterministic.
 */
export const backoffDelay = (
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number => {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const half = ceiling / 2;
  return Math.round(half + random() * half);
};
