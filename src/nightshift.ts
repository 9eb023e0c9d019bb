/**
 * The library entry point: `Nightshift.connect()` opens (and by default migrates) a store and returns
 * the instance through which jobs are enqueued, inspected, cancelled, retried and awaited, and
 * workers started and stopped.
 *
 * One instance per process is the norm; several instances on one database (threads, processes,
 * hosts) coordinate through the database alone.
 *
 * Long-running services (workers, and the scheduler once wired) register in `services`, so
 * `stop()` and `close()` shut all of them down gracefully.
 */
import { buildNewJob, type EnqueueItem, type EnqueueOptions } from './enqueue.js';
import { EnqueueItemError, NightshiftError } from './errors.js';
import { EventBus } from './events.js';
import type { Job, JobRun } from './job.js';
import type { HttpJobsOptions } from './http-jobs/index.js';
import { createLogger, type Logger } from './logger.js';
import { ScheduleService } from './scheduler/schedule-service.js';
import { Scheduler, type SchedulerOptions } from './scheduler/scheduler.js';
import { DEFAULT_DATABASE_URL, openStore } from './store/open.js';
import type { JobListParams, NewJob, Store } from './store/store.js';
import type { TaskMap } from './task.js';
import { TaskRegistry } from './task-registry.js';
import { JobWaiter, type WaitForOptions } from './wait-for.js';
import type { WorkerOptions } from './worker/options.js';
import { Worker, type StopOptions } from './worker/worker.js';

/** Options of `Nightshift.connect`. */
export interface ConnectOptions {
  /** A database URL (`sqlite:./file.db`, `sqlite::memory:`, `postgres://...`) or an open Store. Default `sqlite:./nightshift.db`. */
  db?: string | Store;
  /** The tasks this instance can enqueue and run, keyed by name. */
  tasks?: TaskMap;
  /** Apply pending migrations on connect. Default true; when false the schema version is only checked. */
  migrate?: boolean;
  /** Default: pino at `NIGHTSHIFT_LOG_LEVEL` or `info`. */
  logger?: Logger;
  /** Defaults for every `startWorker()` of this instance. */
  worker?: WorkerOptions;
  /** Adds the built-in `http.request` task, calling only the hosts this allows (docs/HTTP-JOBS.md). */
  httpJobs?: HttpJobsOptions;
}

/** What `enqueue` returns: the job's id, whether this call created it, and the stored job. */
export interface EnqueueResult {
  id: string;
  /** False when the idempotency key matched an existing job (returned as `job`). */
  created: boolean;
  job: Job;
}

/** Something `stop()` shuts down: a worker, the scheduler. */
export interface Service {
  stop(options?: StopOptions): Promise<void>;
}

/** A connection to nightshift: enqueue, inspect, wait, and run workers. */
export class Nightshift {
  /** Typed events (`job:completed`, `worker:fatal`, ...); see events.ts. */
  readonly events: EventBus;
  /** Recurring schedules: create, update, delete, get, list, trigger, pause, resume. */
  readonly schedules: ScheduleService;
  /** Running services, stopped by `stop()` and `close()`. */
  protected readonly services = new Set<Service>();
  private closed = false;
  private readonly waiter: JobWaiter;

  protected constructor(
    /** The store this instance talks to. */
    readonly store: Store,
    /** The tasks this instance knows. */
    readonly tasks: TaskRegistry,
    /** The logger handed to every component. */
    readonly logger: Logger,
    private readonly workerDefaults: WorkerOptions,
    private readonly ownsStore: boolean,
  ) {
    this.events = new EventBus(logger);
    this.waiter = new JobWaiter(store);
    this.schedules = new ScheduleService(store, tasks);
  }

  /** Opens the store, migrates it (unless `migrate: false`), and returns a ready instance. */
  static async connect(options: ConnectOptions = {}): Promise<Nightshift> {
    const logger = options.logger ?? createLogger();
    const tasks = new TaskRegistry(
      options.httpJobs === undefined
        ? (options.tasks ?? {})
        : (await import('./http-jobs/index.js')).withHttpJobs(options.tasks ?? {}, options.httpJobs),
    );
    const db = options.db ?? DEFAULT_DATABASE_URL;
    const ownsStore = typeof db === 'string';
    const store = typeof db === 'string' ? await openStore(db) : db;
    try {
      if (options.migrate ?? true) await store.migrate();
      else await store.schemaCheck();
    } catch (error) {
      if (ownsStore) await store.close();
      throw error;
    }
    return new Nightshift(store, tasks, logger, options.worker ?? {}, ownsStore);
  }

  /** Enqueues one job. Validates everything first: bad input throws and writes nothing. */
  async enqueue(task: string, payload?: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    this.assertOpen();
    const { tx, ...rest } = options;
    const row = await buildNewJob(this.tasks, task, payload, rest);
    const [inserted] = await this.store.jobInsertMany({ jobs: [row], ...(tx !== undefined && { tx }) });
    if (!inserted)
      throw new NightshiftError('database_unavailable', `the store returned nothing for job ${row.id}`);
    return { id: inserted.job.id, created: inserted.created, job: inserted.job };
  }

  /** Enqueues many jobs in one transaction: all of them or, on any invalid item, none. */
  async enqueueMany(items: EnqueueItem[], options: { tx?: unknown } = {}): Promise<EnqueueResult[]> {
    this.assertOpen();
    const rows: NewJob[] = [];
    for (const [index, item] of items.entries()) {
      try {
        rows.push(await buildNewJob(this.tasks, item.task, item.payload, item.options ?? {}));
      } catch (error) {
        if (error instanceof NightshiftError) throw new EnqueueItemError(index, error);
        throw error;
      }
    }
    if (rows.length === 0) return [];
    const inserted = await this.store.jobInsertMany({
      jobs: rows,
      ...(options.tx !== undefined && { tx: options.tx }),
    });
    return inserted.map(({ job, created }) => ({ id: job.id, created, job }));
  }

  /** The job, or undefined when no job has this id. */
  getJob(id: string): Promise<Job | undefined> {
    return this.store.jobGet({ id });
  }

  /** Jobs newest first, filtered, paged by `cursor` (default limit 50). */
  listJobs(params: Partial<JobListParams> = {}): Promise<{ jobs: Job[]; nextCursor: string | null }> {
    const limit = params.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new NightshiftError('invalid_argument', `limit must be an integer >= 1, got ${String(limit)}`);
    }
    return this.store.jobList({ ...params, limit });
  }

  /** Cancels a job: at once when waiting, through its AbortSignal when running. */
  cancelJob(id: string): ReturnType<Store['jobCancel']> {
    return this.store.jobCancel({ id });
  }

  /** Puts a `failed` or `cancelled` job back in its queue with one more attempt. */
  retryJob(id: string): ReturnType<Store['jobRetry']> {
    return this.store.jobRetry({ id });
  }

  /** One row per finished attempt, oldest first. */
  getJobRuns(id: string): Promise<JobRun[]> {
    return this.store.jobRunList({ jobId: id });
  }

  /** Resolves with the job once it is final (any final state); rejects `NightshiftError('timeout')`. */
  waitFor(id: string, options: WaitForOptions = {}): Promise<Job> {
    return this.waiter.waitFor(id, options);
  }

  /** Starts a worker (options over the instance's `worker` defaults); stop it with `worker.stop()` or `ns.stop()`. */
  startWorker(options: WorkerOptions = {}): Worker {
    this.assertOpen();
    const worker = new Worker(
      { store: this.store, registry: this.tasks, events: this.events, logger: this.logger },
      { ...this.workerDefaults, ...options },
    );
    this.services.add(worker);
    worker.start();
    return worker;
  }

  /**
   * Starts a scheduler: syncs `options.schedules` (config schedules) if given, then turns due slots into
   * jobs until stopped. Await `scheduler.ready` to learn whether the sync succeeded.
   */
  startScheduler(options: SchedulerOptions = {}): Scheduler {
    this.assertOpen();
    const scheduler = new Scheduler(
      { store: this.store, registry: this.tasks, schedules: this.schedules, logger: this.logger },
      options,
    );
    this.services.add(scheduler);
    return scheduler.start();
  }

  /** Stops every service (workers, scheduler) gracefully; `force` releases running jobs at once. */
  async stop(options: StopOptions = {}): Promise<void> {
    const services = [...this.services];
    await Promise.all(services.map((service) => service.stop(options)));
    for (const service of services) this.services.delete(service);
  }

  /** Stops every service, then closes the store if this instance opened it. */
  async close(options: StopOptions = {}): Promise<void> {
    if (this.closed) return;
    await this.stop(options);
    this.closed = true;
    if (this.ownsStore) await this.store.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new NightshiftError('invalid_argument', 'this Nightshift instance is closed');
  }
}
