/**
 * Admission and outcomes: what happens to a claimed job inside the worker, in the order it happens.
 *
 * 1. admit: the job becomes a RunningAttempt and its lease is held (lease-holder.ts) before any
 *    handler of its batch runs; it starts in a free slot or waits for one in the ready buffer
 *    (prefetch.ts; a waiting attempt not started within PREFETCH_TTL_MS is handed back unspent);
 * 2. run: its handler is called at once, in this thread or in a handler thread (isolation/); a task
 *    with no handler here is handed back to wait for a worker that implements it;
 * 3. end: its slot is refilled from the waiting line and the claim lanes are woken; its outcome waits
 *    for its log lines (job-log-writer.ts), then is buffered by the Finisher and written with
 *    `jobFinishMany` in batches;
 * 4. written: its lease is released and its outcome reported (events, span), or, when the store
 *    refused the finish, it is reported as a lost lease.
 */
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import { endAttemptSpan, runInSpan, startAttemptSpan } from '../observe/tracing.js';
import type { StoreHealth } from '../runtime/store-health.js';
import type { ClaimedJob, JobFinish, Store } from '../store/store.js';
import type { Handler } from '../task.js';
import { DEFAULT_BACKOFF, type TaskRegistry } from '../task-registry.js';
import { RunningAttempt, type AttemptHost, type AttemptOutcome } from './attempt.js';
import { Finisher, type FinishListener } from './finisher.js';
import { HandlerThreadPool } from './isolation/handler-threads.js';
import { threadTargets, type ThreadTarget } from './isolation/task-isolation.js';
import { HandlerContexts } from './handler-context.js';
import { createJobContext, type ContextDeps } from './job-context.js';
import { JobLogWriter } from './job-log-writer.js';
import type { LeaseHolder } from './lease-holder.js';
import type { ResolvedWorkerOptions } from './options.js';
import { attemptEventBase, emitPersisted, finishFor, finishPersisted } from './outcome.js';
import { Prefetch } from './prefetch.js';
import { SlotSet } from './slot-set.js';
import type { Wakeup } from './wakeup.js';

/**
 * Longest a buffered attempt waits for a slot before it is handed back (a `released` run row records
 * it). The turnover-based allowance keeps waits near BUFFER_HORIZON_MS; only a burst of long jobs
 * right after short ones gets here, and ten seconds stays clear of a slow commit on a loaded machine.
 */
const PREFETCH_TTL_MS = 10_000;

/**
 * The ready buffer holds about this many ms of slot turnover (prefetch.ts). At the ~10,000 no-op jobs/s
 * of the burst drain (docs/BENCHMARKS.md) that is ~500 jobs, the default cap: claims of hundreds at
 * concurrency 10, which cut PostgreSQL's CPU per job there from ~186 to ~60-70 µs; at 100 ms per job
 * on 10 slots it is 5 jobs, so slow jobs stay claimable by other workers. A buffered job waits about
 * this long for its slot, far inside any lease.
 */
const BUFFER_HORIZON_MS = 50;

/** Where an attempt runner reports and writes. */
export interface AttemptRunnerDeps {
  store: Store;
  registry: TaskRegistry;
  health: StoreHealth;
  leases: LeaseHolder;
  /** Woken when a slot frees or outcomes are written: the claim lanes may have room again. */
  wakeup: Wakeup;
  events: EventBus;
  logger: Logger;
  workerId: string;
  /** Aborted when the worker stops claiming: no waiting attempt starts after it. */
  stopping: AbortSignal;
}

/** Runs one worker's attempts in its slots and writes their outcomes. */
export class AttemptRunner implements AttemptHost, FinishListener<RunningAttempt> {
  readonly abortGraceMs: number;
  /** Attempts whose handler has not settled: the slots in use. */
  private readonly running = new SlotSet<RunningAttempt>({
    get: (attempt) => attempt.runningSlot,
    set: (attempt, slot) => (attempt.runningSlot = slot),
  });
  /** Claimed attempts waiting for a slot; their leases are held like running ones. */
  private readonly prefetch: Prefetch<RunningAttempt>;
  /** True while startAll runs: a slot freed by a synchronous handler is refilled by its loop. */
  private starting = false;
  private readonly finisher: Finisher<RunningAttempt>;
  private readonly logs: JobLogWriter;
  // Made once and shared by every attempt: per-attempt callbacks cost an allocation (and a closure)
  // each, at tens of thousands of attempts a second.
  private readonly contextDeps: ContextDeps;
  /** The handler thread of each task run isolated (isolation/), and the threads that run them. */
  private readonly threadTargets: Map<string, ThreadTarget>;
  private readonly threads: HandlerThreadPool | null;
  /** Each handler call in an async context of its own (handler-context.ts). */
  private readonly handlerContexts = new HandlerContexts();

  constructor(
    private readonly deps: AttemptRunnerDeps,
    private readonly options: ResolvedWorkerOptions,
  ) {
    const { store, registry, health, leases, logger } = deps;
    this.abortGraceMs = options.abortGraceMs;
    this.prefetch = new Prefetch({
      max: options.bufferSize,
      horizonMs: BUFFER_HORIZON_MS,
      ttlMs: PREFETCH_TTL_MS,
    });
    this.threadTargets = threadTargets(registry.all(), options.isolation);
    this.threads = this.threadTargets.size > 0 ? new HandlerThreadPool(options.concurrency, logger) : null;
    this.finisher = new Finisher(store, health, logger, this, {
      batchSize: options.finishBatchSize,
      flushMs: options.finishFlushMs,
      // Without it a claim loop held back by unwritten outcomes slept a whole poll interval after the
      // backlog was gone: a third of the wall time of a 20,000-job drain.
      onFlushed: () => deps.wakeup.wake('capacity'),
    });
    this.logs = new JobLogWriter(store, logger);
    this.contextDeps = {
      store,
      registry,
      leaseMs: options.leaseMs,
      logger,
      logs: this.logs,
      leases,
      events: deps.events,
    };
  }

  /** Handlers running now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** The attempts whose handler runs now. */
  runningAttempts(): Iterable<RunningAttempt> {
    return this.running;
  }

  /**
   * Whether an attempt of this worker holds a slot of a concurrency key that its written finish will
   * give back: running, waiting for a slot, or ended with its outcome not yet written.
   */
  holdsKeySlot(): boolean {
    return this.deps.leases.holdsKeySlot();
  }

  /**
   * How many more jobs the slots and the buffer allowance take, beyond those running and waiting; 0
   * until a refill is worth a claim. A secondary claim lane claims only while there is an allowance
   * (short jobs at a high rate).
   */
  room(secondaryLane: boolean): number {
    const allowance = this.prefetch.allowance();
    if (secondaryLane && allowance === 0) return 0;
    const room = this.options.concurrency + allowance - this.running.size - this.prefetch.size;
    // While attempts still wait, refill only once half a batch has drained: claiming each freed slot
    // as it frees would be a round trip per job, the cost the buffer exists to remove.
    const refill = Math.min(allowance, this.options.claimBatchMax) / 2;
    return this.prefetch.size > 0 && room < refill ? 0 : room;
  }

  /** Backpressure: outcomes pile up unwritten (a slow or failing store), so take no new work. */
  get backlogged(): boolean {
    return this.finisher.size >= this.options.finishBatchSize * 4;
  }

  /** How long an idle lane waits for a wake: no longer than a waiting attempt may wait. */
  idleWaitMs(): number {
    const { pollIntervalMs } = this.options;
    return this.prefetch.size > 0 ? Math.min(pollIntervalMs, PREFETCH_TTL_MS) : pollIntervalMs;
  }

  /** A claim's round trip took this long: the prefetch allowance follows it. */
  claimAnswered(ms: number): void {
    this.prefetch.claimAnswered(ms);
  }

  /** Hands back the waiting attempts that waited too long for a slot. */
  releaseStale(): void {
    for (const stale of this.prefetch.takeStale()) this.releaseUnstarted(stale);
  }

  /** Hands back every waiting attempt: the worker is stopping. */
  releaseWaiting(): void {
    for (const waiting of this.prefetch.drain()) this.releaseUnstarted(waiting);
  }

  /** Hands back jobs claimed while the worker began to stop, attempt not spent. */
  handBack(jobs: ClaimedJob[], claimSentAt: number): void {
    for (const job of jobs) this.releaseUnstarted(this.admit(job, 0, claimSentAt));
  }

  /**
   * Takes a claimed batch in: free slots run jobs at once, the rest wait. Waiting attempts exist only
   * while slots are full; those of claims sent before this one (`claim`, the claim loop's count) go
   * first, those of claims sent later (answered first) after this batch. Every lease of the batch is
   * held (visible to the keeper thread) before any of its handlers runs: a handler may block the event
   * loop for good as soon as it is called. `claimSentAt` (lease-table.ts `sharedNow`): when the claim
   * was sent, where the jobs' leases are known to start from.
   */
  admitBatch(jobs: ClaimedJob[], claimSentAt: number, claim: number): void {
    let free = this.options.concurrency - this.running.size - this.prefetch.size;
    const starting: RunningAttempt[] = [];
    for (const job of jobs) {
      if (free > 0) {
        free -= 1;
        starting.push(this.admit(job, 0, claimSentAt));
      } else {
        this.prefetch.push(this.admit(job, PREFETCH_TTL_MS, claimSentAt), claim);
      }
    }
    this.startAll(starting);
  }

  /** Resolves once every running handler has settled. */
  handlersDone(): Promise<unknown> {
    return Promise.all([...this.running].map((attempt) => attempt.done));
  }

  /** Aborts every running handler (reason `WorkerShutdownError`); `cutGrace`: no abort grace either. */
  abortRunning(cutGrace: boolean): void {
    for (const attempt of this.running) {
      attempt.abort('shutdown');
      if (cutGrace) attempt.cutGrace();
    }
  }

  /** Stops the handler threads, once no handler runs. */
  async stopThreads(): Promise<void> {
    await this.threads?.stop();
  }

  /** Writes what is left: log lines first (outcomes of attempts that logged wait for them), then outcomes. */
  async flush(deadlineMs: number): Promise<void> {
    // One deadline for both; the log lines get at most half of it.
    const deadline = performance.now() + deadlineMs;
    await this.logs.drain(deadlineMs / 2);
    await this.finisher.drain(Math.max(0, deadline - performance.now()));
  }

  /**
   * Takes a claimed job in: its attempt, its lease held from now. `waitMs` is the most it may wait for
   * a slot, added to the deadline past which the keeper stops renewing a stuck handler.
   */
  private admit(job: ClaimedJob, waitMs: number, claimSentAt: number): RunningAttempt {
    const task = this.deps.registry.get(job.task) ?? null;
    const timeoutMs = job.timeoutMs ?? task?.timeoutMs ?? this.options.timeoutMs;
    const attempt = new RunningAttempt(job, task, timeoutMs, this);
    this.deps.leases.hold(attempt, Date.now() + waitMs + timeoutMs + this.options.abortGraceMs, claimSentAt);
    return attempt;
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
      for (const attempt of attempts) this.beginIfCurrent(attempt);
      while (this.running.size < this.options.concurrency && !this.deps.stopping.aborted) {
        const next = this.prefetch.shift();
        if (!next) return;
        this.beginIfCurrent(next);
      }
    } finally {
      this.starting = false;
    }
  }

  /**
   * Runs an admitted attempt, unless its lease may have lapsed while it waited for a slot or travelled
   * in the claim's answer (lease-holder.ts `current`): then its job has been or will be rescued, and
   * another worker may run it already, so this worker lets it go without a write (its finish would be
   * refused, or would end an attempt the store no longer counts on). The handler is not called: its
   * work would be thrown away.
   */
  private beginIfCurrent(attempt: RunningAttempt): void {
    if (this.deps.leases.current(attempt)) {
      this.begin(attempt);
      return;
    }
    this.deps.logger.debug(
      { jobId: attempt.job.id, task: attempt.job.task, attempt: attempt.job.attempt },
      'claimed job not started: its lease may have lapsed before a slot took it; it returns through the rescue',
    );
    this.deps.leases.release(attempt);
  }

  /** Runs an admitted attempt in a slot; its handler is called at once. */
  private begin(attempt: RunningAttempt): void {
    if (this.deps.events.has('job:claimed')) {
      const { runAt, startedAt } = attempt.job;
      this.deps.events.emit('job:claimed', {
        ...attemptEventBase(attempt, this.deps.workerId),
        runAt,
        startedAt: startedAt ?? runAt,
      });
    }
    // Added before the handler runs: an attempt that ends synchronously must find itself here.
    this.running.add(attempt);
    attempt.started = true;
    this.execute(attempt);
  }

  /**
   * Runs an attempt and hands its outcome on: at once for a synchronous handler, when it settles for
   * an asynchronous one (`attempt.done` follows it). Never throws; internal errors are logged.
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
        const message = `unknown task "${job.task}": no handler registered in worker ${this.deps.workerId}; waiting for a worker that implements it`;
        this.deps.logger.warn(
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
      const outcome = this.handlerContexts.fork(() =>
        runInSpan(span, () => attempt.run(handler, createJobContext(attempt, this.contextDeps))),
      );
      if (outcome instanceof Promise) {
        attempt.done = outcome.then(
          (settled) => {
            this.deps.leases.settled(attempt);
            this.ended(attempt, settled);
          },
          (error: unknown) => this.internalError(attempt, error),
        );
        return;
      }
      this.deps.leases.settled(attempt);
      this.ended(attempt, outcome);
    } catch (error) {
      this.internalError(attempt, error);
    }
  }

  /** Frees an attempt's slot and hands its outcome on. Never throws; internal errors are logged. */
  private ended(attempt: RunningAttempt, outcome: AttemptOutcome): void {
    try {
      const { task } = attempt;
      this.running.delete(attempt);
      this.prefetch.attemptEnded();
      if (!this.starting) this.startAll([]);
      this.deps.wakeup.wake('capacity');
      if (attempt.committedFinish) {
        // Completed inside the handler's own transaction: persisted already, whatever came after.
        this.logs.attemptEnded(attempt, () => undefined);
        this.deps.leases.release(attempt);
        endAttemptSpan(attempt.span, attempt.committedFinish.outcome);
        this.emitOutcome(attempt, attempt.committedFinish);
      } else if (outcome.kind === 'lease_lost') {
        this.logs.attemptEnded(attempt, () => undefined);
        this.deps.leases.release(attempt);
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

  /** Hands an admitted attempt that never ran back to the queue, attempt not spent. */
  private releaseUnstarted(attempt: RunningAttempt): void {
    attempt.finishSubmitted = true;
    const { job } = attempt;
    const finish: JobFinish = { id: job.id, leaseToken: job.leaseToken, outcome: 'released' };
    if (job.checkpoint !== undefined) finish.checkpoint = job.checkpoint;
    this.finisher.add(finish, attempt);
  }

  /** The finisher wrote this attempt's outcome. */
  accepted(attempt: RunningAttempt, finish: JobFinish): void {
    this.deps.leases.release(attempt);
    endAttemptSpan(attempt.span, finish.outcome, finish.error);
    // An attempt handed back without running reports nothing: no handler ran.
    if (attempt.started) this.emitOutcome(attempt, finish);
  }

  /** The store refused this attempt's outcome: its lease token is stale. */
  refused(attempt: RunningAttempt): void {
    this.deps.leases.release(attempt);
    endAttemptSpan(attempt.span, 'lease_lapsed');
    if (attempt.started) this.deps.leases.lost(attempt, true);
  }

  persisted(attempt: RunningAttempt, finish: JobFinish): Promise<boolean> | null {
    return attempt.started ? finishPersisted(this.deps.store, attempt, finish) : null;
  }

  maxDurationExceeded(attempt: RunningAttempt): void {
    const { job } = attempt;
    const maxDurationMs = attempt.task?.maxDurationMs ?? 0;
    this.deps.logger.warn(
      { jobId: job.id, task: job.task, attempt: job.attempt, maxDurationMs },
      'job is running longer than its max duration',
    );
    this.deps.events.emit('job:max_duration', {
      ...attemptEventBase(attempt, this.deps.workerId),
      maxDurationMs,
    });
  }

  escapedLate(attempt: RunningAttempt, error: unknown): void {
    const { job } = attempt;
    this.deps.logger.warn(
      { err: error, jobId: job.id, task: job.task, attempt: job.attempt },
      'an error escaped a job after its attempt ended (a timer or promise it left behind); ignored',
    );
  }

  private emitOutcome(attempt: RunningAttempt, finish: JobFinish): void {
    // The common case at high throughput: a success nobody listens for costs no allocation.
    if (finish.outcome === 'completed' && !this.deps.events.has('job:completed')) return;
    emitPersisted(this.deps.events, this.deps.logger, attempt, this.deps.workerId, finish);
  }

  private internalError(attempt: RunningAttempt, error: unknown): void {
    this.deps.logger.error(
      { err: error, jobId: attempt.job.id },
      'internal error while finishing an attempt',
    );
  }
}
