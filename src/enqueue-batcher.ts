/**
 * Group commit for `ns.enqueue` and `ns.enqueueMany`: calls made at the same time are written together, as
 * one multi-row `jobInsertMany`, so a producer making thousands of single calls per second pays about one
 * statement per batch instead of one per job, and holds at most `MAX_IN_FLIGHT` pool connections however many
 * calls it makes. Bulk calls made while others are being written wait and go together too: a burst of them at
 * a producer's start no longer opens a new connection per call, each planning its first insert with cold
 * caches (on PostgreSQL five concurrent 20-job calls of a fresh producer took 75-85 ms against 2-3 ms each
 * once warm). A call waits its turn in a bounded queue; past `maxPending` waiting calls, or `maxWaitMs`
 * without its turn, it is refused with `overloaded` and nothing was written, so the caller may retry it (a
 * pool timeout would not say whether the job went in).
 *
 * Each call keeps its own outcome: results come back in input order (`jobInsertMany` returns one per job, a
 * repeated idempotency key as `created: false`), and when a batch of several calls fails for a reason other
 * than the database being unreachable its calls are written again call by call, so one row the database
 * refuses fails only its own call, and a bulk call's rows are written all or none. Calls inside a caller's
 * transaction or fenced by a lease never come here: they must commit with what they belong to.
 *
 * Closing waits for the calls waiting and being written, at most the time `ns.close()` gives it (its share
 * of the store's `CLOSE_WAIT_MS`); then each fails, never resolves: one being written as unanswered
 * (whether its rows committed is unknown), one still waiting as never sent (nothing was written). The
 * writes given up on still hold their connections: the store's close, within what is left of the bound,
 * cuts them.
 */
import { NightshiftError } from './errors.js';
import { settledWithin } from './runtime/sleep.js';
import type { JobInsertResult, NewJob } from './store/store.js';
import { intIn, MAX_TIMER_MS } from './validation/bounds.js';
import { keyNames, unknownKey } from './validation/known-keys.js';

/** `enqueue` of `Nightshift.connect`: how long and how many single enqueues may wait their turn. */
export interface EnqueueBatchingOptions {
  /** Longest a call waits for its batch to start before it is refused with `overloaded`. Default 10,000 ms. */
  maxWaitMs?: number;
  /** Calls that may wait at once; one more is refused with `overloaded` at once. Default 10,000. */
  maxPending?: number;
}

const DEFAULT_MAX_WAIT_MS = 10_000;
const DEFAULT_MAX_PENDING = 10_000;
const MAX_PENDING_LIMIT = 1_000_000;
// Rows per statement: past a few hundred the per-row cost no longer falls, while a bigger batch holds
// its callers (and a SQLite writer's lock) longer.
const MAX_BATCH = 500;
// Two statements at once: the next batch is sent while the previous one commits, and a burst takes
// two pool connections, leaving the rest to the worker and other callers.
const MAX_IN_FLIGHT = 2;

const OPTION_KEYS = keyNames<EnqueueBatchingOptions>({ maxWaitMs: true, maxPending: true });

/** The options checked, defaults applied; `invalid_argument` names the option refused. */
export function checkEnqueueBatching(options: EnqueueBatchingOptions = {}): Required<EnqueueBatchingOptions> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new NightshiftError('invalid_argument', 'enqueue must be an object of maxWaitMs and maxPending');
  }
  const unknown = unknownKey(options, OPTION_KEYS);
  if (unknown !== undefined) {
    throw new NightshiftError(
      'invalid_argument',
      `enqueue: unknown key "${unknown}" (known: maxWaitMs, maxPending)`,
    );
  }
  return {
    maxWaitMs: intIn('enqueue.maxWaitMs', options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, [1, MAX_TIMER_MS]),
    maxPending: intIn('enqueue.maxPending', options.maxPending ?? DEFAULT_MAX_PENDING, [
      1,
      MAX_PENDING_LIMIT,
    ]),
  };
}

/** One waiting call. */
interface PendingCall {
  rows: NewJob[];
  /** When it started waiting, in `performance.now()` ms. */
  since: number;
  resolve(results: JobInsertResult[]): void;
  reject(error: unknown): void;
}

/** Coalesces concurrent inserts into batches written by `insertJobs`. */
export class EnqueueBatcher {
  private pending: PendingCall[] = [];
  /** The batches being written; `inFlight` of them. */
  private readonly writing = new Set<PendingCall[]>();
  private inFlight = 0;
  /** Set by `close`: new calls are refused, and a batch's late answer is dropped. */
  private closed = false;
  private flushScheduled = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private idle: Array<() => void> = [];
  private readonly options: Required<EnqueueBatchingOptions>;

  constructor(
    /** Writes the rows in one statement or transaction; one result per row, in order. */
    private readonly insertJobs: (rows: NewJob[]) => Promise<JobInsertResult[]>,
    options: EnqueueBatchingOptions = {},
  ) {
    this.options = checkEnqueueBatching(options);
  }

  /**
   * Inserts the jobs of one call, all or none, with whatever other calls are waiting; resolves with
   * its own results, one per job in order.
   */
  insert(rows: NewJob[]): Promise<JobInsertResult[]> {
    if (this.closed) {
      return Promise.reject(
        new NightshiftError('invalid_argument', 'this Nightshift instance is closed; nothing was written'),
      );
    }
    if (this.pending.length >= this.options.maxPending) {
      return Promise.reject(
        new NightshiftError(
          'overloaded',
          `enqueue refused: ${this.pending.length} enqueues already wait (enqueue.maxPending); nothing was written`,
        ),
      );
    }
    return new Promise<JobInsertResult[]>((resolve, reject) => {
      this.pending.push({ rows, since: performance.now(), resolve, reject });
      this.scheduleFlush();
      this.armExpiry();
    });
  }

  /**
   * Resolves once no call waits and no batch is being written (before the store closes), or after
   * `waitMs`: then every call left fails at once, and later calls are refused.
   */
  async close(waitMs: number): Promise<void> {
    const drained =
      this.pending.length === 0 && this.inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.idle.push(resolve));
    const done = await settledWithin(drained, waitMs);
    this.closed = true;
    if (done) return;
    this.disarmExpiry();
    for (const batch of this.writing) {
      for (const call of batch) {
        call.reject(
          new NightshiftError(
            'database_unavailable',
            `enqueue unanswered for ${waitMs} ms when the instance closed: it is unknown whether it was written (an idempotency key makes retrying it safe)`,
          ),
        );
      }
    }
    for (const call of this.pending.splice(0)) {
      call.reject(
        new NightshiftError(
          'database_unavailable',
          `enqueue refused: the instance closed while earlier enqueues were unanswered for ${waitMs} ms; this one was never sent, nothing was written`,
        ),
      );
    }
  }

  // The first flush waits for the end of this turn of the event loop, so calls made together (a
  // loop of `enqueue` without awaits, the REST API's concurrent requests) share a batch; later ones
  // gather while a batch is in flight.
  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight >= MAX_IN_FLIGHT) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (!this.closed && this.inFlight < MAX_IN_FLIGHT && this.pending.length > 0) {
      void this.write(this.pending.splice(0, this.callsOfNextBatch()));
    }
    if (this.pending.length === 0) this.disarmExpiry();
    this.notifyIdle();
  }

  /** How many of the first waiting calls the next batch takes: up to MAX_BATCH rows, at least one call. */
  private callsOfNextBatch(): number {
    let rows = (this.pending[0] as PendingCall).rows.length;
    let calls = 1;
    while (calls < this.pending.length) {
      rows += (this.pending[calls] as PendingCall).rows.length;
      if (rows > MAX_BATCH) break;
      calls += 1;
    }
    return calls;
  }

  private async write(batch: PendingCall[]): Promise<void> {
    this.inFlight += 1;
    this.writing.add(batch);
    try {
      const results = await this.insertRows(batch.flatMap((call) => call.rows));
      let offset = 0;
      for (const call of batch) {
        call.resolve(results.slice(offset, offset + call.rows.length));
        offset += call.rows.length;
      }
    } catch (error) {
      if (batch.length === 1 || isUnreachable(error)) {
        for (const call of batch) call.reject(error);
      } else {
        // Which row was refused is unknown: each call is written alone, so only its own call fails.
        // Not after closing gave up on them: each has failed already.
        for (const call of batch) {
          if (this.closed) break;
          try {
            call.resolve(await this.insertRows(call.rows));
          } catch (alone) {
            call.reject(alone);
          }
        }
      }
    } finally {
      this.inFlight -= 1;
      this.writing.delete(batch);
      this.flush();
    }
  }

  private async insertRows(rows: NewJob[]): Promise<JobInsertResult[]> {
    const results = await this.insertJobs(rows);
    if (results.length !== rows.length) {
      throw new NightshiftError(
        'internal',
        `the store returned ${results.length} results for ${rows.length} jobs`,
      );
    }
    return results;
  }

  // One timer, for the oldest waiting call: calls wait in order, so it expires first.
  private armExpiry(): void {
    const oldest = this.pending[0];
    if (this.expiryTimer !== undefined || oldest === undefined) return;
    const delay = Math.max(0, oldest.since + this.options.maxWaitMs - performance.now());
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expire();
      this.armExpiry();
    }, delay);
  }

  private disarmExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  private expire(): void {
    const now = performance.now();
    let stale = 0;
    while (
      stale < this.pending.length &&
      now - (this.pending[stale] as PendingCall).since >= this.options.maxWaitMs
    ) {
      stale += 1;
    }
    for (const call of this.pending.splice(0, stale)) {
      call.reject(
        new NightshiftError(
          'overloaded',
          `enqueue refused: waited ${this.options.maxWaitMs} ms for the database (enqueue.maxWaitMs); nothing was written`,
        ),
      );
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.pending.length > 0 || this.inFlight > 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}

/** The database cannot be reached: writing the rows one by one would only wait longer for the same answer. */
function isUnreachable(error: unknown): boolean {
  return error instanceof NightshiftError && error.code === 'database_unavailable';
}
