/** A throttle as API Gateway declares one: a steady rate a second, and a burst the bucket holds. */
export interface ThrottleSettings {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * The token bucket API Gateway throttles a stage with: it holds at most `burstLimit` tokens, refills
 * at `rateLimit` tokens a second, and each request takes one or is throttled
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
 * It starts full. The clock is a parameter so tests can drive it.
 */
export class TokenBucket {
  readonly #settings: ThrottleSettings;
  readonly #now: () => number;
  #tokens: number;
  #refilledAt: number;

  constructor(settings: ThrottleSettings, now: () => number = Date.now) {
    if (!(settings.rateLimit > 0) || !(settings.burstLimit >= 1)) {
      throw new RangeError(
        `A throttle needs rateLimit > 0 and burstLimit >= 1; got ${settings.rateLimit} and ${settings.burstLimit}`,
      );
    }
    this.#settings = settings;
    this.#now = now;
    this.#tokens = settings.burstLimit;
    this.#refilledAt = now();
  }

  /** Takes a token: true when the request may go ahead, false when it is throttled. */
  take(): boolean {
    const now = this.#now();
    const elapsedSeconds = Math.max(0, now - this.#refilledAt) / 1000;
    this.#tokens = Math.min(
      this.#settings.burstLimit,
      this.#tokens + elapsedSeconds * this.#settings.rateLimit,
    );
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
