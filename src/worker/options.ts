/**
 * Worker options, their defaults, and why each default is what it is.
 */
import { NightshiftError } from '../errors.js';
import {
  intIn,
  type Range,
  MAX_DELAY_MS,
  MAX_KEY_BYTES,
  queueNameIn,
  MAX_TIMER_MS,
  shown,
  textIn,
} from '../validation/bounds.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';
import { checkLabels, MAX_WORKER_LABELS } from '../validation/labels.js';
import type { Isolation } from '../task.js';
import { resolveIsolation, type ResolvedIsolation } from './isolation/task-isolation.js';

/** Default `pollIntervalMs` while the store hears other processes' events, and otherwise. */
const DEFAULT_LIVE_POLL_INTERVAL_MS = 30_000;
const DEFAULT_POLL_INTERVAL_MS = 2_000;
/** Default `heartbeatIntervalMs`. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
/**
 * Default `workerStaleMs`, also the bound the readers of the live workers (`ns.workers()`, the alerts,
 * the throttled counts, the task catalog) pass: each worker is judged by the longer of it and its own.
 */
export const DEFAULT_WORKER_STALE_MS = 30_000;

/** Options of `ns.startWorker()` (and the `worker` defaults given to `Nightshift.connect`). */
export interface WorkerOptions {
  /** Claim only from these queues; all queues when absent. */
  queues?: string[];
  /**
   * Labels this worker offers (docs/TENANCY.md, "Worker labels"), e.g. `['region:eu', 'gpu']`: it
   * claims jobs without requirements and those whose every required label is among these. Default
   * none: only jobs without requirements.
   */
  labels?: string[];
  /** Handlers running at once. Default 10. */
  concurrency?: number;
  /**
   * Lease length for jobs that set none. Default 30,000: short, so a crashed worker's jobs are
   * claimable again within ~tens of seconds; renewed every third of it while the handler runs.
   */
  leaseMs?: number;
  /**
   * Longest wait between claims when nothing wakes the worker. The poll is the safety net: new work, a
   * freed slot, the next scheduled job's due time and a rate's next start all wake it sooner. Default
   * 30,000 while the store hears other processes' events (PostgreSQL with its LISTEN connection up:
   * every enqueue, retry, resume and freed slot is then announced, and the worker claims at once when
   * that connection is lost or back, so the poll only catches a notification lost in flight); 2,000
   * otherwise (SQLite, PostgreSQL behind a transaction pooler without `listenUrl`, or while its LISTEN
   * connection is down). A value set here applies in both cases.
   */
  pollIntervalMs?: number;
  /**
   * Most jobs taken in one claim. Default 500: one round trip refills the ready buffer (`bufferSize`);
   * the buffer's allowance, not this, keeps slow jobs from being claimed ahead.
   */
  claimBatchMax?: number;
  /**
   * Most claimed jobs waiting in this worker for a free slot (the ready buffer), whatever the
   * concurrency. Default 500. The buffer fills only as far as about 50 ms of slot turnover: hundreds
   * of short jobs, none of slow ones, so other workers can take those. Buffered jobs hold leases this
   * worker renews (never rescued while waiting); a job waiting 10 s, or still waiting at `stop()`, is
   * handed back, attempt not spent. 0: claim only the free slots.
   */
  bufferSize?: number;
  /**
   * Handler time limit for jobs whose task sets none. Default 30 minutes, so a hung handler cannot
   * hold a slot forever; give long tasks their own `timeoutMs`.
   */
  timeoutMs?: number;
  /** After an abort, how long a handler may take to stop (e.g. to save a checkpoint). Default 2,000. */
  abortGraceMs?: number;
  /** Finishes per `jobFinishMany` batch. Default 500. */
  finishBatchSize?: number;
  /**
   * How long a finish waits in the buffer for others to share its statement. Default 5 ms; up to 4
   * times as long while finishes come fast enough to make a batch of 16 by then (finisher.ts).
   */
  finishFlushMs?: number;
  /**
   * How long shutdown keeps writing after handlers stop: outcomes, log lines and the worker's own rows,
   * all within this one deadline. Default 10,000.
   */
  flushTimeoutMs?: number;
  /**
   * Store unreachable for longer than this (no call succeeding, or one call unanswered) fails the
   * worker (`worker.failed`). Default 60,000; 0: no bound, the worker retries for as long as it runs.
   */
  maxStoreDownMs?: number;
  /** Rescue sweep interval; 0 disables the rescuer in this worker. Default 5,000. */
  rescueIntervalMs?: number;
  /** Retention sweep interval; 0 disables the pruner in this worker. Default 60,000. */
  pruneIntervalMs?: number;
  /** Finished jobs older than this are pruned. Default 7 days. */
  retentionMs?: number;
  /**
   * How often this worker records its heartbeat (and running count) in the workers table
   * (`ns.workers()`). Default 5,000: one primary-key UPDATE per worker every 5 s.
   */
  heartbeatIntervalMs?: number;
  /**
   * How long after its last heartbeat this worker counts as gone: left out of `ns.workers()`, the
   * alerts, the throttled counts and the task catalog, and its row forgotten by a rescuer's sweep
   * (killed without stopping). Default 30,000 (six missed heartbeats); must exceed
   * `heartbeatIntervalMs` (keep it several times longer, or one late beat drops the worker until its
   * next). Stored in the worker's row: every reader
   * and sweep judges it by the longer of this and its own bound (30,000 for the readers), so a longer
   * one keeps a worker whose handlers block its event loop for a while listed as live, while a shorter
   * one only lets this worker's rescuer forget killed workers' rows sooner.
   */
  workerStaleMs?: number;
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
   * Where handlers of tasks that set no `isolation` of their own run. Default `none` (in this
   * thread). `thread`: each in a pool of worker threads (see `Isolation` in task.ts); every such task
   * must then name its `module`, or `startWorker` throws `invalid_argument`.
   */
  isolation?: Isolation;
  /**
   * A claimed job whose task this worker does not implement is handed back, attempt not spent, and
   * waits `scheduled` this long before any worker may claim it again (its error names the task).
   * Default 30,000: short enough that a worker that implements it soon takes it, long enough that
   * workers without it do not spin on it. Route tasks to queues served by workers that run them.
   */
  unservedRetryMs?: number;
}

/** Worker options with every default applied. */
export type ResolvedWorkerOptions = Required<Omit<WorkerOptions, 'queues' | 'workerId' | 'isolation'>> & {
  /** `pollIntervalMs` while the store hears other processes' events (`pollIntervalMs` is the other). */
  livePollIntervalMs: number;
  queues: string[] | null;
  workerId: string | null;
  isolation: ResolvedIsolation;
};

/**
 * The range of each numeric worker option (validation/bounds.ts): durations that become timers stay
 * within Node's timer limit; counts within what one process can hold (the lease table, claim batches).
 */
export const WORKER_RANGES = {
  concurrency: [1, 10_000],
  leaseMs: [100, MAX_TIMER_MS],
  pollIntervalMs: [1, MAX_TIMER_MS],
  claimBatchMax: [1, 10_000],
  bufferSize: [0, 10_000],
  timeoutMs: [1, MAX_TIMER_MS],
  abortGraceMs: [0, MAX_TIMER_MS],
  finishBatchSize: [1, 10_000],
  finishFlushMs: [0, MAX_TIMER_MS],
  flushTimeoutMs: [0, MAX_TIMER_MS],
  maxStoreDownMs: [0, MAX_TIMER_MS],
  rescueIntervalMs: [0, MAX_TIMER_MS],
  pruneIntervalMs: [0, MAX_TIMER_MS],
  retentionMs: [0, MAX_DELAY_MS],
  unservedRetryMs: [0, MAX_TIMER_MS],
  heartbeatIntervalMs: [100, MAX_TIMER_MS],
  workerStaleMs: [200, MAX_TIMER_MS],
} as const satisfies Record<string, Range>;

/** The keys of WorkerOptions. */
export const WORKER_OPTION_NAMES = keyNames<WorkerOptions>({
  queues: true,
  labels: true,
  concurrency: true,
  leaseMs: true,
  pollIntervalMs: true,
  claimBatchMax: true,
  bufferSize: true,
  timeoutMs: true,
  abortGraceMs: true,
  finishBatchSize: true,
  finishFlushMs: true,
  flushTimeoutMs: true,
  maxStoreDownMs: true,
  rescueIntervalMs: true,
  pruneIntervalMs: true,
  retentionMs: true,
  heartbeatIntervalMs: true,
  workerStaleMs: true,
  workerId: true,
  leaseKeeper: true,
  isolation: true,
  unservedRetryMs: true,
});

/**
 * Applies defaults and checks every number; throws `invalid_argument` on nonsense, a misspelt option
 * included (`concurency` would otherwise run the default 10 handlers at once).
 */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  refuseUnknownKeys(options, WORKER_OPTION_NAMES, 'worker option');
  const resolved: ResolvedWorkerOptions = {
    queues: options.queues ?? null,
    labels: checkLabels('worker option labels', options.labels ?? [], MAX_WORKER_LABELS),
    concurrency: options.concurrency ?? 10,
    leaseMs: options.leaseMs ?? 30_000,
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    livePollIntervalMs: options.pollIntervalMs ?? DEFAULT_LIVE_POLL_INTERVAL_MS,
    claimBatchMax: options.claimBatchMax ?? 500,
    bufferSize: options.bufferSize ?? 500,
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
    isolation: resolveIsolation(options.isolation ?? 'none', 'worker option', 'invalid_argument'),
    unservedRetryMs: options.unservedRetryMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    workerStaleMs: options.workerStaleMs ?? DEFAULT_WORKER_STALE_MS,
  };
  for (const [option, range] of Object.entries(WORKER_RANGES) as Array<[keyof typeof WORKER_RANGES, Range]>) {
    intIn(`worker option ${option}`, resolved[option], range);
  }
  if (resolved.leaseKeeper !== 'thread' && resolved.leaseKeeper !== 'event-loop') {
    throw new NightshiftError(
      'invalid_argument',
      `worker option leaseKeeper must be 'thread' or 'event-loop'`,
    );
  }
  if (resolved.queues !== null) {
    // A JavaScript caller's `queues: 'mail'` names one queue, but not as a list.
    if (!Array.isArray(resolved.queues)) {
      throw new NightshiftError(
        'invalid_argument',
        `worker option queues must be an array of queue names, got ${shown(resolved.queues)}`,
      );
    }
    if (resolved.queues.length === 0) {
      throw new NightshiftError(
        'invalid_argument',
        'worker option queues must list at least one queue name (leave it out to serve every queue)',
      );
    }
    for (const queue of resolved.queues) queueNameIn('worker option queues', queue);
  }
  if (resolved.workerStaleMs <= resolved.heartbeatIntervalMs) {
    throw new NightshiftError(
      'invalid_argument',
      `worker option workerStaleMs (${resolved.workerStaleMs}) must exceed heartbeatIntervalMs (${resolved.heartbeatIntervalMs})`,
    );
  }
  if (resolved.workerId !== null) textIn('worker option workerId', resolved.workerId, MAX_KEY_BYTES);
  return resolved;
}
