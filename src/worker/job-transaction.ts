/**
 * Exactly-once database effects for handlers: `ctx.transaction(fn)`, `ctx.complete(result, { tx })`
 * and the `{ tx }` forms of `ctx.saveCheckpoint` and `ctx.enqueue`.
 *
 * At-least-once execution means a handler may run again after a crash; an effect on the job's own
 * database is still done exactly once when it commits in the same transaction as the progress that
 * records it (a checkpoint) or as the job's completion. A kill at any point then leaves both or
 * neither, and the next attempt resumes from whatever committed.
 *
 * Fencing: every job write inside carries the attempt's lease token, and before COMMIT the lease is
 * renewed inside the transaction (unless the completion already proved it). A fenced-off attempt's
 * transaction therefore rolls back, whatever `fn` did, and rejects with `LeaseLostError`; on
 * PostgreSQL the renewal also locks the job row until COMMIT so no rescue or re-claim slips in between.
 */
import { assertJson } from '../enqueue.js';
import { LeaseLostError, NightshiftError } from '../errors.js';
import type { JobFinish, Store } from '../store/store.js';
import type { RunningAttempt } from './attempt.js';

/** What one open `ctx.transaction` wrote so far, applied to the attempt only after COMMIT. */
interface Scope {
  checkpoint: { value: unknown } | null;
  finish: JobFinish | null;
}

/** What the transactions of one attempt need from the worker. */
export interface AttemptTransactionDeps {
  store: Store;
  /** Lease length used for the in-transaction renewal when the job has none of its own. */
  leaseMs: number;
  /** Marks the attempt lost and aborts its signal; returns the error to throw. */
  lost(): LeaseLostError;
  /** Called once a completion committed: the attempt's outcome is persisted. */
  onCommitted(attempt: RunningAttempt): void;
}

/** The transactions of one attempt. */
export class AttemptTransactions {
  private readonly open = new Map<unknown, Scope>();

  constructor(
    private readonly attempt: RunningAttempt,
    private readonly deps: AttemptTransactionDeps,
  ) {}

  /** `ctx.transaction`. */
  async run<T, Tx>(fn: (tx: Tx) => Promise<T> | T): Promise<T> {
    this.ensureCurrent();
    const { store } = this.deps;
    const { attempt } = this;
    const scope: Scope = { checkpoint: null, finish: null };
    const value = await store.transaction(async (tx) => {
      this.open.set(tx, scope);
      try {
        const result = await fn(tx as Tx);
        if (scope.finish === null) {
          const { renewed } = await store.jobLeaseRenew({
            leases: [attempt.ref],
            leaseMs: this.deps.leaseMs,
            tx,
          });
          if (renewed.length === 0) throw this.deps.lost();
        }
        // A handler that caught a refused write, or an attempt whose outcome the worker already
        // decided (timeout, shutdown), must not commit anything.
        this.ensureCurrent();
        return result;
      } finally {
        this.open.delete(tx);
      }
    });
    if (scope.checkpoint) attempt.checkpoint = scope.checkpoint.value;
    if (scope.finish) {
      attempt.committedFinish = scope.finish;
      attempt.finishSubmitted = true;
      this.deps.onCommitted(attempt);
    }
    return value;
  }

  /** `ctx.saveCheckpoint(value, { tx })`; `checkpoint` is already checked to be JSON. */
  async saveCheckpoint(checkpoint: unknown, tx: unknown): Promise<void> {
    const scope = this.scopeOf(tx);
    this.ensureCurrent();
    if (!(await this.deps.store.jobCheckpointSave({ ...this.attempt.ref, checkpoint, tx }))) {
      throw this.deps.lost();
    }
    scope.checkpoint = { value: checkpoint };
  }

  /** `ctx.complete(result, { tx })`. */
  async complete(result: unknown, tx: unknown): Promise<void> {
    const scope = this.scopeOf(tx);
    this.ensureCurrent();
    const stored = result === undefined ? null : result;
    assertJson(stored, 'completion result', 'invalid_result');
    const finish: JobFinish = { ...this.attempt.ref, outcome: 'completed', result: stored };
    if (this.attempt.maxDurationExceeded) finish.maxDurationExceeded = true;
    const { accepted } = await this.deps.store.jobFinishMany({ finishes: [finish], tx });
    if (accepted.length === 0) throw this.deps.lost();
    scope.finish = finish;
  }

  /**
   * Throws while a transaction of this attempt is open: a job write outside it would wait for it
   * (SQLite: the store connection is taken; PostgreSQL: the job row is locked) until a timeout.
   */
  assertNoneOpen(write: string): void {
    if (this.open.size > 0) {
      throw new NightshiftError(
        'invalid_argument',
        `${write} inside ctx.transaction must pass { tx } (or run after the transaction)`,
      );
    }
  }

  /** Throws unless `tx` is an open transaction of this attempt with no completion in it yet. */
  assertOpen(tx: unknown): void {
    this.scopeOf(tx);
  }

  private scopeOf(tx: unknown): Scope {
    const scope = this.open.get(tx);
    if (!scope) {
      throw new NightshiftError(
        'invalid_argument',
        'tx must be the handle of an open ctx.transaction of this job',
      );
    }
    if (scope.finish) {
      throw new NightshiftError(
        'invalid_argument',
        'the job was completed in this transaction; no more job writes',
      );
    }
    return scope;
  }

  private ensureCurrent(): void {
    if (this.attempt.leaseLost || this.attempt.finishSubmitted) throw new LeaseLostError(this.attempt.job.id);
  }
}
