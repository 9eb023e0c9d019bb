/**
 * Writes attempt outcomes in batches: finishes are buffered and sent with one `jobFinishMany` call
 * when `batchSize` is reached or `flushMs` after the first buffered finish. At high throughput this
 * turns thousands of per-job round trips a second into a few dozen transactions.
 *
 * Options and defaults: batchSize 500, flushMs 5 (a finish waits ~5 ms plus one round trip before
 * `waitFor` and job events see it, at most 4 times as long, see below).
 *
 * A statement has a fixed cost whatever its size: on PostgreSQL a completion costs ~0.4M server
 * instructions per statement beside ~60k per job (docs/PERFORMANCE.md, "PostgreSQL at concurrency
 * 10"). Handlers that end one by one at 1,000-2,000 a second, as concurrency 10 on a loaded machine
 * gives, left ~5 finishes per 5 ms batch, so the fixed part was most of each one's cost. When the
 * window ends with fewer than MIN_BATCH finishes but they arrived fast enough to reach it within
 * STRETCH times the window, the batch waits until then; slower trickles are sent at once, so the wait
 * is spent only where it buys a batch.
 *
 * Up to two batches are in flight at once, each its own transaction on its own pooled connection: at
 * thousands of jobs a second one batch at a time was the worker's ceiling (about 0.2 ms of server time
 * per finished job on a loaded machine, so ~5,000 jobs/s), and the rows of two batches never overlap.
 * The second starts only for a quarter batch or more, so a trickle is not split into tiny statements.
 *
 * A failed flush is retried with backoff, never dropped: the job stays `running` under a lease the
 * worker keeps renewing until its outcome is persisted. Only a shutdown past its deadline (`drain`)
 * abandons what is left; those jobs come back through the rescuer once their leases lapse.
 *
 * A failed flush may still have committed (the connection dropped after COMMIT, before the reply), and
 * then its retry is refused because the first write already ended the attempt. So a refusal of a
 * finish that went through a failed try is checked against the store (`persisted`) before it counts
 * as a lost lease; first-try refusals are taken at their word, keeping reads off the hot path.
 */
import type { Logger } from '../logger.js';
import type { JobFinish, Store } from '../store/store.js';
import { sleep, within } from '../runtime/sleep.js';
import { Backoff } from '../runtime/backoff.js';
import type { StoreHealth } from '../runtime/store-health.js';

/** What the finisher tells its owner about each item once the store has answered. */
export interface FinishListener<T> {
  /** The store recorded this item's finish. */
  accepted(item: T, finish: JobFinish): void;
  /** The store refused it: the attempt's lease token is stale. */
  refused(item: T, finish: JobFinish): void;
  /**
   * Asked only when a finish is refused after a failed try: whether the store holds this outcome
   * anyway (that try committed, its reply was lost). Null: a refusal of this item is final.
   */
  persisted(item: T, finish: JobFinish): Promise<boolean> | null;
}

// One listener for all items instead of three callbacks per finish: at thousands of finishes a
// second the closures were a visible share of the worker's allocations.
interface PendingFinish<T> {
  finish: JobFinish;
  item: T;
}

/** Batches written at once; see the module header. */
const MAX_FLUSHES = 2;

/** A batch worth waiting for, and how many windows long a wait for it may be (module header). */
const MIN_BATCH = 16;
const STRETCH = 4;

/** Buffers finishes and flushes them in batches. */
export class Finisher<T> {
  private buffer: Array<PendingFinish<T>> = [];
  /** Flush loops in flight (at most MAX_FLUSHES). */
  private readonly flushing = new Set<Promise<void>>();
  /** Finishes in the batches sent and not yet answered. */
  private sending = 0;
  private timer: NodeJS.Timeout | null = null;
  /** When the oldest buffered finish came (performance.now()), while a timer waits for it. */
  private firstAt = 0;
  private readonly backoff = new Backoff();
  private readonly abandon = new AbortController();
  /** Finishes sent in a flush that failed: that flush may have committed them. */
  private readonly uncertain = new WeakSet<PendingFinish<T>>();

  constructor(
    private readonly store: Store,
    private readonly health: StoreHealth,
    private readonly logger: Logger,
    private readonly listener: FinishListener<T>,
    private readonly options: {
      batchSize: number;
      flushMs: number;
      /** A batch was written (or refused): the buffer shrank, so a worker held back by it may claim. */
      onFlushed?: () => void;
    },
  ) {}

  /** Finishes buffered, not yet sent. */
  get size(): number {
    return this.buffer.length;
  }

  /** Queues `item`'s finish for the next batch. */
  add(finish: JobFinish, item: T): void {
    this.buffer.push({ finish, item });
    if (this.abandon.signal.aborted) {
      this.kick();
    } else if (this.buffer.length >= this.options.batchSize / 4 && this.flushing.size < MAX_FLUSHES) {
      this.kick();
    } else {
      this.arm();
    }
  }

  /** Starts the window of the oldest buffered finish, unless one runs. */
  private arm(): void {
    if (this.timer) return;
    this.firstAt = performance.now();
    this.timer = setTimeout(() => this.windowEnded(), this.options.flushMs);
  }

  /**
   * The window of the oldest buffered finish ended: flush, unless the finishes came fast enough to
   * make MIN_BATCH within STRETCH windows; then wait for it (once: the next end flushes).
   */
  private windowEnded(): void {
    this.timer = null;
    const waited = performance.now() - this.firstAt;
    const count = this.buffer.length;
    const missing = MIN_BATCH - count;
    if (missing > 0 && count > 0 && this.flushing.size === 0 && waited > 0) {
      const more = missing / (count / waited);
      if (waited + more <= this.options.flushMs * STRETCH) {
        this.timer = setTimeout(() => this.kick(), more);
        return;
      }
    }
    this.kick();
  }

  /**
   * Flushes everything buffered; resolves true when all of it was persisted (or refused), false when
   * `deadlineMs` passed first, in which case the rest is abandoned and logged.
   */
  async drain(deadlineMs: number): Promise<boolean> {
    const deadline = performance.now() + deadlineMs;
    while (this.buffer.length > 0 || this.flushing.size > 0) {
      this.kick();
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      await within(Promise.race(this.flushing), remaining);
    }
    if (this.buffer.length === 0 && this.flushing.size === 0) return true;
    this.abandon.abort();
    const left = this.buffer.length + this.sending;
    this.buffer = [];
    this.logger.error(
      { unpersisted: left },
      'shutdown deadline passed before every outcome was written; those jobs return when their leases lapse',
    );
    return false;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.buffer.length > 0 && this.flushing.size < MAX_FLUSHES) {
      if (this.flushing.size > 0 && this.buffer.length < this.options.batchSize / 4) break;
      const flush: Promise<void> = this.flushAll().finally(() => {
        this.flushing.delete(flush);
        // Finishes added while the last batch was in flight wait for their own timer or batch size.
        if (this.buffer.length > 0) this.arm();
      });
      this.flushing.add(flush);
    }
  }

  private async flushAll(): Promise<void> {
    while (this.buffer.length > 0 && !this.abandon.signal.aborted) {
      const batch = this.takeBatch();
      let accepted: Set<string>;
      this.sending += batch.length;
      try {
        const answer = await this.health.watch(
          'finish',
          this.store.jobFinishMany({ finishes: batch.map((pending) => pending.finish) }),
        );
        accepted = new Set(answer.accepted);
        this.health.ok();
        this.backoff.reset();
      } catch (error) {
        this.sending -= batch.length;
        for (const pending of batch) this.uncertain.add(pending);
        await this.retryLater(batch, error);
        continue;
      }
      const doubtful = batch.filter(
        (pending) => !accepted.has(pending.finish.id) && this.uncertain.has(pending),
      );
      let recovered: Set<PendingFinish<T>>;
      try {
        recovered = await this.recheck(doubtful);
      } catch (error) {
        this.sending -= batch.length;
        // Still unknown: settle the rest, send these again (a refused finish changes nothing), ask again.
        const unsure = new Set(doubtful);
        this.settle(
          batch.filter((pending) => !unsure.has(pending)),
          accepted,
          new Set(),
        );
        await this.retryLater(doubtful, error);
        continue;
      }
      this.sending -= batch.length;
      this.settle(batch, accepted, recovered);
    }
  }

  /**
   * The next batch: up to `batchSize` finishes of distinct jobs, in buffer order. The store answers
   * with the ids of the jobs it finished, so a job's stale attempt (sent again after a failed flush)
   * and its current attempt in one batch would both count as accepted; the later one waits for the
   * next batch instead.
   */
  private takeBatch(): Array<PendingFinish<T>> {
    const batch: Array<PendingFinish<T>> = [];
    const rest: Array<PendingFinish<T>> = [];
    const ids = new Set<string>();
    for (const pending of this.buffer) {
      if (batch.length < this.options.batchSize && !ids.has(pending.finish.id)) {
        batch.push(pending);
        ids.add(pending.finish.id);
      } else {
        rest.push(pending);
      }
    }
    this.buffer = rest;
    return batch;
  }

  /** The doubtful finishes the store holds anyway, committed by a try whose reply was lost. */
  private async recheck(doubtful: Array<PendingFinish<T>>): Promise<Set<PendingFinish<T>>> {
    if (doubtful.length === 0) return new Set();
    const answers = await this.health.watch(
      'finish',
      Promise.all(
        doubtful.map(
          (pending) => this.listener.persisted(pending.item, pending.finish) ?? Promise.resolve(false),
        ),
      ),
    );
    this.health.ok();
    return new Set(doubtful.filter((_, index) => answers[index] === true));
  }

  private async retryLater(pendings: Array<PendingFinish<T>>, error: unknown): Promise<void> {
    this.buffer.unshift(...pendings);
    const delay = this.backoff.next();
    this.health.failed('finish', error, delay);
    await sleep(delay, this.abandon.signal);
  }

  private settle(
    batch: Array<PendingFinish<T>>,
    accepted: Set<string>,
    recovered: Set<PendingFinish<T>>,
  ): void {
    for (const pending of batch) {
      try {
        if (accepted.has(pending.finish.id) || recovered.has(pending)) {
          this.listener.accepted(pending.item, pending.finish);
        } else {
          this.listener.refused(pending.item, pending.finish);
        }
      } catch (error) {
        this.logger.error({ err: error, jobId: pending.finish.id }, 'finish callback threw; ignored');
      }
    }
    this.options.onFlushed?.();
  }
}
