/**
 * Stores the lines handlers write with `ctx.log`, without a database round trip per line: lines of
 * every attempt of a worker are buffered together and written in one `jobLogAppend` per batch, on a
 * short timer while attempts run (`flushMs`, default 500 ms) and within `endFlushMs` (5 ms) of an
 * attempt's end. An attempt's outcome is handed to the finisher only once its lines are written, so
 * whoever sees a job final also sees all its lines.
 *
 * Lines are a record, not a ledger: a write that fails is not retried (its lines are counted in a
 * warning and dropped) and never holds an outcome back; lines still buffered when the process dies
 * (kill -9, a crash) are lost, at most `flushMs` worth of a running attempt's lines.
 */
import type { Logger } from '../logger.js';
import type { NewJobLogLine, Store } from '../store/store.js';
import { boundedLine, droppedMarker, type AttemptLogCount } from './job-log-lines.js';
import { within } from '../runtime/sleep.js';

/** The attempt whose lines these are. */
export interface LoggingAttempt {
  job: { id: string; attempt: number };
}

interface AttemptState extends AttemptLogCount {
  /** The number of the batch that holds this attempt's newest line. */
  batch: number;
  ended: boolean;
}

/** Buffers job log lines and writes them in batches. */
export class JobLogWriter {
  private readonly attempts = new WeakMap<LoggingAttempt, AttemptState>();
  private pending: NewJobLogLine[] = [];
  /** Batches taken from `pending` so far; the lines in `pending` go with batch `taken + 1`. */
  private taken = 0;
  /** Batches written (or given up) so far. */
  private written = 0;
  private waiters: Array<{ batch: number; then: () => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly options: { flushMs: number; endFlushMs: number; batchSize: number } = {
      flushMs: 500,
      endFlushMs: 5,
      batchSize: 2_000,
    },
  ) {}

  /** Buffers one line of `attempt`, bounded (job-log-lines.ts). Lines after the attempt ended are not stored. */
  append(attempt: LoggingAttempt, message: string, data: Record<string, unknown> | undefined): void {
    let state = this.attempts.get(attempt);
    if (state === undefined) {
      state = {
        jobId: attempt.job.id,
        attempt: attempt.job.attempt,
        lines: 0,
        dropped: 0,
        batch: 0,
        ended: false,
      };
      this.attempts.set(attempt, state);
    }
    if (state.ended) return;
    const line = boundedLine(state, message, data, new Date());
    if (line !== null) this.push(state, line);
  }

  /**
   * Closes `attempt`'s lines (adding the "lines dropped" marker when some were) and calls `then` once
   * they are written: at once when none wait, otherwise from the flush that writes them (or gives up).
   */
  attemptEnded(attempt: LoggingAttempt, then: () => void): void {
    const state = this.attempts.get(attempt);
    if (state === undefined || state.ended) return then();
    state.ended = true;
    const marker = droppedMarker(state, new Date());
    if (marker !== null) this.push(state, marker);
    if (state.batch <= this.written) return then();
    this.waiters.push({ batch: state.batch, then });
    this.schedule(this.options.endFlushMs);
  }

  /**
   * Writes everything buffered, waiting at most `deadlineMs`; lines left then are dropped (and
   * counted in a warning) and every waiting `then` is called, so no outcome waits on its lines.
   */
  async drain(deadlineMs: number): Promise<void> {
    const deadline = performance.now() + deadlineMs;
    while (this.pending.length > 0 || this.flushing !== null) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      await within(this.flush(), remaining);
    }
    if (this.pending.length > 0) {
      this.logger.warn(
        { lines: this.pending.length },
        'job log lines not written before the shutdown deadline; dropped',
      );
      this.pending = [];
    }
    this.release(Number.POSITIVE_INFINITY);
  }

  private push(state: AttemptState, line: NewJobLogLine): void {
    this.pending.push(line);
    state.batch = this.taken + 1;
    if (this.pending.length >= this.options.batchSize) this.schedule(0);
    else this.schedule(this.options.flushMs);
  }

  /** Makes sure a flush starts within `ms`. */
  private schedule(ms: number): void {
    const due = performance.now() + ms;
    if (this.timer !== null) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => void this.flush(), ms);
  }

  /** Starts writing what is buffered unless a flush runs already; resolves when it ends. */
  private flush(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.flushing ??= this.flushLoop().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.taken += 1;
      for (let start = 0; start < batch.length; start += this.options.batchSize) {
        const lines = batch.slice(start, start + this.options.batchSize);
        try {
          await this.store.jobLogAppend({ lines });
        } catch (error) {
          this.logger.warn(
            { err: error, lines: lines.length },
            'job log lines could not be written; dropped',
          );
        }
      }
      this.written = this.taken;
      this.release(this.written);
    }
  }

  /** Calls the waiters whose lines are in batches up to `written`. */
  private release(written: number): void {
    const ready = this.waiters.filter((waiter) => waiter.batch <= written);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.batch > written);
    for (const waiter of ready) {
      try {
        waiter.then();
      } catch (error) {
        this.logger.error({ err: error }, 'job log waiter threw; ignored');
      }
    }
  }
}
