/**
 * Worker options, their defaults, and why each default is what it is.
 */
import { NightshiftError } from '../errors.js';

/** Options of `ns.startWorker()` (and the `worker` defaults given to `Nightshift.connect`). */
export interface WorkerOptions {
  /** Claim only from these queues; all queues when absent. */
  queues?: string[];
  /** Handlers running at once. Default 10. */
  concurrency?: number;
  /**
   * Lease length for jobs that set none. Default 30,000: short, so a crashed worker's jobs are
   * claimable again within ~tens of seconds; renewed every third of it while the handler runs.
   */
  leaseMs?: number;
  /** Fallback poll when no store event arrives. Default 1,000. */
  pollIntervalMs?: number;
  /** Most jobs taken in one claim. Default 100: bigger batches add latency for other workers. */
  claimBatchMax?: number;
  /**
   * Handler time limit for jobs whose task sets none. Default 30 minutes, so a hung handler cannot
   * hold a slot forever; give long tasks their own `timeoutMs`.
   */
  timeoutMs?: number;
  /** After an abort, how long a handler may take to stop (e.g. to save a checkpoint). Default 2,000. */
  abortGraceMs?: number;
  /** Finishes per `jobFinishMany` batch. Default 500. */
  finishBatchSize?: number;
  /** Longest a finish waits in the buffer. Default 5 ms. */
  finishFlushMs?: number;
  /** How long shutdown keeps trying to write outcomes after handlers stop. Default 10,000. */
  flushTimeoutMs?: number;
  /** Store unreachable for longer than this fails the worker (`worker.failed`). Default 60,000. */
  maxStoreDownMs?: number;
  /** Rescue sweep interval; 0 disables the rescuer in this worker. Default 5,000. */
  rescueIntervalMs?: number;
  /** Retention sweep interval; 0 disables the pruner in this worker. Default 60,000. */
  pruneIntervalMs?: number;
  /** Finished jobs older than this are pruned. Default 7 days. */
  retentionMs?: number;
  /** Identifies this worker in job rows and run history. Default host:pid:random. */
  workerId?: string;
  /**
   * Where leases are renewed. `thread` (default): a worker thread with its own connection, so a
   * handler blocking the event loop keeps its lease (lease-keeper.ts); it stops renewing an attempt
   * past its timeout plus abort grace, so a stuck job is still rescued. `event-loop`: a timer on the
   * main thread, no extra thread or connection. An in-memory SQLite database always uses the event loop.
   */
  leaseKeeper?: 'thread' | 'event-loop';
  /**
   * A claimed job whose task this worker does not implement is handed back, attempt not spent, and
   * waits `scheduled` this long before any worker may claim it again (its error names the task).
   * Default 30,000: short enough that a worker that implements it soon takes it, long enough that
   * workers without it do not spin on it. Route tasks to queues served by workers that run them.
   */
  unservedRetryMs?: number;
}

/** Worker options with every default applied. */
export type ResolvedWorkerOptions = Required<Omit<WorkerOptions, 'queues' | 'workerId'>> & {
  queues: string[] | null;
  workerId: string | null;
};

/** Applies defaults and checks every number; throws `invalid_argument` on nonsense. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const resolved: ResolvedWorkerOptions = {
    queues: options.queues ?? null,
    concurrency: options.concurrency ?? 10,
    leaseMs: options.leaseMs ?? 30_000,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    claimBatchMax: options.claimBatchMax ?? 100,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    abortGraceMs: options.abortGraceMs ?? 2_000,
    finishBatchSize: options.finishBatchSize ?? 500,
    finishFlushMs: options.finishFlushMs ?? 5,
    flushTimeoutMs: options.flushTimeoutMs ?? 10_000,
    maxStoreDownMs: options.maxStoreDownMs ?? 60_000,
    rescueIntervalMs: options.rescueIntervalMs ?? 5_000,
    pruneIntervalMs: options.pruneIntervalMs ?? 60_000,
    retentionMs: options.retentionMs ?? 7 * 24 * 3_600_000,
    workerId: options.workerId ?? null,
    leaseKeeper: options.leaseKeeper ?? 'thread',
    unservedRetryMs: options.unservedRetryMs ?? 30_000,
  };
  const atLeast = {
    concurrency: 1,
    leaseMs: 100,
    pollIntervalMs: 1,
    claimBatchMax: 1,
    timeoutMs: 1,
    abortGraceMs: 0,
    finishBatchSize: 1,
    finishFlushMs: 0,
    flushTimeoutMs: 0,
    maxStoreDownMs: 0,
    rescueIntervalMs: 0,
    pruneIntervalMs: 0,
    retentionMs: 0,
    unservedRetryMs: 0,
  } as const;
  for (const [field, min] of Object.entries(atLeast) as Array<[keyof typeof atLeast, number]>) {
    const value = resolved[field];
    if (!Number.isSafeInteger(value) || value < min) {
      throw new NightshiftError('invalid_argument', `worker option ${field} must be an integer >= ${min}`);
    }
  }
  if (resolved.leaseKeeper !== 'thread' && resolved.leaseKeeper !== 'event-loop') {
    throw new NightshiftError(
      'invalid_argument',
      `worker option leaseKeeper must be 'thread' or 'event-loop'`,
    );
  }
  if (resolved.queues !== null && (resolved.queues.length === 0 || resolved.queues.some((q) => !q))) {
    throw new NightshiftError(
      'invalid_argument',
      'worker option queues must list at least one non-empty name',
    );
  }
  return resolved;
}
