/**
 * The finished jobs' counts the queue list shows (`ns.queues.list()`: completed, failed, cancelled per
 * queue), read again only as often as their cost allows. Counting them reads the whole history kept
 * (`jobFinishedCountByQueue`): with a million finished jobs, ~600 ms of this process on SQLite (in
 * slices that leave the event loop free) or ~550 ms of a PostgreSQL backend, and a dashboard redraws the
 * list on every burst of events, `top` every second, each open page on its own. The waiting and running
 * counts are read live every time.
 *
 * A count that took under `EXACT_BELOW_MS` is read again at every call, so small stores stay exact.
 * One that took longer is reused for `REUSE_FACTOR` times as long as it took: counting then costs at
 * most one part in `REUSE_FACTOR + 1` of the store's time however often the list is asked for, and the
 * three figures lag by at most that long (20 s for a count that takes 1 s), and the list says how
 * long (`finishedCountsAgeMs`). Calls made while a count is read share that read; a failed read is not
 * kept.
 */
import type { JobCount } from './store/store.js';

/** A count that took less than this (ms) is never reused. */
export const EXACT_BELOW_MS = 20;
/** A count that took longer is reused for this many times its duration. */
export const REUSE_FACTOR = 20;

export class FinishedCounts {
  private kept: { rows: JobCount[]; readAt: number; reuseUntil: number } | null = null;
  private reading: Promise<JobCount[]> | null = null;

  constructor(
    private readonly count: () => Promise<JobCount[]>,
    /** Monotonic ms; injected by tests. */
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * The counts and how old they are (ms, whole): the kept ones while their reuse lasts, else the read
   * in flight or a new one (age 0).
   */
  async read(): Promise<{ finishedCounts: JobCount[]; finishedCountsAgeMs: number }> {
    const now = this.clock();
    if (this.kept === null || now >= this.kept.reuseUntil) {
      this.reading ??= this.countNow().finally(() => {
        this.reading = null;
      });
      return { finishedCounts: await this.reading, finishedCountsAgeMs: 0 };
    }
    return { finishedCounts: this.kept.rows, finishedCountsAgeMs: Math.floor(now - this.kept.readAt) };
  }

  private async countNow(): Promise<JobCount[]> {
    const started = this.clock();
    const rows = await this.count();
    const readAt = this.clock();
    const took = readAt - started;
    this.kept = { rows, readAt, reuseUntil: took < EXACT_BELOW_MS ? readAt : readAt + took * REUSE_FACTOR };
    return rows;
  }
}
