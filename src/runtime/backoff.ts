/**
 * Backoff between the tries of a loop whose store call failed: 100 ms doubling to a cap of 5 s, so a
 * restarted PostgreSQL is noticed within seconds without hammering it while it is down.
 */

/** Consecutive-failure backoff for one loop. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly baseMs = 100,
    private readonly capMs = 5_000,
  ) {}

  /** The delay before the next try, growing with each consecutive failure. */
  next(): number {
    const delay = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.failures, 30));
    this.failures += 1;
    return delay;
  }

  /** Forget past failures after a success. */
  reset(): void {
    this.failures = 0;
  }
}
