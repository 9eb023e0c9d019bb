/**
 * Worker: claims jobs, runs their handlers with bounded concurrency, keeps their leases, writes their
 * outcomes, and shuts down gracefully. Created by `ns.startWorker()`.
 *
 * Hot path, designed so no step costs a round trip per job:
 * - claim: one `jobClaim` for as many jobs as there are free slots (at most `claimBatchMax`); a full
 *   batch means backlog, so it claims again at once; otherwise it waits for a store `job:ready` event,
 *   a freed slot, or `pollIntervalMs` (events are an optimisation, the poll is the guarantee);
 * - leases: one timer renews every lease this worker holds in one `jobLeaseRenew`, every third of the
 *   shortest lease held; an attempt missing from the answer lost its lease and is aborted;
 * - outcomes: buffered by the Finisher and written with `jobFinishMany` in batches.
 *
 * A job's lease is held (and renewed) from claim until its outcome is persisted, not just while the
 * handler runs, so a slow or failing flush never lets a finished job be rescued and run again.
 *
 * Shutdown (`stop({ graceMs = 30000 })`): stop claiming at once; running handlers get `graceMs` to
 * finish; the rest are aborted (reason `WorkerShutdownError`), given `abortGraceMs` to save a
 * checkpoint, and released: back to `queued`, the attempt not spent, the checkpoint kept. A later
 * `stop({ force: true })` skips what is left of both waits.
 *
 * Caveats: a handler that ignores its signal keeps running in the background after its slot is
 * reused (JavaScript cannot kill it in this thread; one isolated in a handler thread, isolation/, has
 * its thread terminated). A busy loop that blocks the event loop longer than the lease
 * does not stop renewal by default: leases are renewed from a thread of its own (lease-keeper.ts)
 * until the attempt's timeout plus abort grace; with `leaseKeeper: 'event-loop'` it does, and the job
 * may then run twice (fencing refuses the stale attempt's writes).
 */
import { hostname } from 'node:os';
import { v7 as uuidv7 } from 'uuid';
import type { AttemptEventBase, EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import { Pruner } from '../maintenance/pruner.js';
import { Rescuer } from '../maintenance/rescuer.js';
import type { ClaimedJob, JobFinish, Store } from '../store/store.js';
import type { Handler } from '../task.js';
import { DEFAULT_BACKOFF, type TaskRegistry } from '../task-registry.js';
import { RunningAttempt, type AttemptHost, type AttemptOutcome } from './attempt.js';
import { CancelWatch } from './cancel-watch.js';
import { holdEscapedErrors } from './escaped-errors.js';
import { HandlerThreadPool } from './isolation/handler-threads.js';
import { threadTargets, type ThreadTarget } from './isolation/task-isolation.js';
import { Finisher, type FinishListener } from './finisher.js';
import { endAttemptSpan, runInSpan, startAttemptSpan } from '../observe/tracing.js';
import { LeaseKeeper } from './lease-keeper.js';
import { renewIntervalMs } from './lease-table.js';
import { Prefetch } from './prefetch.js';
import { WorkerRegistration } from './registration.js';
import { createJobContext, type ContextDeps } from './job-context.js';
import { JobLogWriter } from './job-log-writer.js';
import { attemptEventBase, emitPersisted, finishFor, finishPersisted } from './outcome.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options.js';
import { sleep, within } from '../runtime/sleep.js';
import { Backoff } from '../runtime/backoff.js';
import { StoreHealth } from '../runtime/store-health.js';

/** Claims in flight at once: a second overlaps the first's round trip (see runClaimLoop). */
const CLAIM_LANES = 2;
/**
 * Longest a prefetched attempt waits for a slot before it is handed back (a `released` run row records
 * it). The turnover-based allowance keeps waits near one claim round trip; only a burst of long jobs
 * right after short ones gets here, and ten seconds stays clear of a slow commit on a loaded machine.
 */
const PREFETCH_TTL_MS = 10_000;

/** Options of `worker.stop()`. */
export interface StopOptions {
  /** How long running handlers may take to finish before they are aborted. Default 30,000. */
  graceMs?: number;
  /** Release running jobs now, skipping whatever grace is left (a second SIGTERM). */
  force?: boolean;
}

/** What a worker needs from its Nightshift instance. */
export interface WorkerDeps {
  store: Store;
  registry: TaskRegistry;
  events: EventBus;
  logger: Logger;
}

/** A running worker. */
export class Worker {
  /** Identifies this worker in job rows and run history. */
  readonly id: string;
  /**
   * Resolves when the worker stopped normally; rejects with `NightshiftError('database_unavailable')`
   * when the store stayed unreachable past `maxStoreDownMs` (the worker then stops by itself).
   */
  readonly failed: Promise<void>;

  private readonly options: ResolvedWorkerOptions;
  private readonly store: Store;
  private readonly registry: TaskRegistry;
  private readonly events: EventBus;
  private readonly logger: Logger;
  private readonly health: StoreHealth;
  private readonly finisher: Finisher<RunningAttempt>;
  // Made once and shared by every attempt: per-attempt callbacks cost an allocation (and a closure)
  // each, at tens of thousands of attempts a second.
  private readonly attemptHost: AttemptHost;
  private readonly contextDeps: ContextDeps;
  private readonly logs: JobLogWriter;
  /** The handler thread of each task run isolated (isolation/), and the threads that run them. */
  private readonly threadTargets: Map<string, ThreadTarget>;
  private readonly threads: HandlerThreadPool | null;
  private readonly rescuer: Rescuer | null;
  private readonly pruner: Pruner | null;
  /** This worker's row in the workers table, heartbeated while it runs. */
  private readonly registration: WorkerRegistration;
  /** Attempts whose handler has not settled: the slots in use. */
  private readonly running = new Set<RunningAttempt>();
  // The attempts themselves, not their job ids or tokens: after a stall this worker may re-claim a job
  // it still runs a stale attempt of, and all jobs of one claim share a token on PostgreSQL.
  /** Attempts whose lease this worker holds: running, or finished but not yet persisted. */
  private readonly held = new Set<RunningAttempt>();
  /** The newest held attempt of each job id. */
  private readonly heldByJob = new Map<string, RunningAttempt>();
  private readonly stopping = new AbortController();
  private readonly stopped = new AbortController();
  private readonly forced = new AbortController();
  /** Claimed attempts waiting for a slot (prefetch.ts); their leases are held like running ones. */
  private readonly prefetch: Prefetch<RunningAttempt>;
  /** Jobs asked for by claims still in flight. */
  private reserved = 0;
  /** Claim loops waiting for a wake-up. */
  private readonly wakers = new Set<() => void>();
  private wakePending = false;
  /** True while startAll runs: a slot freed by a synchronous handler is refilled by its loop. */
  private starting = false;
  private stopPromise: Promise<void> | null = null;
  private claimLoop: Promise<void> = Promise.resolve();
  private renewLoop: Promise<void> = Promise.resolve();
  private unlisten: (() => void) | null = null;
  /** Brings cancel requests to running handlers between renewals (cancel-watch.ts). */
  private readonly cancelWatch: CancelWatch;
  /** Gives back this worker's hold on the escaped-error listeners (escaped-errors.ts). */
  private releaseEscapedErrors: (() => void) | null = null;
  /** Renews leases from a thread of its own (lease-keeper.ts); null when renewal runs on the event loop. */
  private keeper: LeaseKeeper<RunningAttempt> | null = null;
  private settleFailed!: (error?: Error) => void;

  constructor(deps: WorkerDeps, options: WorkerOptions = {}) {
    this.options = resolveWorkerOptions(options);
    this.threadTargets = threadTargets(deps.registry.all(), this.options.isolation);
    this.prefetch = new Prefetch({ max: this.options.claimBatchMax, ttlMs: PREFETCH_TTL_MS });
    this.store = deps.store;
    this.registry = deps.registry;
    this.events = deps.events;
    this.id = this.options.workerId ?? `${hostname()}:${process.pid}:${uuidv7().slice(-12)}`;
    this.logger = deps.logger.child({ workerId: this.id });
    this.threads =
      this.threadTargets.size > 0 ? new HandlerThreadPool(this.options.concurrency, this.logger) : null;
    this.failed = new Promise<void>((resolve, reject) => {
      this.settleFailed = (error) => (error ? reject(error) : resolve());
    });
    // Marks the rejection handled; callers who await `failed` still see it.
    this.failed.catch(() => undefined);
    this.health = new StoreHealth({
      maxStoreDownMs: this.options.maxStoreDownMs,
      events: this.events,
      logger: this.logger,
      onFatal: (error) => this.fail(error),
    });
    this.finisher = new Finisher(this.store, this.health, this.logger, this.finishListener(), {
      batchSize: this.options.finishBatchSize,
      flushMs: this.options.finishFlushMs,
      // Without it a claim loop held back by unwritten outcomes slept a whole poll interval after the
      // backlog was gone: a third of the wall time of a 20,000-job drain.
      onFlushed: () => this.wake(),
    });
    this.attemptHost = {
      abortGraceMs: this.options.abortGraceMs,
      maxDurationExceeded: (attempt) => this.reportMaxDuration(attempt),
      escapedLate: (attempt, error) => this.reportEscapedLate(attempt, error),
    };
    this.logs = new JobLogWriter(this.store, this.logger);
    this.contextDeps = {
      store: this.store,
      registry: this.registry,
      leaseMs: this.options.leaseMs,
      logger: this.logger,
      logs: this.logs,
      onLeaseLost: (lost) => this.leaseLost(lost),
      onCancelRequested: (cancelled) => cancelled.abort('cancel'),
      onCommitted: (committed) => this.unhold(committed),
    };
    this.cancelWatch = new CancelWatch(
      this.store,
      {
        running: () => this.running,
        // The newest attempt of the job, as a renewal's cancel report would name it.
        cancel: (id) => this.heldByJob.get(id)?.abort('cancel'),
      },
      this.options.pollIntervalMs,
      this.logger,
    );
    const { rescueIntervalMs, pruneIntervalMs, retentionMs, workerStaleMs } = this.options;
    this.rescuer =
      rescueIntervalMs > 0
        ? new Rescuer(this.store, this.health, this.events, this.logger, {
            intervalMs: rescueIntervalMs,
            batchSize: 1_000,
            workerStaleMs,
          })
        : null;
    this.pruner =
      pruneIntervalMs > 0
        ? new Pruner(this.store, this.health, this.events, this.logger, {
            retentionMs,
            intervalMs: pruneIntervalMs,
            batchSize: 1_000,
          })
        : null;
    this.registration = new WorkerRegistration(
      this.store,
      {
        id: this.id,
        queues: this.options.queues,
        concurrency: this.options.concurrency,
        running: () => this.running.size,
      },
      this.health,
      this.options.heartbeatIntervalMs,
    );
  }

  /**
   * Resolves true once leases are renewed from the lease-keeper thread, false when this worker
   * renews on its event loop (option `leaseKeeper: 'event-loop'`, an in-memory database, or a thread
   * that failed to start).
   */
  leaseKeeperReady(): Promise<boolean> {
    return this.keeper?.ready ?? Promise.resolve(false);
  }

  /** Slots: at most this many handlers run at once. */
  get concurrency(): number {
    return this.options.concurrency;
  }

  /** Handlers running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Starts claiming. Called once by `ns.startWorker()`. */
  start(): void {
    const queues = this.options.queues;
    this.unlisten = this.store.listen('job:ready', ({ queue }) => {
      if (queues === null || queues.includes(queue)) this.wake();
    });
    this.keeper = this.startKeeper();
    this.cancelWatch.start();
    this.releaseEscapedErrors = holdEscapedErrors();
    this.claimLoop = Promise.all(
      Array.from({ length: CLAIM_LANES }, (_, lane) => this.runClaimLoop(lane)),
    ).then(() => undefined);
    this.renewLoop = this.runRenewLoop();
    this.registration.start();
    this.rescuer?.start();
    this.pruner?.start();
    this.logger.info({ queues, concurrency: this.options.concurrency }, 'worker started');
    this.events.emit('worker:started', { workerId: this.id, queues, concurrency: this.options.concurrency });
  }

  /** Stops gracefully (see the module header); calling it again with `force` hurries a stop in progress. */
  stop(options: StopOptions = {}): Promise<void> {
    if (options.force) {
      this.forced.abort();
      for (const attempt of this.running) {
        attempt.abort('shutdown');
        attempt.cutGrace();
      }
    }
    this.stopPromise ??= this.shutdown(options.graceMs ?? 30_000);
    return this.stopPromise;
  }

  private wake(): void {
    if (this.wakers.size === 0) {
      this.wakePending = true;
      return;
    }
    for (const waker of this.wakers) waker();
    this.wakers.clear();
  }

  private async waitForWake(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return;
    }
    const controller = new AbortController();
    const waker = (): void => controller.abort();
    this.wakers.add(waker);
    this.stopping.signal.addEventListener('abort', waker, { once: true });
    await sleep(ms, controller.signal);
    this.stopping.signal.removeEventListener('abort', waker);
    this.wakers.delete(waker);
    this.wakePending = false;
  }

  /**
   * One claim lane; `CLAIM_LANES` of them run at once. Lane 0 is the claim loop proper. The others
   * claim only while there is a prefetch allowance (short jobs at a high rate): then a second claim
   * travels while the first lane's batch runs. Otherwise they stay out of the way, so an idle or
   * long-job worker still polls once per interval and has at most one claim in flight (a claim in
   * flight when `stop()` begins can only hand its jobs back). Every lane claims only while slots plus
   * allowance leave room beyond what is running, waiting and already asked for.
   */
  private async runClaimLoop(lane: number): Promise<void> {
    const backoff = new Backoff();
    const { concurrency, claimBatchMax, pollIntervalMs, leaseMs, finishBatchSize } = this.options;
    while (!this.stopping.signal.aborted) {
      // Let handlers that finish in the same burst free their slots first: one claim for many slots
      // instead of one claim (a round trip) per freed slot.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (const stale of this.prefetch.takeStale()) this.releaseUnstarted(stale);
      const allowance = this.prefetch.allowance();
      const room =
        lane > 0 && allowance === 0
          ? 0
          : concurrency + allowance - this.running.size - this.prefetch.size - this.reserved;
      // Backpressure: when outcomes pile up unwritten (slow or failing store) stop taking new work.
      if (room <= 0 || this.finisher.size >= finishBatchSize * 4) {
        await this.waitForWake(
          this.prefetch.size > 0 ? Math.min(pollIntervalMs, PREFETCH_TTL_MS) : pollIntervalMs,
        );
        continue;
      }
      // No claim asks for more than the slots: a prefetch is the other lane's claim, not a bigger one.
      const limit = Math.min(room, claimBatchMax, concurrency);
      const sentAt = performance.now();
      let jobs: ClaimedJob[];
      this.reserved += limit;
      try {
        jobs = await this.health.watch(
          'claim',
          this.store.jobClaim({
            workerId: this.id,
            limit,
            leaseMs,
            ...(this.options.queues ? { queues: this.options.queues } : {}),
          }),
        );
        this.health.ok();
        backoff.reset();
      } catch (error) {
        const delay = backoff.next();
        this.health.failed('claim', error, delay);
        await sleep(delay, this.stopping.signal);
        continue;
      } finally {
        this.reserved -= limit;
      }
      this.prefetch.claimAnswered(performance.now() - sentAt);
      if (this.stopping.signal.aborted) {
        // Claimed while stop() began: hand them straight back, attempt not spent.
        for (const job of jobs) this.releaseUnstarted(this.admit(job, 0));
        break;
      }
      // Waiting attempts are older than this batch and go first; they exist only while slots are full.
      let free = concurrency - this.running.size - this.prefetch.size;
      // Every lease of the batch is held (visible to the keeper thread) before any of its handlers
      // runs: a handler may block the event loop for good as soon as it is called.
      const starting: RunningAttempt[] = [];
      for (const job of jobs) {
        if (free > 0) {
          free -= 1;
          starting.push(this.admit(job, 0));
        } else {
          this.prefetch.push(this.admit(job, PREFETCH_TTL_MS));
        }
      }
      this.startAll(starting);
      if (jobs.length < limit) await this.waitForWake(pollIntervalMs);
    }
  }

  /**
   * Takes a claimed job into this worker: its attempt, its lease held from now. `waitMs` is the most
   * it may wait for a slot, added to the deadline past which the keeper stops renewing a stuck handler.
   */
  private admit(job: ClaimedJob, waitMs: number): RunningAttempt {
    const task = this.registry.get(job.task) ?? null;
    const timeoutMs = job.timeoutMs ?? task?.timeoutMs ?? this.options.timeoutMs;
    const attempt = new RunningAttempt(job, task, timeoutMs, this.attemptHost);
    // A new claim of a job this worker still holds proves the older attempt's lease is gone.
    const older = this.heldByJob.get(job.id);
    if (older) this.leaseLost(older);
    this.hold(attempt, older, Date.now() + waitMs + timeoutMs + this.options.abortGraceMs);
    return attempt;
  }

  private reportEscapedLate(attempt: RunningAttempt, error: unknown): void {
    const { job } = attempt;
    this.logger.warn(
      { err: error, jobId: job.id, task: job.task, attempt: job.attempt },
      'an error escaped a job after its attempt ended (a timer or promise it left behind); ignored',
    );
  }

  private reportMaxDuration(attempt: RunningAttempt): void {
    const { job } = attempt;
    const maxDurationMs = attempt.task?.maxDurationMs ?? 0;
    this.logger.warn(
      { jobId: job.id, task: job.task, attempt: job.attempt, maxDurationMs },
      'job is running longer than its max duration',
    );
    this.events.emit('job:max_duration', { ...this.eventBase(attempt), maxDurationMs });
  }

  /**
   * Starts admitted attempts (their leases held already) in free slots, then as many waiting ones as
   * slots free up. A synchronous handler ends inside `begin`; while attempts are being started, the
   * slot it frees is refilled by this loop, not from inside that handler's end (no recursion, and the
   * attempts still to start keep the slots they were counted in).
   */
  private startAll(attempts: RunningAttempt[]): void {
    this.starting = true;
    try {
      for (const attempt of attempts) this.begin(attempt);
      while (this.running.size < this.options.concurrency && !this.stopping.signal.aborted) {
        const next = this.prefetch.shift();
        if (!next) return;
        this.begin(next);
      }
    } finally {
      this.starting = false;
    }
  }

  /** Starts waiting attempts in free slots, oldest first. */
  private fillSlots(): void {
    if (!this.starting) this.startAll([]);
  }

  /** Runs an admitted attempt in a slot; its handler is called at once. */
  private begin(attempt: RunningAttempt): void {
    if (this.events.has('job:claimed')) {
      const { runAt, startedAt } = attempt.job;
      this.events.emit('job:claimed', { ...this.eventBase(attempt), runAt, startedAt: startedAt ?? runAt });
    }
    // Added before the handler runs: an attempt that ends synchronously must find itself here.
    this.running.add(attempt);
    attempt.started = true;
    this.execute(attempt);
  }

  /**
   * Runs an attempt and hands its outcome to the finisher: at once for a synchronous handler, when it
   * settles for an asynchronous one (`attempt.done` follows it). Never throws; internal errors are logged.
   */
  private execute(attempt: RunningAttempt): void {
    try {
      const { job, task } = attempt;
      const span = startAttemptSpan(job);
      attempt.span = span;
      if (!task?.handler) {
        // A task this worker does not implement (another process enqueued it, or registered only its
        // contract here): handed back unspent to wait for a worker that does. The claim cannot skip
        // such jobs: it does not filter by task.
        const message = `unknown task "${job.task}": no handler registered in worker ${this.id}; waiting for a worker that implements it`;
        this.logger.warn(
          { jobId: job.id, task: job.task, retryInMs: this.options.unservedRetryMs },
          'no handler for this task here: job handed back to wait for a worker that implements it',
        );
        this.ended(attempt, {
          kind: 'released',
          error: { message, name: 'NightshiftError', code: 'unknown_task', reason: 'released' },
          retryDelayMs: this.options.unservedRetryMs,
        });
        return;
      }
      const target = this.threads ? this.threadTargets.get(task.name) : undefined;
      const handler: Handler = target
        ? (_payload, ctx) => (this.threads as HandlerThreadPool).run(attempt, target, ctx)
        : task.handler;
      const outcome = runInSpan(span, () =>
        attempt.run(handler, createJobContext(attempt, this.contextDeps)),
      );
      if (outcome instanceof Promise) {
        attempt.done = outcome.then(
          (settled) => {
            this.keeper?.settled(attempt);
            this.ended(attempt, settled);
          },
          (error: unknown) => this.internalError(attempt, error),
        );
        return;
      }
      this.keeper?.settled(attempt);
      this.ended(attempt, outcome);
    } catch (error) {
      this.internalError(attempt, error);
    }
  }

  private internalError(attempt: RunningAttempt, error: unknown): void {
    this.logger.error({ err: error, jobId: attempt.job.id }, 'internal error while finishing an attempt');
  }

  /** Frees an attempt's slot and hands its outcome on. Never throws; internal errors are logged. */
  private ended(attempt: RunningAttempt, outcome: AttemptOutcome): void {
    try {
      const { task } = attempt;
      this.running.delete(attempt);
      this.prefetch.attemptEnded();
      this.fillSlots();
      this.wake();
      if (attempt.committedFinish) {
        // Completed inside the handler's own transaction: persisted already, whatever came after.
        this.logs.attemptEnded(attempt, () => undefined);
        this.unhold(attempt);
        endAttemptSpan(attempt.span, attempt.committedFinish.outcome);
        this.emitOutcome(attempt, attempt.committedFinish);
      } else if (outcome.kind === 'lease_lost') {
        this.logs.attemptEnded(attempt, () => undefined);
        this.unhold(attempt);
        endAttemptSpan(attempt.span, 'lease_lapsed');
      } else {
        attempt.finishSubmitted = true;
        const finish = finishFor(attempt, outcome, task?.backoff ?? DEFAULT_BACKOFF);
        // The outcome waits for the attempt's log lines (a few ms, batched with other attempts' ends),
        // so a job seen final has all its lines stored; at once when it logged nothing unwritten.
        this.logs.attemptEnded(attempt, () => this.finisher.add(finish, attempt));
      }
    } catch (error) {
      this.internalError(attempt, error);
    }
  }

  /** What happens once an attempt's finish is written, refused, or in doubt. */
  private finishListener(): FinishListener<RunningAttempt> {
    return {
      accepted: (attempt, finish) => {
        this.unhold(attempt);
        endAttemptSpan(attempt.span, finish.outcome, finish.error);
        // An attempt handed back without running reports nothing: no handler ran.
        if (attempt.started) this.emitOutcome(attempt, finish);
      },
      refused: (attempt) => {
        this.unhold(attempt);
        endAttemptSpan(attempt.span, 'lease_lapsed');
        if (attempt.started) this.leaseLost(attempt, true);
      },
      persisted: (attempt, finish) => (attempt.started ? finishPersisted(this.store, attempt, finish) : null),
    };
  }

  private emitOutcome(attempt: RunningAttempt, finish: JobFinish): void {
    // The common case at high throughput: a success nobody listens for costs no allocation.
    if (finish.outcome === 'completed' && !this.events.has('job:completed')) return;
    emitPersisted(this.events, this.logger, attempt, this.id, finish);
  }

  /** Marks an attempt as fenced off: aborts its signal and reports it once. */
  private leaseLost(attempt: RunningAttempt, refusedFinish = false): void {
    if (attempt.leaseLost) return;
    attempt.leaseLost = true;
    attempt.abort('lease_lost');
    this.logger.warn(
      { jobId: attempt.job.id, task: attempt.job.task, attempt: attempt.job.attempt, refusedFinish },
      'lease lost: another attempt owns this job now; this attempt’s writes are refused',
    );
    this.events.emit('job:lease_lost', this.eventBase(attempt));
  }

  private renewIntervalMs(): number {
    let shortest = this.options.leaseMs;
    for (const attempt of this.held) {
      if (attempt.job.leaseMs !== null && attempt.job.leaseMs < shortest) shortest = attempt.job.leaseMs;
    }
    return renewIntervalMs(shortest);
  }

  private async runRenewLoop(): Promise<void> {
    const backoff = new Backoff();
    let delay = this.renewIntervalMs();
    while (!this.stopped.signal.aborted) {
      await sleep(delay, this.stopped.signal);
      if (this.stopped.signal.aborted) return;
      delay = this.renewIntervalMs();
      const targets = [...this.held].filter((attempt) => !attempt.leaseLost);
      // The keeper thread renews while it runs; this loop takes over if it ever stops.
      if (targets.length === 0 || this.keeper?.running) continue;
      let renewed: Array<{ id: string; cancelRequested: boolean }>;
      try {
        ({ renewed } = await this.health.watch(
          'renew',
          this.store.jobLeaseRenew({
            leases: targets.map((attempt) => attempt.ref),
            leaseMs: this.options.leaseMs,
          }),
        ));
        this.health.ok();
        backoff.reset();
      } catch (error) {
        delay = Math.min(delay, backoff.next());
        this.health.failed('renew', error, delay);
        continue;
      }
      const answers = new Map(renewed.map((entry) => [entry.id, entry]));
      for (const attempt of targets) {
        const answer = answers.get(attempt.job.id);
        if (answer) {
          if (answer.cancelRequested) attempt.abort('cancel');
        } else if (!attempt.finishSubmitted && this.held.has(attempt)) {
          // A submitted finish may have been written between our snapshot and the renewal; its own
          // answer (accepted or refused) settles it, so only handlers still running count as lost here.
          this.leaseLost(attempt);
        }
      }
    }
  }

  /** Hands an admitted attempt that never ran back to the queue, attempt not spent. */
  private releaseUnstarted(attempt: RunningAttempt): void {
    attempt.finishSubmitted = true;
    const { job } = attempt;
    const finish: JobFinish = { id: job.id, leaseToken: job.leaseToken, outcome: 'released' };
    if (job.checkpoint !== undefined) finish.checkpoint = job.checkpoint;
    this.finisher.add(finish, attempt);
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping.abort();
    for (const waiting of this.prefetch.drain()) this.releaseUnstarted(waiting);
    this.logger.info({ running: this.running.size, graceMs }, 'worker stopping: no new claims');
    // One grace period in all, whatever it is spent waiting for: a supervisor's kill timer is fixed.
    const graceEnd = performance.now() + graceMs;
    const graceLeft = (): number => Math.max(0, graceEnd - performance.now());
    await within(this.claimLoop, graceMs, this.forced.signal);
    const maintenance = Promise.all([this.rescuer?.stop(), this.pruner?.stop()]);

    const handlersDone = (): Promise<unknown> =>
      Promise.all([...this.running].map((attempt) => attempt.done));
    await within(handlersDone(), graceLeft(), this.forced.signal);
    if (this.running.size > 0) {
      this.logger.warn(
        { running: this.running.size },
        'grace period over: aborting and releasing running jobs',
      );
      for (const attempt of this.running) {
        attempt.abort('shutdown');
        if (this.forced.signal.aborted) attempt.cutGrace();
      }
      // Each attempt ends within abortGraceMs of its abort (at once when forced).
      await handlersDone();
    }
    await this.threads?.stop();
    const flushDeadline = this.forced.signal.aborted
      ? Math.min(2_000, this.options.flushTimeoutMs)
      : this.options.flushTimeoutMs;
    // Log lines first: the outcomes of attempts that logged are handed to the finisher once written.
    await this.logs.drain(flushDeadline / 2);
    await this.finisher.drain(flushDeadline);
    await within(maintenance, flushDeadline);
    this.stopped.abort();
    await this.renewLoop;
    await within(this.registration.stop(), flushDeadline);
    await this.cancelWatch.stop();
    await this.keeper?.stop();
    this.unlisten?.();
    this.releaseEscapedErrors?.();
    this.held.clear();
    this.heldByJob.clear();
    this.logger.info('worker stopped');
    this.events.emit('worker:stopped', { workerId: this.id });
    this.settleFailed();
  }

  private fail(error: Error): void {
    this.logger.error({ err: error }, 'worker giving up: store unavailable too long');
    this.events.emit('worker:fatal', { workerId: this.id, error });
    this.settleFailed(error);
    void this.stop({ force: true, graceMs: 0 });
  }

  /**
   * `older`: the attempt of the same job this worker held until now, if any. `deadline` (epoch ms):
   * past it the keeper thread stops renewing a handler that has not settled. The keeper sees the
   * lease as soon as this returns, before the attempt's handler can start.
   */
  private hold(attempt: RunningAttempt, older: RunningAttempt | undefined, deadline: number): void {
    const { job } = attempt;
    // An older attempt of the same job lost its lease to this claim: the keeper renews it no more, and
    // holds one lease per job id, which is how the store answers a renewal.
    if (older) this.keeper?.release(older);
    this.held.add(attempt);
    this.heldByJob.set(job.id, attempt);
    this.keeper?.hold(attempt, job, job.leaseMs ?? this.options.leaseMs, deadline);
  }

  private unhold(attempt: RunningAttempt): void {
    this.keeper?.release(attempt);
    this.held.delete(attempt);
    if (this.heldByJob.get(attempt.job.id) === attempt) this.heldByJob.delete(attempt.job.id);
  }

  private startKeeper(): LeaseKeeper<RunningAttempt> | null {
    const address = this.options.leaseKeeper === 'thread' ? (this.store.peerAddress?.() ?? null) : null;
    if (!address) return null;
    const { leaseMs, concurrency, claimBatchMax } = this.options;
    // Leases held at once: running attempts plus about one claimed batch waiting or being written.
    return new LeaseKeeper<RunningAttempt>(
      { ...address, leaseMs },
      concurrency + claimBatchMax,
      {
        onLost: (attempt) => {
          // As in the renew loop: a submitted finish is settled by its own answer.
          if (!attempt.finishSubmitted) this.leaseLost(attempt);
        },
        onCancel: (attempt) => attempt.abort('cancel'),
      },
      this.logger,
    );
  }

  private eventBase(attempt: RunningAttempt): AttemptEventBase {
    return attemptEventBase(attempt, this.id);
  }
}
