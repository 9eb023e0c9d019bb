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
import { buildNewJob, assertJson, checkEnqueueItem, noteEnqueued } from '../enqueue.js';
import { EnqueueItemError, LeaseLostError, NightshiftError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Job } from '../job.js';
import type { Logger } from '../logger.js';
import { attemptContext, traceEnqueue } from '../observe/tracing.js';
import type { NewJob, Store } from '../store/store.js';
import { IN_TRANSACTION_KEYS, type ChildEnqueueOptions, type JobContext } from '../task.js';
import type { TaskRegistry } from '../task-registry.js';
import { MAX_KEY_BYTES, textIn } from '../validation/bounds.js';
import { refuseUnknownKeys, requireArray } from '../validation/known-keys.js';
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
  /** Where `job:enqueued` goes for each child created (metrics count them as this process's). */
  events: EventBus;
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

  get enqueueMany(): JobContext['enqueueMany'] {
    return this.bound().enqueueMany;
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
      const { tx, ...child } = childOptionsIn(options, job.id, 'ctx.enqueue');
      ensureHeld();
      if (tx !== undefined) transactions.assertOpen(tx);
      else transactions.assertNoneOpen('ctx.enqueue');
      const row = await childRow(task, payload, child);
      const [first] = await insertChildren([row], tx);
      if (!first) throw lost();
      return first;
    },

    async enqueueMany(items, options) {
      requireArray(items, 'ctx.enqueueMany items');
      if (options !== undefined) refuseUnknownKeys(options, IN_TRANSACTION_KEYS, 'ctx.enqueueMany option');
      const tx = options?.tx;
      ensureHeld();
      if (tx !== undefined) transactions.assertOpen(tx);
      else transactions.assertNoneOpen('ctx.enqueueMany');
      const rows: NewJob[] = [];
      // Which item first used each key: a repeated key would make the second item a silent copy of the first.
      const itemOfKey = new Map<string, number>();
      for (const [index, item] of (items as readonly unknown[]).entries()) {
        try {
          checkEnqueueItem(item);
          const child = childOptionsIn(item.options, job.id, 'ctx.enqueueMany');
          if ('tx' in child) {
            throw new NightshiftError(
              'invalid_argument',
              "an item takes no tx: pass { tx } as ctx.enqueueMany's second argument, for every child at once",
            );
          }
          const earlier = itemOfKey.get(child.key);
          if (earlier !== undefined) {
            throw new NightshiftError(
              'invalid_argument',
              `options.key ${JSON.stringify(child.key)} is item ${earlier}'s too: each child needs its own key`,
            );
          }
          itemOfKey.set(child.key, index);
          rows.push(await childRow(item.task, item.payload, child));
        } catch (error) {
          if (error instanceof NightshiftError) throw new EnqueueItemError(index, error);
          throw error;
        }
      }
      if (rows.length === 0) return [];
      const inserted = await insertChildren(rows, tx);
      // The fence refused the batch: nothing was written.
      if (inserted.length !== rows.length) throw lost();
      return inserted;
    },
  };

  /** The child's row; its idempotency key is derived from the parent's id and `key`. */
  function childRow(
    task: string,
    payload: unknown,
    options: Omit<ChildEnqueueOptions, 'tx'>,
  ): Promise<NewJob> {
    const { key, ...rest } = options;
    return buildNewJob(
      deps.registry,
      task,
      payload,
      { ...rest, idempotencyKey: `${childKeyPrefix(job.id)}${key}` },
      { parentId: job.id },
    );
  }

  /** Inserts the children in one statement, fenced by this attempt's lease (or in `tx`, checked at its COMMIT). */
  async function insertChildren(
    rows: NewJob[],
    tx: unknown,
  ): Promise<Array<{ id: string; created: boolean }>> {
    let inserted;
    try {
      // In a transaction the lease is checked before its COMMIT (job-transaction.ts); a fence here
      // would hold a share lock on the job row (PostgreSQL) for the rest of the transaction and
      // stall this very attempt's lease renewal.
      // The attempt's span is the parent even when the handler runs in a thread, where no context
      // of this process is active.
      inserted = await traceEnqueue(
        rows,
        () => store.jobInsertMany({ jobs: rows, ...(tx === undefined ? { fence: attempt.ref } : { tx }) }),
        attemptContext(attempt.span),
      );
    } catch (error) {
      if (error instanceof LeaseLostError) throw lost();
      throw error;
    }
    noteEnqueued(deps.events, inserted);
    return inserted.map(({ job: child, created }) => ({ id: child.id, created }));
  }
}

/** The stored idempotency key of a child starts with this; `key` follows it. */
function childKeyPrefix(parentId: string): string {
  return `child:${parentId}:`;
}

/**
 * A child's options, checked: `key` is required and fits beside its prefix, and no `idempotencyKey` is
 * given (it is derived from `key`: one given as well would be dropped).
 */
function childOptionsIn(options: unknown, parentId: string, what: string): ChildEnqueueOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new NightshiftError('invalid_argument', `${what} needs options with a key, unique within this job`);
  }
  const { key } = options as { key?: unknown };
  if (typeof key !== 'string' || key.length === 0) {
    throw new NightshiftError('invalid_argument', `${what} needs options.key, unique within this job`);
  }
  if ('idempotencyKey' in options) {
    throw new NightshiftError(
      'invalid_argument',
      `${what} takes no idempotencyKey: the child is created once per options.key within this job`,
    );
  }
  // `key` is refused by its own name and the room left for it beside the prefix, not as an
  // idempotencyKey the handler never gave.
  textIn('key', key, MAX_KEY_BYTES - Buffer.byteLength(childKeyPrefix(parentId)), { prefix: `${what}: ` });
  return options as ChildEnqueueOptions;
}
