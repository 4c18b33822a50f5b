// Calls within an API's rate quota: a minimum-interval rate limiter and back-off on throttling, on an injectable clock.

/** Time as the audit sees it: injected so tests run the rate limit and the back-off on a fake clock. */
export interface AuditClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: AuditClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A rate limit by minimum interval between request starts (a token bucket of depth 1): at `rate` per second,
 * starts are at least 1000/rate ms apart, so no one-second window ever holds more than `rate` of them,
 * however many callers wait concurrently. Slots are reserved synchronously, so concurrent callers never share one.
 */
export class RateLimiter {
  private readonly intervalMs: number;
  private nextSlot = -Infinity;

  constructor(ratePerSecond: number, private readonly clock: AuditClock) {
    if (!(ratePerSecond > 0)) throw new Error(`\`ratePerSecond\` must be a positive number, got: ${ratePerSecond}`);
    this.intervalMs = 1000 / ratePerSecond;
  }

  async acquire(): Promise<void> {
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    if (slot > now) await this.clock.sleep(slot - now);
  }
}

function isThrottling(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return (
    e?.name === 'ThrottlingException' ||
    e?.name === 'TooManyRequestsException' ||
    e?.$retryable?.throttling === true ||
    e?.$metadata?.httpStatusCode === 429
  );
}

/** Retries throttled calls with exponential back-off (0.5 s, 1 s, 2 s, ... capped at 20 s); other errors pass through. */
export async function withThrottlingRetry<T>(
  call: () => Promise<T>,
  clock: AuditClock,
  maxAttempts: number,
  limiter?: RateLimiter,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (limiter) await limiter.acquire();
    try {
      return await call();
    } catch (err) {
      if (!isThrottling(err) || attempt >= maxAttempts) throw err;
      await clock.sleep(Math.min(20_000, 500 * 2 ** (attempt - 1)));
    }
  }
}
