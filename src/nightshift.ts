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
 *
 * An instance is typed by what it registered (task-types.ts; `http.request` when given `httpJobs`):
 * `enqueue`, `enqueueMany`, `getJob`, `waitFor`, the schedule writes (`schedules.create`, `upsert`,
 * `upsertMany`, `update`) and `startScheduler({ schedules })` accept only registered task names with
 * their payload types, and know each task's result type. `ns.untyped` is the same instance
 * for names known only at run time.
 */
import type { ClusterEvent } from './cluster-events.js';
import { buildNewJob, checkEnqueueItem, noteEnqueued, type EnqueueItem } from './enqueue.js';
import { checkEnqueueBatching, EnqueueBatcher, type EnqueueBatchingOptions } from './enqueue-batcher.js';
import { traceEnqueue } from './observe/tracing.js';
import { EnqueueItemError, NightshiftError } from './errors.js';
import { FOLLOW_EVENTS_OPTION_NAMES, followEvents, type FollowEventsOptions } from './event-feed.js';
import { EventBus } from './events.js';
import type { Job, JobLogLine, JobRun } from './job.js';
import type { HttpJobsOptions, HttpJobsTasks } from './http-jobs/index.js';
import { checkLogger, createLogger, type Logger } from './logger.js';
import { ScheduleService } from './scheduler/schedule-service.js';
import { Scheduler, type SchedulerOptions } from './scheduler/scheduler.js';
import { DEFAULT_DATABASE_URL, openStore } from './store/open.js';
import { CLOSE_WAIT_MS } from './store/store.js';
import type {
  ConcurrencyKeyInfo,
  JobGroupInfo,
  QueueLimitInfo,
  StartRate,
  DatabaseHealth,
  EventPage,
  NewJob,
  Store,
  WorkerInfo,
} from './store/store.js';
import type { Registry } from 'prom-client';
import { validateAlertsConfig, type Alert, type AlertsConfig } from './observe/alert.js';
import { computeAlerts } from './observe/alerts.js';
import {
  applyQueueLimits,
  checkQueuesConfig,
  checkRate,
  type CheckedQueues,
  type QueuesConfig,
} from './queue-limits.js';
import { QueueService } from './queues.js';
import { Maintenance } from './maintenance/maintenance.js';
import {
  booleanIn,
  idIn,
  intIn,
  JOB_RANGES,
  MAX_KEY_BYTES,
  queueNameIn,
  shown,
  textIn,
} from './validation/bounds.js';
import { jobListParams, type JobListInput } from './validation/job-filter.js';
import {
  eventReadParams,
  runningPageParams,
  type EventReadInput,
  type RunningPageParams,
} from './validation/read-pages.js';
import { keyNames, refuseUnknownKeys, requireArray, requireObject } from './validation/known-keys.js';
import type { TaskMap } from './task.js';
import { TaskRegistry } from './task-registry.js';
import { taskCatalog, type TaskCatalogEntry } from './task-catalog.js';
import type {
  AnyTaskJob,
  ContractList,
  EnqueueArguments,
  ImplementationList,
  JobId,
  RegisteredTasks,
  TaskJob,
  TaskName,
  TaskSignatures,
  TypedEnqueueItem,
  TypedScheduleChanges,
  TypedScheduleInput,
} from './task-types.js';
import { JobWaiter, type WaitForOptions } from './wait-for.js';
import { DEFAULT_WORKER_STALE_MS, resolveWorkerOptions, type WorkerOptions } from './worker/options.js';
import { checkStopOptions, type StopOptions } from './runtime/stop-options.js';
import { Worker } from './worker/worker.js';

/** Pause before the cluster-event relay starts again after an unexpected failure. */
const RELAY_RETRY_MS = 1_000;

// The keys of each options object the instance's methods take: a misspelt one is refused
// (validation/known-keys.ts), where it would otherwise be dropped and the call would do something else.
const CONNECT_OPTION_NAMES = keyNames<ConnectOptions>({
  db: true,
  tasks: true,
  contracts: true,
  implementations: true,
  migrate: true,
  logger: true,
  worker: true,
  httpJobs: true,
  alerts: true,
  enqueue: true,
  queues: true,
});
const ENQUEUE_MANY_OPTION_NAMES = keyNames<{ tx?: unknown }>({ tx: true });

/** Options of `Nightshift.connect`; the type parameters carry what is registered to the instance's types. */
export interface ConnectOptions<
  Tasks extends TaskMap = TaskMap,
  Contracts extends ContractList = ContractList,
  Implementations extends ImplementationList = ImplementationList,
> {
  /** A database URL (`sqlite:./file.db`, `sqlite::memory:`, `postgres://...`) or an open Store. Default `sqlite:./nightshift.db`. */
  db?: string | Store;
  /** Tasks this instance can enqueue and run, keyed by name: bare handlers or `defineTask` results. */
  tasks?: Tasks & TaskMap;
  /** Contracts of tasks this instance can enqueue (and schedule) without running them. */
  contracts?: Contracts;
  /** Implementations (`implement(contract, handler)`) of tasks this instance can enqueue and run. */
  implementations?: Implementations;
  /**
   * Apply pending migrations on connect. Default true; when false the schema version is only checked,
   * and a database without nightshift's tables is refused (`not_found`) rather than created.
   */
  migrate?: boolean;
  /** Default: pino at `NIGHTSHIFT_LOG_LEVEL` or `info`. */
  logger?: Logger;
  /** Defaults for every `startWorker()` of this instance. */
  worker?: WorkerOptions;
  /** Adds the built-in `http.request` task, calling only the hosts this allows (docs/HTTP-JOBS.md). */
  httpJobs?: HttpJobsOptions;
  /** Alert thresholds (docs/METRICS.md); without them only the built-in detectors raise alerts. */
  alerts?: AlertsConfig;
  /** Bounds of the queue where concurrent `enqueue` calls wait to be written together (enqueue-batcher.ts). */
  enqueue?: EnqueueBatchingOptions;
  /**
   * Settings per queue (docs/TENANCY.md). `concurrency` and `rate` are cluster-wide limits, written to
   * the database on connect (the last process to connect with a queue's setting wins; a queue left out
   * keeps its limit). `concurrencyKey`, `concurrencyLimit` and `group` are defaults this instance gives
   * the jobs it enqueues into the queue, where neither the job nor its task gives them.
   */
  queues?: QueuesConfig;
}

/**
 * `connect`'s argument: the options, and the names of those given (`Given`), so that the instance's
 * type can follow from an option's presence. `Given` is inferred from the keys alone: the values keep
 * the option types, so an object literal's misspelt key (`httpJobs: { allowHost }`) is still an error.
 */
type ConnectArgument<
  Tasks extends TaskMap,
  Contracts extends ContractList,
  Implementations extends ImplementationList,
  Given extends keyof ConnectOptions,
> = ConnectOptions<Tasks, Contracts, Implementations> & { readonly [Name in Given]?: unknown };

/** The tasks built in by the options given: `http.request` when `httpJobs` is one of them. */
type BuiltInTasks<Given extends keyof ConnectOptions> = 'httpJobs' extends Given ? HttpJobsTasks : unknown;

/** What of `ConnectOptions` decides the tasks an instance knows and the defaults its jobs get. */
export type TaskRegistrations = Pick<
  ConnectOptions,
  'tasks' | 'contracts' | 'implementations' | 'httpJobs' | 'queues'
>;

/**
 * The task registry `connect` gives an instance, built without opening anything: the CLI checks a job
 * or a schedule against it before it opens a database, so bad input changes nothing there.
 */
export async function taskRegistryOf(options: TaskRegistrations): Promise<TaskRegistry> {
  const queues =
    options.queues === undefined ? undefined : checkQueuesConfig(options.queues, 'invalid_argument');
  return taskRegistry(options, queues?.defaults);
}

async function taskRegistry(
  options: TaskRegistrations,
  queueDefaults: CheckedQueues['defaults'] | undefined,
): Promise<TaskRegistry> {
  const { tasks } = options;
  if (tasks !== undefined && (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks))) {
    // Object.entries of a number is empty and of an array is by index: no tasks, or tasks named 0, 1...
    throw new NightshiftError('config_error', '"tasks" must be an object of task name to handler');
  }
  return new TaskRegistry(
    options.httpJobs === undefined
      ? (options.tasks ?? {})
      : (await import('./http-jobs/index.js')).withHttpJobs(options.tasks ?? {}, options.httpJobs),
    { contracts: options.contracts, implementations: options.implementations, queueDefaults },
  );
}

// The Store methods `connect` calls before it returns: an object without them is no Store.
const STORE_METHODS = ['migrate', 'schemaCheck', 'schemaVersion', 'close'] as const;

/**
 * `connect`'s `db`: a URL, an open Store, or absent (the default URL). Anything else is refused before
 * anything opens: a number failed as "store.migrate is not a function", and null opened
 * ./nightshift.db as if no database had been named.
 */
function databaseOption(db: string | Store | undefined): string | Store {
  if (db === undefined) return DEFAULT_DATABASE_URL;
  if (typeof db === 'string') return db;
  // The type says a Store; a JavaScript caller may have given anything.
  const given: unknown = db;
  const methods = given as Partial<Record<(typeof STORE_METHODS)[number], unknown>> | null;
  if (typeof given === 'object' && STORE_METHODS.every((name) => typeof methods?.[name] === 'function')) {
    return db;
  }
  throw new NightshiftError(
    'invalid_argument',
    `connect option db must be a database URL (sqlite:./nightshift.db, postgres://user@host:port/db) or an open Store, got ${shown(db)}`,
  );
}

/** The refusal of an open store without nightshift's tables given to `connect` with `migrate: false`. */
function unmigratedStore(): NightshiftError {
  return new NightshiftError(
    'not_found',
    'the store given as db holds no nightshift database: migrate it first (store.migrate(), or `nightshift migrate`), or connect without migrate: false',
  );
}

/**
 * The limit given to `method` (setQueueLimit, setConcurrencyLimit), its refusals named by the method.
 * Undefined is a forgotten argument, not a removal: that takes null, said so.
 */
function limitArgument(method: string, limit: number | null): number | null {
  if (limit === undefined) {
    throw new NightshiftError(
      'invalid_argument',
      `${method}: limit must be a number, or null to remove the limit; got undefined`,
    );
  }
  return limit === null
    ? null
    : intIn('limit', limit, JOB_RANGES.concurrencyLimit, { prefix: `${method}: ` });
}

/** What `enqueue` returns: the job's id, whether this call created it, and the stored job. */
export interface EnqueueResult<J extends Job = Job> {
  /** The id, typed with the job's task so `waitFor(id)` knows its result type. */
  id: JobId<J['task']>;
  /** False when the idempotency key matched an existing job (returned as `job`). */
  created: boolean;
  job: J;
}

/**
 * `ns.schedules`, its writes (`create`, `upsert`, `upsertMany`, `update`, `sync`) taking only
 * registered tasks and their payload types, each schedule of a list checked against its own task.
 * `N` (the task names written) is left to the compiler; `update<'task.name'>(id, { payload })` states
 * the schedule's task when the change does not name it. The methods are generic in `N` also so that a
 * typed instance stays assignable to the untyped `Nightshift`: with the task names in a plain parameter
 * the compiler measures `Tasks` as contravariant and refuses that; generic methods it relates
 * signature by signature.
 */
export type TypedScheduleService<Tasks extends TaskSignatures> = Omit<
  ScheduleService,
  'create' | 'upsert' | 'upsertMany' | 'update' | 'sync'
> & {
  create<N extends TaskName<Tasks>>(
    input: TypedScheduleInput<Tasks, N>,
  ): ReturnType<ScheduleService['create']>;
  upsert<N extends TaskName<Tasks>>(
    input: TypedScheduleInput<Tasks, N>,
  ): ReturnType<ScheduleService['upsert']>;
  upsertMany<N extends TaskName<Tasks>>(
    inputs: ReadonlyArray<TypedScheduleInput<Tasks, N>>,
  ): ReturnType<ScheduleService['upsertMany']>;
  update<N extends TaskName<Tasks>>(
    id: string,
    changes: TypedScheduleChanges<Tasks, N>,
  ): ReturnType<ScheduleService['update']>;
  sync<N extends TaskName<Tasks>>(
    inputs: ReadonlyArray<TypedScheduleInput<Tasks, N>>,
  ): ReturnType<ScheduleService['sync']>;
};

/** `ns.startScheduler`'s options, its config `schedules` typed as `schedules.upsertMany` takes them. */
export type TypedSchedulerOptions<
  Tasks extends TaskSignatures,
  N extends TaskName<Tasks> = TaskName<Tasks>,
> = Omit<SchedulerOptions, 'schedules'> & { schedules?: ReadonlyArray<TypedScheduleInput<Tasks, N>> };

/**
 * The job an id names: of task `N` when the id came from `enqueue` (a `JobId<N>`), else of any
 * registered task (a union to narrow on `job.task`), or untyped when the task is not registered here.
 */
type JobOf<Tasks extends TaskSignatures, N extends string> = [N] extends [never]
  ? Job
  : N extends TaskName<Tasks>
    ? TaskJob<Tasks, N>
    : Job;

/** Something `stop()` shuts down: a worker, the scheduler. */
export interface Service {
  stop(options?: StopOptions): Promise<void>;
}

/**
 * A connection to nightshift: enqueue, inspect, wait, and run workers. `Tasks` is what the compiler
 * knows of the registered tasks; the default (any name, any payload) is the untyped view.
 */
export class Nightshift<Tasks extends TaskSignatures = TaskSignatures> {
  /** Typed events (`job:completed`, `worker:fatal`, ...); see events.ts. */
  readonly events: EventBus;
  /** Recurring schedules: create, update, delete, get, list, trigger, pause, resume. */
  readonly schedules: TypedScheduleService<Tasks>;
  /** Queues: list them with their counts, pause and resume them cluster-wide (queues.ts). */
  readonly queues: QueueService;
  /** The same service untyped, for the scheduler's config sync. */
  private readonly scheduleService: ScheduleService;
  /** Running services, stopped by `stop()` and `close()`. */
  protected readonly services = new Set<Service>();
  private closed = false;
  private readonly waiter: JobWaiter;
  private metricsRegistry: Promise<Registry> | undefined;
  /** Stops relaying the cluster event log to `events` (see `relayClusterEvents`). */
  private readonly stopRelay: () => void;
  /** Writes concurrent single enqueues together. */
  private readonly batcher: EnqueueBatcher;

  protected constructor(
    /** The store this instance talks to. */
    readonly store: Store,
    /** The tasks this instance knows. */
    readonly tasks: TaskRegistry,
    /** The logger handed to every component. */
    readonly logger: Logger,
    private readonly workerDefaults: WorkerOptions,
    private readonly ownsStore: boolean,
    /** Alert thresholds, validated. */
    readonly alertsConfig: AlertsConfig = {},
    enqueueBatching: EnqueueBatchingOptions = {},
  ) {
    this.batcher = new EnqueueBatcher((jobs) => store.jobInsertMany({ jobs }), enqueueBatching);
    this.events = new EventBus(logger);
    this.stopRelay = this.events.activate('cluster:event', () => this.relayClusterEvents());
    this.waiter = new JobWaiter(store);
    this.queues = new QueueService(store);
    this.scheduleService = new ScheduleService(store, tasks);
    // Typed view: its writes take the registered tasks' schedules, a subset of ScheduleInput.
    this.schedules = this.scheduleService;
  }

  /**
   * Opens the store, migrates it (unless `migrate: false`), and returns a ready instance, typed by
   * the tasks, contracts and implementations given, and `http.request` when `httpJobs` is given.
   */
  static async connect<
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- nothing registered: no task names
    T extends TaskMap = {},
    const C extends ContractList = [],
    const I extends ImplementationList = [],
    Given extends keyof ConnectOptions = never,
  >(
    options: ConnectArgument<T, C, I, Given> = {},
  ): Promise<Nightshift<RegisteredTasks<T, C, I> & BuiltInTasks<Given>>> {
    // Checked before anything opens: a misspelt `db` would otherwise open ./nightshift.db.
    refuseUnknownKeys(options, CONNECT_OPTION_NAMES, 'connect option');
    const db = databaseOption(options.db);
    // The worker defaults too, here rather than at the first startWorker, which may come much later.
    if (options.worker !== undefined) resolveWorkerOptions(options.worker);
    // A string such as 'no' is truthy: it would migrate a database the caller meant only to check.
    if (options.migrate !== undefined) booleanIn('migrate', options.migrate);
    if (options.logger !== undefined) checkLogger(options.logger);
    const logger = options.logger ?? createLogger();
    // Checked before anything opens: bad thresholds change nothing.
    const alertsConfig = options.alerts === undefined ? {} : validateAlertsConfig(options.alerts);
    const enqueueBatching = checkEnqueueBatching(options.enqueue);
    const queues =
      options.queues === undefined ? undefined : checkQueuesConfig(options.queues, 'invalid_argument');
    const tasks = await taskRegistry(options, queues?.defaults);
    const ownsStore = typeof db === 'string';
    const migrate = options.migrate ?? true;
    // Without migrating, a database nightshift has not created is refused here, naming the command
    // that creates it, not at the first enqueue as an `internal` "no such table" (nor is a SQLite file
    // left behind).
    const store = typeof db === 'string' ? await openStore(db, { logger, create: migrate }) : db;
    try {
      if (migrate) await store.migrate();
      else {
        await store.schemaCheck();
        if (!ownsStore && (await store.schemaVersion()).current === 0) throw unmigratedStore();
      }
      await applyQueueLimits(store, queues?.limits ?? []);
    } catch (error) {
      if (ownsStore) await store.close();
      throw error;
    }
    return new Nightshift(
      store,
      tasks,
      logger,
      options.worker ?? {},
      ownsStore,
      alertsConfig,
      enqueueBatching,
    );
  }

  /**
   * The same instance without compile-time task types, for task names known only at run time. Names
   * and payloads are still checked at run time against what this instance registered.
   */
  get untyped(): Nightshift {
    return this as unknown as Nightshift;
  }

  /**
   * Enqueues one job. Validates everything first: bad input throws and writes nothing. Without `tx`,
   * concurrent calls are written together (enqueue-batcher.ts); each still gets its own result or error.
   */
  async enqueue<N extends TaskName<Tasks>>(
    task: N,
    ...[payload, options = {}]: EnqueueArguments<Tasks[N]['input']>
  ): Promise<EnqueueResult<TaskJob<Tasks, N>>> {
    this.assertOpen();
    requireObject(options, 'enqueue options');
    const { tx, ...rest } = options;
    const row = await buildNewJob(this.tasks, task, payload, rest);
    const [inserted] = await traceEnqueue([row], () =>
      tx === undefined ? this.batcher.insert([row]) : this.store.jobInsertMany({ jobs: [row], tx }),
    );
    if (!inserted)
      throw new NightshiftError('database_unavailable', `the store returned nothing for job ${row.id}`);
    noteEnqueued(this.events, [inserted]);
    const job = inserted.job as TaskJob<Tasks, N>;
    return { id: job.id, created: inserted.created, job };
  }

  /**
   * Enqueues many jobs in one transaction: all of them or, on any invalid item, none. Without `tx`,
   * concurrent calls are written together (enqueue-batcher.ts), each still all or none.
   */
  async enqueueMany(
    items: ReadonlyArray<TypedEnqueueItem<Tasks>>,
    options: { tx?: unknown } = {},
  ): Promise<Array<EnqueueResult<AnyTaskJob<Tasks>>>> {
    this.assertOpen();
    requireArray(items, 'enqueueMany items');
    refuseUnknownKeys(options, ENQUEUE_MANY_OPTION_NAMES, 'enqueueMany option');
    const rows: NewJob[] = [];
    for (const [index, item] of (items as ReadonlyArray<EnqueueItem>).entries()) {
      try {
        checkEnqueueItem(item);
        rows.push(await buildNewJob(this.tasks, item.task, item.payload, item.options ?? {}));
      } catch (error) {
        if (error instanceof NightshiftError) throw new EnqueueItemError(index, error);
        throw error;
      }
    }
    if (rows.length === 0) return [];
    const inserted = await traceEnqueue(rows, () =>
      options.tx === undefined
        ? this.batcher.insert(rows)
        : this.store.jobInsertMany({ jobs: rows, tx: options.tx }),
    );
    noteEnqueued(this.events, inserted);
    return inserted.map(({ job, created }) => ({ id: job.id, created, job }));
  }

  /**
   * The job, or undefined when no job has this id. Typed by the id's task when it came from this
   * instance's `enqueue`; otherwise a job of any registered task (narrow it on `job.task`).
   */
  async getJob<N extends string = TaskName<Tasks>>(id: JobId<N>): Promise<JobOf<Tasks, N> | undefined> {
    return this.store.jobGet({ id: idIn('getJob: id', id) }) as Promise<JobOf<Tasks, N> | undefined>;
  }

  /**
   * Jobs newest first, filtered, paged by `cursor` (default limit 50, at most 1,000). `search`,
   * `createdAfter` and `createdBefore` are tested on the rows the other filters select, in list order,
   * until `limit` match (see `JobListParams`): narrow by state, queue or task on a big table. A page
   * walks at most `JOB_LIST_WALK_MAX` jobs: a page with fewer than `limit` jobs may still have a
   * `nextCursor`, which searches on; only a null one ends the list.
   */
  async listJobs(params: JobListInput = {}): Promise<{ jobs: Job[]; nextCursor: string | null }> {
    return this.store.jobList(jobListParams(params));
  }

  /** Cancels a job: at once when waiting, through its AbortSignal when running. */
  async cancelJob(id: string): ReturnType<Store['jobCancel']> {
    return this.store.jobCancel({ id: idIn('cancelJob: id', id) });
  }

  /** Puts a `failed` or `cancelled` job back in its queue with one more attempt. */
  async retryJob(id: string): ReturnType<Store['jobRetry']> {
    return this.store.jobRetry({ id: idIn('retryJob: id', id) });
  }

  /** One row per finished attempt, oldest first. */
  async getJobRuns(id: string): Promise<JobRun[]> {
    return this.store.jobRunList({ jobId: idIn('getJobRuns: id', id) });
  }

  /**
   * The lines the job's handler wrote with `ctx.log`, oldest attempt first; empty for an unknown job.
   * At most 200 lines per attempt are kept, then one `warn` line says how many were dropped.
   */
  async getJobLogs(id: string): Promise<JobLogLine[]> {
    return this.store.jobLogList({ jobId: idIn('getJobLogs: id', id) });
  }

  /**
   * What holds the database back: on PostgreSQL the job tables' dead rows and the oldest open
   * transaction (an idle-in-transaction session keeps vacuum from removing them and claims slow down);
   * on SQLite free pages and the write-ahead log's size. A cheap read, for metrics and operators.
   */
  databaseHealth(): Promise<DatabaseHealth> {
    return this.store.databaseHealth();
  }

  /**
   * Resolves with the job once it is final (any final state); rejects `NightshiftError('timeout')`.
   * Typed like `getJob`.
   */
  async waitFor<N extends string = TaskName<Tasks>>(
    id: JobId<N>,
    options: WaitForOptions = {},
  ): Promise<JobOf<Tasks, N>> {
    return this.waiter.waitFor(idIn('waitFor: id', id), options) as Promise<JobOf<Tasks, N>>;
  }

  /**
   * A page of the cluster event log (docs/EVENTS.md), oldest first: events after `after` (an event's
   * id or a previous page's `next`; absent: from the oldest event kept), at most `limit` (default 100,
   * at most 1,000), matching the filters. Pass `next` as `after` to read on; `more` says whether more
   * is readable now (a filtered page may be short, even empty, with more to read behind it).
   */
  async readEvents(params: EventReadInput = {}): Promise<EventPage> {
    return this.store.eventRead(eventReadParams(params));
  }

  /**
   * Every matching cluster event after `after` (default: from now on), from every process, oldest
   * first: catches up, then follows until `signal` aborts. Resume after a restart by passing the id of
   * the last event handled as `after`.
   */
  followEvents(options: FollowEventsOptions = {}): AsyncGenerator<ClusterEvent, void, undefined> {
    this.assertOpen();
    refuseUnknownKeys(options, FOLLOW_EVENTS_OPTION_NAMES, 'followEvents option');
    return followEvents(this.store, options);
  }

  /**
   * The workers running now in any process on this database: those whose heartbeat is at most the
   * longer of `DEFAULT_WORKER_STALE_MS` (30 s) and their own `workerStaleMs` (`staleMs`) old, by id.
   */
  workers(): Promise<WorkerInfo[]> {
    return this.store.workerList({ staleMs: DEFAULT_WORKER_STALE_MS });
  }

  /**
   * Every task this instance knows (`declared`, with its defaults and payload JSON Schema) and every
   * task a worker of `workers()` implements, by name, each with the ids of the live workers that
   * implement it. A declared task no live worker implements is one whose jobs wait until one does.
   */
  async taskCatalog(): Promise<TaskCatalogEntry[]> {
    return taskCatalog(this.tasks, await this.workers());
  }

  /**
   * Concurrency keys (docs/TENANCY.md) in key order after `after`, at most `limit` (default 100, at
   * most 10,000), with their running counts and the limit in force; `running: true` keeps only keys
   * with running jobs.
   */
  async concurrencyKeys(params: RunningPageParams = {}): Promise<ConcurrencyKeyInfo[]> {
    return this.store.concurrencyKeyList(runningPageParams(params, 'concurrencyKeys'));
  }

  /**
   * Groups of fairly claimed jobs (docs/TENANCY.md) by name after `after`, at most `limit` (default
   * 100, at most 10,000): those with ready or running jobs or a weight, with their weights, ready and
   * running counts; `running: true` keeps only groups with running jobs.
   */
  async groups(params: RunningPageParams = {}): Promise<JobGroupInfo[]> {
    return this.store.groupList(runningPageParams(params, 'groups'));
  }

  /**
   * Sets the weight of `group` (null: back to 1): the turns it gets each time the claims' round
   * reaches its jobs in a queue, against 1 for a group without a weight; from the next claim on.
   */
  async setGroupWeight(group: string, weight: number | null): Promise<void> {
    const at = { prefix: 'setGroupWeight: ' };
    const checkedGroup = textIn('group', group, MAX_KEY_BYTES, at);
    const checked = weight === null ? null : intIn('weight', weight, JOB_RANGES.groupWeight, at);
    return this.store.groupSetWeight({ group: checkedGroup, weight: checked });
  }

  /**
   * Sets the limit of `key` for every job that has it, whatever limit the jobs were enqueued with; null
   * goes back to the jobs' own limits. Running jobs are never interrupted: a lower limit stops new
   * claims of the key until fewer than the limit run.
   */
  async setConcurrencyLimit(key: string, limit: number | null): Promise<void> {
    const checkedKey = textIn('key', key, MAX_KEY_BYTES, { prefix: 'setConcurrencyLimit: ' });
    const checked = limitArgument('setConcurrencyLimit', limit);
    return this.store.concurrencyKeySetLimit({ key: checkedKey, limit: checked });
  }

  /**
   * Sets (`{ limit, periodMs }`) or removes (null) the cluster-wide rate of starts of the jobs of
   * `key`, on the database clock: a burst of `limit`, then one start every `periodMs / limit` ms. A new
   * rate allows its full burst at once.
   */
  async setConcurrencyRate(key: string, rate: StartRate | null): Promise<void> {
    const prefix = 'setConcurrencyRate: ';
    const checkedKey = textIn('key', key, MAX_KEY_BYTES, { prefix });
    const checked = rate === null ? null : checkRate(rate, 'invalid_argument', prefix);
    return this.store.concurrencyKeySetRate({ key: checkedKey, rate: checked });
  }

  /** Queues ever given a cluster-wide limit or rate (kept once removed), with their running counts. */
  queueLimits(): Promise<QueueLimitInfo[]> {
    return this.store.queueLimitList();
  }

  /**
   * Sets (a number) or removes (null) the cluster-wide limit of running jobs of `queue`. Running jobs
   * are never interrupted; a new limit counts the jobs claimed from then on.
   */
  async setQueueLimit(queue: string, limit: number | null): Promise<void> {
    const name = queueNameIn('queue', queue, { prefix: 'setQueueLimit: ' });
    const checked = limitArgument('setQueueLimit', limit);
    await this.store.queueSetLimit({ queue: name, limit: checked });
  }

  /**
   * Sets (`{ limit, periodMs }`) or removes (null) the cluster-wide rate of starts of `queue`'s jobs,
   * on the database clock: a burst of `limit`, then one start every `periodMs / limit` ms. A new rate
   * allows its full burst at once.
   */
  async setQueueRate(queue: string, rate: StartRate | null): Promise<void> {
    const name = queueNameIn('queue', queue, { prefix: 'setQueueRate: ' });
    const checked = rate === null ? null : checkRate(rate, 'invalid_argument', 'setQueueRate: ');
    await this.store.queueSetRate({ queue: name, rate: checked });
  }

  /** Starts a worker (options over the instance's `worker` defaults); stop it with `worker.stop()` or `ns.stop()`. */
  startWorker(options: WorkerOptions = {}): Worker {
    this.assertOpen();
    // Before the spread over the defaults, which would take null or an array as no options at all.
    requireObject(options, 'startWorker options');
    const worker = new Worker(
      { store: this.store, registry: this.tasks, events: this.events, logger: this.logger },
      { ...this.workerDefaults, ...options },
    );
    // Beside the worker, not inside it: it sweeps for every worker on the database, and stops with this one.
    const { store, events } = this;
    const maintenance = new Maintenance(
      { store, events, health: worker.health, logger: worker.logger },
      worker.options,
    );
    worker.stopsWith(maintenance);
    this.services.add(worker);
    worker.start();
    maintenance.start();
    return worker;
  }

  /**
   * Starts a scheduler: syncs `options.schedules` (config schedules) if given, then turns due slots into
   * jobs until stopped. Await `scheduler.ready` to learn whether the sync succeeded.
   */
  startScheduler<N extends TaskName<Tasks>>(options: TypedSchedulerOptions<Tasks, N> = {}): Scheduler {
    this.assertOpen();
    const scheduler = new Scheduler(
      {
        store: this.store,
        registry: this.tasks,
        schedules: this.scheduleService,
        events: this.events,
        logger: this.logger,
      },
      options,
    );
    this.services.add(scheduler);
    return scheduler.start();
  }

  /** Stops every service (workers, scheduler) gracefully; `force` releases running jobs at once. */
  async stop(options: StopOptions = {}): Promise<void> {
    // Before any service stops: each would refuse the options on its own, after others had stopped.
    checkStopOptions(options);
    const services = [...this.services];
    await Promise.all(services.map((service) => service.stop(options)));
    for (const service of services) this.services.delete(service);
  }

  /**
   * Stops every service, waits for the enqueues being written, then closes the store if this instance
   * opened it: both within 5 s (`CLOSE_WAIT_MS`) in all. The enqueues still unanswered then fail, and
   * the store's close, given what is left, cuts the connections their writes hold.
   */
  async close(options: StopOptions = {}): Promise<void> {
    checkStopOptions(options, 'close');
    if (this.closed) return;
    await this.stop(options);
    this.closed = true;
    const deadline = performance.now() + CLOSE_WAIT_MS;
    await this.batcher.close(CLOSE_WAIT_MS);
    this.stopRelay();
    if (this.ownsStore) await this.store.close({ waitMs: Math.max(0, deadline - performance.now()) });
  }

  /**
   * The alerts that hold now, computed from the database (docs/METRICS.md): running jobs past their
   * task's `maxDurationMs` (for tasks this instance knows) or with a lease that lapsed unrecovered,
   * suspended schedules, recently missed or skipped slots, and queues over the `alerts` thresholds.
   */
  async alerts(): Promise<Alert[]> {
    return (await computeAlerts({ store: this.store, registry: this.tasks, config: this.alertsConfig }))
      .alerts;
  }

  /**
   * This instance's Prometheus metrics as a prom-client Registry, made at the first call: its counters
   * count this process's events from then on; its gauges read the database at each scrape. Serve
   * `await registry.metrics()` with `registry.contentType` (the API server does, at `GET /metrics`).
   */
  metrics(): Promise<Registry> {
    this.metricsRegistry ??= import('./observe/metrics.js').then(({ createMetrics }) => createMetrics(this));
    return this.metricsRegistry;
  }

  /** Slots of the workers this instance runs: busy (a handler running) and idle. */
  workerSlots(): { busy: number; idle: number } {
    let busy = 0;
    let total = 0;
    for (const service of this.services) {
      if (!(service instanceof Worker)) continue;
      busy += service.runningCount;
      total += service.concurrency;
    }
    return { busy, idle: Math.max(0, total - busy) };
  }

  /**
   * Feeds `cluster:event` listeners from the log while there are any: from now on, each event once.
   * Returns the stop function. A failure other than an unreachable database (which the feed rides out)
   * is reported as `store:error` and the relay starts again from where it was.
   */
  private relayClusterEvents(): () => void {
    const controller = new AbortController();
    let after: string | undefined;
    const run = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        try {
          for await (const event of followEvents(this.store, { after, signal: controller.signal })) {
            after = event.id;
            this.events.emit('cluster:event', event);
          }
        } catch (error) {
          if (controller.signal.aborted) return;
          this.events.emit('store:error', { source: 'events', error, retryInMs: RELAY_RETRY_MS });
          await new Promise((resolve) => setTimeout(resolve, RELAY_RETRY_MS));
        }
      }
    };
    void run();
    return () => controller.abort();
  }

  private assertOpen(): void {
    if (this.closed) throw new NightshiftError('invalid_argument', 'this Nightshift instance is closed');
  }
}
