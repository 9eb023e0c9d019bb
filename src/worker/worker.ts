/**
 * Worker lifecycle: builds a worker's parts, starts them, and stops them in order. Created by
 * `ns.startWorker()`, which starts the maintenance services (maintenance/) beside it.
 *
 * One job through the worker, one module per step:
 * - claim-loop.ts claims it (two lanes, woken by wakeup.ts);
 * - attempt-runner.ts admits it, runs its handler in a slot, and writes its outcome (finisher.ts);
 * - lease-holder.ts holds its lease from claim until that outcome is persisted, and handles a lapse.
 * No step costs a round trip per job: claims, renewals and outcomes are each written in batches.
 *
 * Shutdown (`stop({ graceMs = 30000 })`): stop claiming at once; running handlers get `graceMs` to
 * finish; the rest are aborted (reason `WorkerShutdownError`), given `abortGraceMs` to save a
 * checkpoint, and released: back to `queued`, the attempt not spent, the checkpoint kept. A later
 * `stop({ force: true })` skips what is left of both waits. When the store stays unreachable past
 * `maxStoreDownMs` (runtime/store-health.ts) the worker stops itself that way and `failed` rejects.
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
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import { within } from '../runtime/sleep.js';
import { checkStopOptions, DEFAULT_GRACE_MS, type StopOptions } from '../runtime/stop-options.js';
import { StoreHealth } from '../runtime/store-health.js';
import type { Store } from '../store/store.js';
import type { TaskRegistry } from '../task-registry.js';
import { AttemptRunner } from './attempt-runner.js';
import { CancelWatch } from './cancel-watch.js';
import { ClaimLoop } from './claim-loop.js';
import { holdEscapedErrors } from './escaped-errors.js';
import { LeaseHolder } from './lease-holder.js';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options.js';
import { WorkerRegistration } from './registration.js';
import { Wakeup } from './wakeup.js';

/** What a worker needs from its Nightshift instance. */
export interface WorkerDeps {
  store: Store;
  registry: TaskRegistry;
  events: EventBus;
  logger: Logger;
}

/** A service started beside a worker (maintenance/) that stops with it. */
export interface WorkerCompanion {
  stop(): Promise<void>;
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
  /** The options this worker runs with, every default filled in. */
  readonly options: ResolvedWorkerOptions;
  /** This worker's logger (its lines carry `workerId`). */
  readonly logger: Logger;
  /**
   * How long the store has been unreachable, across this worker's loops and the services started
   * beside it: a failure of any counts toward `maxStoreDownMs`.
   */
  readonly health: StoreHealth;

  private readonly store: Store;
  private readonly events: EventBus;
  private readonly leases: LeaseHolder;
  private readonly runner: AttemptRunner;
  private readonly claims: ClaimLoop;
  private readonly wakeup = new Wakeup();
  /** Brings cancel requests to running handlers between renewals (cancel-watch.ts). */
  private readonly cancelWatch: CancelWatch;
  /** This worker's row in the workers table, heartbeated while it runs. */
  private readonly registration: WorkerRegistration;
  private readonly companions: WorkerCompanion[] = [];
  private readonly stopping = new AbortController();
  private readonly forced = new AbortController();
  private stopPromise: Promise<void> | null = null;
  private claimLoop: Promise<void> = Promise.resolve();
  private unlisten: (() => void) | null = null;
  /** Gives back this worker's hold on the escaped-error listeners (escaped-errors.ts). */
  private releaseEscapedErrors: (() => void) | null = null;
  private settleFailed!: (error?: Error) => void;

  constructor(deps: WorkerDeps, options: WorkerOptions = {}) {
    this.options = resolveWorkerOptions(options);
    this.store = deps.store;
    this.events = deps.events;
    this.id = this.options.workerId ?? `${hostname()}:${process.pid}:${uuidv7().slice(-12)}`;
    this.logger = deps.logger.child({ workerId: this.id });
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
    this.leases = new LeaseHolder(this.store, this.health, this.options, this.events, this.logger, this.id);
    this.runner = new AttemptRunner(
      {
        store: this.store,
        registry: deps.registry,
        health: this.health,
        leases: this.leases,
        wakeup: this.wakeup,
        events: this.events,
        logger: this.logger,
        workerId: this.id,
        stopping: this.stopping.signal,
      },
      this.options,
    );
    this.claims = new ClaimLoop(this.store, this.health, this.runner, this.wakeup, this.options, this.id);
    this.cancelWatch = new CancelWatch(
      this.store,
      {
        running: () => this.runner.runningAttempts(),
        // The newest attempt of the job, as a renewal's cancel report would name it.
        cancel: (id) => this.leases.newest(id)?.abort('cancel'),
      },
      this.options.pollIntervalMs,
      this.logger,
    );
    this.registration = new WorkerRegistration(
      this.store,
      {
        id: this.id,
        queues: this.options.queues,
        labels: this.options.labels,
        tasks: deps.registry.implemented(),
        concurrency: this.options.concurrency,
        staleMs: this.options.workerStaleMs,
        running: () => this.runner.runningCount,
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
    return this.leases.keeperReady();
  }

  /** Slots: at most this many handlers run at once. */
  get concurrency(): number {
    return this.options.concurrency;
  }

  /** Handlers running now. */
  get runningCount(): number {
    return this.runner.runningCount;
  }

  /**
   * Stops `companion` with this worker: once claiming has ended, and before `stop()` resolves (within
   * the flush timeout).
   */
  stopsWith(companion: WorkerCompanion): void {
    this.companions.push(companion);
  }

  /** Starts claiming. Called once by `ns.startWorker()`. */
  start(): void {
    const queues = this.options.queues;
    const unlistenReady = this.store.listen('job:ready', ({ queue }) => {
      if (queues === null || queue === null || queues.includes(queue)) this.wakeup.wake('work');
    });
    // A key is shared by every queue, so a freed slot may concern any worker, whatever its queues.
    const unlistenCapacity = this.store.listen('job:capacity', () => this.wakeup.slotsFreed());
    // Other processes' events stopped or resumed: what was sent meanwhile is lost, so claim now, and
    // wait next by the poll interval that fits (claim-loop.ts).
    const unlistenLive = this.store.listen('events:live', () => this.wakeup.wake('work'));
    this.unlisten = () => {
      unlistenReady();
      unlistenCapacity();
      unlistenLive();
      this.wakeup.close();
    };
    this.leases.start();
    this.cancelWatch.start();
    this.releaseEscapedErrors = holdEscapedErrors();
    this.claimLoop = this.claims.run(this.stopping.signal);
    this.registration.start();
    this.logger.info(
      { queues, labels: this.options.labels, concurrency: this.options.concurrency },
      'worker started',
    );
    this.events.emit('worker:started', { workerId: this.id, queues, concurrency: this.options.concurrency });
  }

  /** Stops gracefully (see the module header); calling it again with `force` hurries a stop in progress. */
  async stop(options: StopOptions = {}): Promise<void> {
    checkStopOptions(options);
    if (options.force) {
      this.forced.abort();
      this.runner.abortRunning(true);
    }
    this.stopPromise ??= this.shutdown(options.graceMs ?? DEFAULT_GRACE_MS);
    return this.stopPromise;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping.abort();
    this.runner.releaseWaiting();
    this.logger.info({ running: this.runner.runningCount, graceMs }, 'worker stopping: no new claims');
    // One grace period in all, whatever it is spent waiting for: a supervisor's kill timer is fixed.
    const graceEnd = performance.now() + graceMs;
    const graceLeft = (): number => Math.max(0, graceEnd - performance.now());
    await within(this.claimLoop, graceMs, this.forced.signal);
    const companions = Promise.all(this.companions.map((companion) => companion.stop()));

    await within(this.runner.handlersDone(), graceLeft(), this.forced.signal);
    if (this.runner.runningCount > 0) {
      this.logger.warn(
        { running: this.runner.runningCount },
        'grace period over: aborting and releasing running jobs',
      );
      this.runner.abortRunning(this.forced.signal.aborted);
      // Each attempt ends within abortGraceMs of its abort (at once when forced).
      await this.runner.handlersDone();
    }
    await this.runner.stopThreads();
    // One deadline for everything that writes after the handlers are done, as for the grace: with the
    // database away, waits bounded one by one added up to several times it.
    const writeEnd =
      performance.now() +
      (this.forced.signal.aborted
        ? Math.min(2_000, this.options.flushTimeoutMs)
        : this.options.flushTimeoutMs);
    const writeLeft = (): number => Math.max(0, writeEnd - performance.now());
    await this.runner.flush(writeLeft());
    await within(companions, writeLeft());
    await within(this.leases.stop(), writeLeft());
    await within(this.registration.stop(), writeLeft());
    await within(this.cancelWatch.stop(), writeLeft());
    // Calls cut short above may still be waiting on the database; they no longer speak for this worker.
    this.health.close();
    this.unlisten?.();
    this.releaseEscapedErrors?.();
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
}
