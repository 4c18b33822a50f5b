// The audit's rate limiter and throttling retry on a virtual clock: a rate, not a concurrency cap.
import { RateLimiter, withThrottlingRetry } from '../../../src/monitoring/runtime/rate-limit';
import { FakeClock } from '../support/fake-clock';

const T0 = new Date('2026-11-23T00:00:00Z');

describe('RateLimiter', () => {
  test('GIVEN 50 concurrent callers at 5/s WHEN they all acquire THEN starts are 200 ms apart and no second holds more than 5', async () => {
    const clock = new FakeClock(T0);
    const limiter = new RateLimiter(5, clock);
    const starts: number[] = [];
    await clock.run(Promise.all(Array.from({ length: 50 }, () => limiter.acquire().then(() => starts.push(clock.now() - T0.getTime())))));
    expect(starts).toEqual(Array.from({ length: 50 }, (_, i) => i * 200));
    for (const t of starts) expect(starts.filter((s) => s >= t && s < t + 1000)).toHaveLength(Math.min(5, starts.filter((s) => s >= t).length));
  });

  test('GIVEN an idle period WHEN a caller acquires THEN it does not wait, and no burst beyond one slot builds up', async () => {
    const clock = new FakeClock(T0);
    const limiter = new RateLimiter(5, clock);
    await clock.run(limiter.acquire());
    await clock.run(clock.sleep(10_000));
    const before = clock.sleeps.length;
    await clock.run(Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]));
    // The first goes at once; the next two wait 200 and 400 ms: idle time does not bank a burst.
    expect(clock.sleeps.slice(before)).toEqual([200, 400]);
  });

  test.each([0, -1, Number.NaN])('GIVEN a rate of %s WHEN constructed THEN a clear error', (rate) => {
    expect(() => new RateLimiter(rate, new FakeClock(T0))).toThrow(`\`ratePerSecond\` must be a positive number, got: ${rate}`);
  });
});

describe('withThrottlingRetry', () => {
  const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

  test('GIVEN a call throttled every time WHEN retried THEN it gives up after maxAttempts with back-off 0.5, 1, 2 s', async () => {
    const clock = new FakeClock(T0);
    let calls = 0;
    const work = withThrottlingRetry(async () => {
      calls++;
      throw throttled();
    }, clock, 4);
    await expect(clock.run(work)).rejects.toThrow('Rate exceeded');
    expect(calls).toBe(4);
    expect(clock.sleeps).toEqual([500, 1000, 2000]);
  });

  test('GIVEN retries through a limiter WHEN throttled THEN each retry takes a new rate-limit slot', async () => {
    const clock = new FakeClock(T0);
    const limiter = new RateLimiter(5, clock);
    const starts: number[] = [];
    let calls = 0;
    const work = withThrottlingRetry(async () => {
      starts.push(clock.now() - T0.getTime());
      if (++calls < 3) throw throttled();
      return 'ok';
    }, clock, 5, limiter);
    await expect(clock.run(work)).resolves.toBe('ok');
    expect(starts).toEqual([0, 500, 1500]);
  });
});
