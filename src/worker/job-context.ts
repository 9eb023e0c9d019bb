/**
 * The `ctx` a handler receives: its job, its AbortSignal, and the fenced writes that make at-least-once
 * execution safe (checkpoints, durable steps, child jobs, heartbeats).
 *
 * Every write carries the attempt's lease token. When the store refuses one, this attempt has lost
 * the job to another: the write rejects with `LeaseLostError`, the signal aborts, and nothing of this
 * attempt is written any more.
 *
 * Step results and checkpoints must be JSON (`undefined` is stored as `null`); a step result is
 * limited to 1 MiB of JSON because it is read back on every re-run and lives in the job's rows.
 */
import { buildNewJob, assertJson } from '../enqueue.js';
import { LeaseLostError, NightshiftError } from '../errors.js';
import type { Job } from '../job.js';
import type { Logger } from '../logger.js';
import { attemptContext, traceEnqueue } from '../observe/tracing.js';
import type { Store } from '../store/store.js';
import { IN_TRANSACTION_KEYS, type JobContext } from '../task.js';
import type { TaskRegistry } from '../task-registry.js';
import { MAX_KEY_BYTES, textIn } from '../validation/bounds.js';
import { refuseUnknownKeys } from '../validation/known-keys.js';
import type { RunningAttempt } from './attempt.js';
import type { JobLogWriter } from './job-log-writer.js';
import { AttemptTransactions } from './job-transaction.js';
import type { HeldLeases } from './lease-holder.js';

/** Largest JSON encoding of a step result. */
export const MAX_STEP_RESULT_BYTES = 1024 * 1024;

/** What the context needs from its worker. */
export interface ContextDeps {
  store: Store;
  registry: TaskRegistry;
  /** The worker's lease length, used when the job has none of its own. */
  leaseMs: number;
  logger: Logger;
  /** Stores `ctx.log` lines with their attempt, in batches. */
  logs: JobLogWriter;
  /**
   * Told when a write is refused (the attempt is marked lost, its signal aborted), and once
   * `ctx.complete` committed inside `ctx.transaction` (the outcome is persisted: the lease is released).
   */
  leases: HeldLeases;
}

/**
 * Builds the handler context for one attempt. Only what a handler touches is built: the frozen job
 * copy, the signal and the methods are made on first read, because a short job that reads none of
 * them would otherwise spend more on its context than on itself.
 */
export function createJobContext(attempt: RunningAttempt, deps: ContextDeps): JobContext {
  return new AttemptContext(attempt, deps);
}

type ContextMethods = Omit<JobContext, 'job' | 'signal' | 'checkpoint'>;

class AttemptContext implements JobContext {
  private frozenJob: Readonly<Job> | null = null;
  private methods: ContextMethods | null = null;

  constructor(
    private readonly attempt: RunningAttempt,
    private readonly deps: ContextDeps,
  ) {}

  get job(): Readonly<Job> {
    if (this.frozenJob === null) {
      const { leaseToken: _token, traceContext: _trace, ...jobFields } = this.attempt.job;
      this.frozenJob = Object.freeze(jobFields);
    }
    return this.frozenJob;
  }

  get signal(): AbortSignal {
    return this.attempt.signal;
  }

  get checkpoint(): unknown {
    return this.attempt.job.checkpoint;
  }

  // The methods are closures bound to this attempt, as handlers may destructure them from ctx.
  get saveCheckpoint(): JobContext['saveCheckpoint'] {
    return this.bound().saveCheckpoint;
  }

  get transaction(): JobContext['transaction'] {
    return this.bound().transaction;
  }

  get complete(): JobContext['complete'] {
    return this.bound().complete;
  }

  get step(): JobContext['step'] {
    return this.bound().step;
  }

  get heartbeat(): JobContext['heartbeat'] {
    return this.bound().heartbeat;
  }

  get log(): JobContext['log'] {
    return this.bound().log;
  }

  get enqueue(): JobContext['enqueue'] {
    return this.bound().enqueue;
  }

  private bound(): ContextMethods {
    return (this.methods ??= contextMethods(this.attempt, this.deps));
  }
}

function contextMethods(attempt: RunningAttempt, deps: ContextDeps): ContextMethods {
  const { store } = deps;
  const { job } = attempt;
  let logger: Logger | null = null;

  const lost = (): LeaseLostError => {
    deps.leases.lost(attempt);
    return new LeaseLostError(job.id);
  };
  const ensureHeld = (): void => {
    if (attempt.leaseLost) throw new LeaseLostError(job.id);
  };
  const transactions = new AttemptTransactions(attempt, {
    store,
    leaseMs: deps.leaseMs,
    lost,
    onCommitted: (committed) => deps.leases.release(committed),
  });

  return {
    async saveCheckpoint(value: unknown, options?: { tx: unknown }): Promise<void> {
      if (options !== undefined) refuseUnknownKeys(options, IN_TRANSACTION_KEYS, 'ctx.saveCheckpoint option');
      ensureHeld();
      const checkpoint = value === undefined ? null : value;
      assertJson(checkpoint, 'checkpoint');
      // In a transaction the attempt's copy changes only after COMMIT (a release must not keep a
      // checkpoint that rolled back).
      if (options?.tx !== undefined) return transactions.saveCheckpoint(checkpoint, options.tx);
      transactions.assertNoneOpen('ctx.saveCheckpoint');
      // Recorded before the write so a shutdown release racing this call still keeps the newest value.
      attempt.checkpoint = checkpoint;
      if (!(await store.jobCheckpointSave({ ...attempt.ref, checkpoint }))) throw lost();
    },

    async step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
      if (typeof name !== 'string' || name.length === 0) {
        throw new NightshiftError('invalid_argument', 'step name must be a non-empty string');
      }
      ensureHeld();
      transactions.assertNoneOpen('ctx.step');
      const recorded = await store.jobStepGet({ jobId: job.id, name });
      if (recorded.found) return recorded.result as T;
      const value = await fn();
      const result = value === undefined ? null : value;
      const size = assertJson(result, `result of step "${name}"`);
      if (size > MAX_STEP_RESULT_BYTES) {
        throw new NightshiftError(
          'invalid_argument',
          `result of step "${name}" is ${size} bytes of JSON; the limit is ${MAX_STEP_RESULT_BYTES}. Store large data elsewhere and return a reference`,
        );
      }
      ensureHeld();
      if (!(await store.jobStepSave({ ...attempt.ref, name, result }))) throw lost();
      return value;
    },

    transaction(fn) {
      return transactions.run(fn);
    },

    async complete(result: unknown, options: { tx: unknown }): Promise<void> {
      refuseUnknownKeys(options, IN_TRANSACTION_KEYS, 'ctx.complete option');
      return transactions.complete(result, options.tx);
    },

    async heartbeat(): Promise<void> {
      ensureHeld();
      transactions.assertNoneOpen('ctx.heartbeat');
      const { renewed } = await store.jobLeaseRenew({ leases: [attempt.ref], leaseMs: deps.leaseMs });
      const mine = renewed.find((entry) => entry.id === job.id);
      if (!mine) throw lost();
      if (mine.cancelRequested) attempt.abort('cancel');
    },

    log(message: string, data?: Record<string, unknown>): void {
      // A pino child per job costs more than a short job: made on the first line logged.
      logger ??= deps.logger.child({ jobId: job.id, task: job.task, attempt: job.attempt });
      logger.info(data ?? {}, message);
      deps.logs.append(attempt, message, data);
    },

    async enqueue(task, payload, options) {
      if (typeof options?.key !== 'string' || options.key.length === 0) {
        throw new NightshiftError(
          'invalid_argument',
          'ctx.enqueue needs options.key, unique within this job',
        );
      }
      // The child's idempotency key is derived from `key`: one given as well would be dropped.
      if ('idempotencyKey' in options) {
        throw new NightshiftError(
          'invalid_argument',
          'ctx.enqueue takes no idempotencyKey: the child is created once per options.key within this job',
        );
      }
      ensureHeld();
      const { key, tx, ...rest } = options;
      // The child's key is stored after this prefix: `key` is refused by its own name and the room
      // left for it, not as an idempotencyKey the handler never gave.
      const keyPrefix = `child:${job.id}:`;
      textIn('key', key, MAX_KEY_BYTES - Buffer.byteLength(keyPrefix), { prefix: 'ctx.enqueue: ' });
      if (tx !== undefined) transactions.assertOpen(tx);
      else transactions.assertNoneOpen('ctx.enqueue');
      const row = await buildNewJob(
        deps.registry,
        task,
        payload,
        { ...rest, idempotencyKey: `${keyPrefix}${key}` },
        { parentId: job.id },
      );
      let inserted;
      try {
        // In a transaction the lease is checked before its COMMIT (job-transaction.ts); a fence here
        // would hold a share lock on the job row (PostgreSQL) for the rest of the transaction and
        // stall this very attempt's lease renewal.
        // The attempt's span is the parent even when the handler runs in a thread, where no context
        // of this process is active.
        inserted = await traceEnqueue(
          [row],
          () => store.jobInsertMany({ jobs: [row], ...(tx === undefined ? { fence: attempt.ref } : { tx }) }),
          attemptContext(attempt.span),
        );
      } catch (error) {
        if (error instanceof LeaseLostError) throw lost();
        throw error;
      }
      const first = inserted[0];
      if (!first) throw lost();
      return { id: first.job.id, created: first.created };
    },
  };
}
