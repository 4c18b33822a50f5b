// A virtual clock for the audit: sleeps resolve in time order as the test drives it, so seconds of rate limit run instantly.
import type { AuditClock } from '../../../src/monitoring/runtime/rate-limit';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements AuditClock {
  private t: number;
  private timers: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[] = [];

  constructor(start: Date) {
    this.t = start.getTime();
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve) => this.timers.push({ at: this.t + ms, seq: this.seq++, resolve }));
  }

  /** Runs `work` to completion, advancing virtual time to the next timer whenever everything else is waiting. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      for (let i = 0; i < 5 && !settled; i++) await flush();
      if (settled) break;
      if (this.timers.length === 0) continue;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    return work;
  }
}
