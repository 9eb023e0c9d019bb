/**
 * The whole storage contract between the engine (worker, scheduler, maintenance, CLI) and a database.
 * Nothing outside `src/store/<backend>/` writes SQL; everything here is Noun-Verb with one params object.
 *
 * Rules every implementation keeps (the conformance suite in test/conformance checks them):
 * - Time is the database's: `runAt` relative delays, lease expiry and rescue are decided by the
 *   backend's clock, never by a caller's `Date.now()`.
 * - Every write about a claimed job (renew, finish, checkpoint, step, child insert) is fenced by its
 *   lease token and `state = 'running'`: a stale token changes nothing and is reported as refused.
 * - Batch methods take many rows and make one round trip (one transaction) for all of them.
 */
import type { Job, JobError, JobLogLevel, JobLogLine, JobRun, JobState, RunOutcome } from '../job.js';
import type { ClusterEvent, ClusterEventFilter, NewClusterEvent } from '../cluster-events.js';
import type {
  Schedule,
  ScheduleCondition,
  ScheduleDefinition,
  ScheduleState,
  SlotRecord,
} from '../schedule-types.js';

/** Which SQL dialect a store speaks. */
export type StoreDialect = 'sqlite' | 'postgres';

/** A job to insert. Ids are made by the caller (UUIDv7) so a batch needs no read-back of ids. */
export interface NewJob {
  id: string;
  task: string;
  queue: string;
  payload: unknown;
  priority: number;
  /** Absolute due time. When both are null the job is due now (database clock). */
  runAt: Date | null;
  /** Due time relative to the database clock; ignored when `runAt` is set. */
  delayMs: number | null;
  maxAttempts: number;
  idempotencyKey: string | null;
  concurrencyKey: string | null;
  /** The key's limit this job was enqueued with; null exactly when the key is. */
  concurrencyLimit: number | null;
  /** Labels a claiming worker must offer, canonical (validation/labels.ts); null for none. */
  requires: string[] | null;
  /** The group the job is claimed fairly for (docs/TENANCY.md), or null. */
  group: string | null;
  leaseMs: number | null;
  timeoutMs: number | null;
  scheduleId: string | null;
  scheduleSlot: Date | null;
  parentId: string | null;
  /**
   * Propagation headers (JSON text) of the trace the job was enqueued in (observe/tracing.ts); absent
   * or null when no tracing SDK is registered.
   */
  traceContext?: string | null;
}

/** Outcome of inserting one job: the stored job, and whether this call created it. */
export interface JobInsertResult {
  job: Job;
  /** False when a job with the same idempotency key already existed; `job` is that existing job. */
  created: boolean;
}

/** A job handed to a worker by a claim, with the token that fences every write of this attempt. */
export interface ClaimedJob extends Job {
  leaseToken: string;
  /** The trace context stored at enqueue (see `NewJob.traceContext`): its attempts continue that trace. */
  traceContext: string | null;
}

/** A (job, token) pair naming one attempt. */
export interface LeaseRef {
  id: string;
  leaseToken: string;
}

/** How an attempt ended, as the worker reports it. */
export interface JobFinish extends LeaseRef {
  outcome: Exclude<RunOutcome, 'lease_lapsed'>;
  result?: unknown;
  error?: JobError;
  /**
   * For `failed`/`timeout`: when set, the job goes back to `scheduled`, due this many ms after the
   * database's now; when null or absent the job ends `failed`. For `released`: when set, the job
   * waits `scheduled` that long instead of going straight back to `queued` (attempt given back either way).
   */
  retryDelayMs?: number | null;
  /** For `released`: the checkpoint to keep (written in the same statement as the release). With
   * `error`, a release also records why on the job (a task this worker does not implement). */
  checkpoint?: unknown;
  maxDurationExceeded?: boolean;
}

/**
 * Filters for listing jobs; newest first, paged by an opaque cursor. `search`, `createdAfter` and
 * `createdBefore` are tested on the rows the state/queue/task filters select, read in list order until
 * `limit` + 1 rows match: a rare search term on a big unfiltered table reads all of it.
 */
export interface JobListParams extends Omit<JobMatch, 'state'> {
  state?: JobState;
  limit: number;
  cursor?: string;
}

/** Which jobs a bulk action applies to; absent fields match every job. */
export interface JobMatch<S extends JobState = JobState> {
  state?: S;
  queue?: string;
  task?: string;
  /**
   * Case-insensitive text in the job's payload or result (their JSON text) or its error message.
   * Not indexed: it is tested on the rows the other filters select, in their order (see `jobList`).
   */
  search?: string;
  /** Only jobs created at or after this time. */
  createdAfter?: Date;
  /** Only jobs created before this time. */
  createdBefore?: Date;
}

/** The roles of API tokens, lowest first: each role may do everything the ones before it may. */
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
/** An API token's role. */
export type ApiRole = (typeof API_ROLES)[number];

/** An API token as stored, without its secret (only its SHA-256 hash is ever kept). */
export interface ApiToken {
  id: string;
  name: string;
  role: ApiRole;
  createdAt: Date;
  /** Null: never expires. */
  expiresAt: Date | null;
  /** Recorded at most about once a minute per process, so it may lag real use by that much. */
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Dead-row and size figures of one of nightshift's tables (PostgreSQL statistics, estimates). */
export interface TableHealth {
  table: string;
  liveRows: number;
  deadRows: number;
  /** The last manual or automatic vacuum, null when never. */
  lastVacuumAt: Date | null;
}

/**
 * What holds a database back, read cheaply (no table scan) for metrics and operators. PostgreSQL:
 * dead rows per job table and the oldest open transaction of any session, which keeps vacuum from
 * removing them (an idle-in-transaction session makes claims slow down). SQLite has no dead rows: it
 * reports its free pages and the size of its write-ahead log, which grows while a reader is open.
 */
export type DatabaseHealth =
  | {
      dialect: 'postgres';
      tables: TableHealth[];
      /** The oldest transaction open on this database (another session's), or null when none is. */
      oldestTransaction: { ageMs: number; state: string; pid: number } | null;
    }
  | { dialect: 'sqlite'; pageCount: number; freelistPages: number; walBytes: number };

/** A worker as registered in the database while it runs (`ns.workers()`, `GET /api/v1/workers`). */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  /** The queues it claims from; null for all. */
  queues: string[] | null;
  /** The labels it offers (sorted; empty for none): it claims jobs whose every required label is here. */
  labels: string[];
  /**
   * The tasks it has a handler for (sorted; empty for none), written when it registers. A row written
   * by a nightshift before this field existed reads as empty.
   */
  tasks: string[];
  concurrency: number;
  /** Handlers running at its last heartbeat. */
  running: number;
  /**
   * How long after its last heartbeat it counts as gone: its `workerStaleMs` (30,000 for a row written
   * by a nightshift before this field existed). Every reader of the live workers and every sweep judges
   * it by the longer of this and their own bound.
   */
  staleMs: number;
  startedAt: Date;
  heartbeatAt: Date;
}

/**
 * Why ready jobs cannot start now (docs/TENANCY.md, "Throttled jobs"), in the order they are judged:
 * the queue is paused; no live worker claims from it; it is at its running limit, out of starts
 * (rate); no live worker offers every label the job requires; its concurrency key is at its limit,
 * out of starts.
 */
export const THROTTLE_REASONS = [
  'paused',
  'unserved',
  'queue_limit',
  'queue_rate',
  'labels',
  'key_limit',
  'key_rate',
] as const;
/** One reason ready jobs are held back. */
export type ThrottleReason = (typeof THROTTLE_REASONS)[number];

/** `queueThrottleList`: ready jobs of one queue held back for one reason. */
export interface QueueThrottle {
  queue: string;
  reason: ThrottleReason;
  count: number;
}

/** A queue: every queue that has jobs or is paused (a queue is only a name). */
export interface QueueInfo {
  name: string;
  counts: Record<JobState, number>;
  /** How long the oldest claimable job (queued, or scheduled and due) has waited, database clock; null when none. */
  oldestReadyAgeMs: number | null;
  /**
   * How long until its soonest scheduled job comes due, database clock; null when no job waits for its
   * time. A job reads `queued` from its due time on, and nothing is written then (no event): a reader
   * that shows the counts reads them again after this long.
   */
  nextDueInMs: number | null;
  paused: boolean;
  /**
   * Ready jobs (queued, or scheduled and due) that cannot start now, per reason (each job counted once,
   * under the first reason that holds it: `THROTTLE_REASONS`); 0 for every reason when none.
   */
  throttled: Record<ThrottleReason, number>;
  /**
   * How old the finished states' counts (completed, failed, cancelled) are, ms: 0 when they were read
   * for this list; a count of a long history is reused for up to twenty times as long as it took to
   * read (src/queue-finished-counts.ts), and says so here.
   */
  finishedCountsAgeMs: number;
}

/** What `queueList` is given: the live workers' bound, and the finished counts with their age. */
export interface QueueListParams {
  workerStaleMs: number;
  finishedCounts: readonly JobCount[];
  finishedCountsAgeMs: number;
}

/** The fleet part of the storage contract: workers registered while they run, and paused queues. */
export interface FleetStore {
  /** Inserts (or replaces) a worker's row; its start and heartbeat are now (database clock). */
  workerRegister(params: Omit<WorkerInfo, 'startedAt' | 'heartbeatAt'>): Promise<void>;
  /**
   * Records a worker's heartbeat and running count: one UPDATE by primary key. False when its row is
   * gone (swept while the worker stalled), so the worker registers again.
   */
  workerHeartbeat(params: { id: string; running: number }): Promise<boolean>;
  /** Deletes a worker's row (it stopped). */
  workerDelete(params: { id: string }): Promise<void>;
  /**
   * The live workers, by id: those whose heartbeat is at most the longer of `staleMs` and their own
   * `staleMs` old (database clock).
   */
  workerList(params: { staleMs: number }): Promise<WorkerInfo[]>;
  /**
   * Forgets the workers no longer live by the longer of `staleMs` and their own (killed without
   * stopping); their ids.
   */
  workerSweep(params: { staleMs: number }): Promise<{ deleted: string[] }>;
  /** Pauses a queue cluster-wide: no claim takes its jobs until resumed. False when already paused. */
  queuePause(params: { queue: string }): Promise<boolean>;
  /** Resumes a paused queue (and wakes workers waiting for it). False when it was not paused. */
  queueResume(params: { queue: string }): Promise<boolean>;
  /** The paused queues, by name: a read of the few rows pauses write, never of the jobs. */
  queuePausedList(): Promise<string[]>;
  /**
   * Every queue that has jobs or is paused, by name. The scheduled, queued and running counts are
   * `queueLoadList`'s and the throttled ones `queueBacklog`'s (workers live as `workerList` judges them
   * with `workerStaleMs`),
   * read now on one clock: bounded by the backlog and the running jobs, never the history. The finished
   * states' counts are `finishedCounts` (`jobFinishedCountByQueue`, which does read the history: the
   * caller decides how often), read `finishedCountsAgeMs` ago.
   */
  queueList(params: QueueListParams): Promise<QueueInfo[]>;
}

/** `jobInsertMany`: the jobs, the caller's transaction handle, and the attempt that fences them. */
export interface JobInsertManyParams<Tx = unknown> {
  jobs: NewJob[];
  tx?: Tx;
  fence?: LeaseRef;
}

/** One job by id (`jobGet`, `jobCancel`, `jobRetry`, `jobDelete`). */
export interface JobIdParams {
  id: string;
}

/**
 * `jobList`'s page and the cursor of the next one. A page walks at most `JOB_LIST_WALK_MAX` jobs past
 * its cursor: when the walk ends before `limit` jobs matched, the page holds those that did (perhaps
 * none) and `nextCursor` goes on from where the walk stopped. Only a null cursor says no job is left.
 */
export interface JobPage {
  jobs: Job[];
  nextCursor: string | null;
}

/**
 * The most jobs one `jobList` page walks past its cursor (in list order) looking for matches: a filter
 * that matches few of a long history costs each page a bounded read (51-121 ms on PostgreSQL, 21-67 ms
 * of SQLite's event loop, on a 2-core machine) rather than a read of the whole history (2.9-3.5 s and
 * 0.42-0.48 s over 1,000,000 jobs), which on a long enough one outlasts the statement timeout.
 */
export const JOB_LIST_WALK_MAX = 50_000;

/** `jobCountByQueue`: jobs in one state of one queue. */
export interface JobCount {
  queue: string;
  state: JobState;
  count: number;
}

/** `jobClaim`: who claims, from which queues (all when absent), how many, and the default lease. */
export interface JobClaimParams {
  workerId: string;
  queues?: string[];
  /**
   * The labels the worker offers, canonical (validation/labels.ts): it claims jobs without
   * requirements and those whose every required label is among these. Absent or empty: only jobs
   * without requirements.
   */
  labels?: string[];
  limit: number;
  leaseMs: number;
  /** Called once, when the claim is answered, with what it learned besides its jobs. */
  report?: (report: ClaimReport) => void;
}

/** What a claim learned besides its jobs (`JobClaimParams.report`). */
export interface ClaimReport {
  /**
   * It met a limit: a queue it may claim from has a concurrency limit or a rate, or a ready job has a
   * concurrency key. It may have left jobs waiting that a slot freed later admits, so a claimer should
   * not wait for new work alone.
   */
  limitsMet: boolean;
  /**
   * For a batch shorter than asked: milliseconds until the earliest scheduled job of its queues is due
   * or a rate out of starts (of its queues, or of any key) allows a start again, whichever is sooner,
   * by the store's clock (0 or less: due already, made ready by this claim); GROUPED_LEFT_CLAIM_MS
   * when grouped jobs may be left ready (fair-turns.ts); null when none of these, or the batch was
   * full. A claimer waiting for work claims again by then.
   */
  nextDueInMs: number | null;
}

/** `jobLeaseRenew`: the attempts and the default lease. */
export interface JobLeaseRenewParams<Tx = unknown> {
  leases: LeaseRef[];
  leaseMs: number;
  /** A handle from `transaction`: the renewal commits or rolls back with it (a fence for its writes). */
  tx?: Tx;
}

/** `jobLeaseRenew`'s answer: the attempts still current, and whether each was asked to cancel. */
export interface JobLeaseRenewResult {
  renewed: Array<{ id: string; cancelRequested: boolean }>;
}

/** `jobFinishMany`: the attempts' outcomes and the caller's transaction handle. */
export interface JobFinishManyParams<Tx = unknown> {
  finishes: JobFinish[];
  tx?: Tx;
}

/** `jobCheckpointSave`: the attempt, its checkpoint and the caller's transaction handle. */
export interface JobCheckpointSaveParams<Tx = unknown> extends LeaseRef {
  checkpoint: unknown;
  tx?: Tx;
}

/** `jobStepGet`: a job's durable step by name. */
export interface JobStepGetParams {
  jobId: string;
  name: string;
}

/** `jobStepGet`'s answer: whether the step was recorded, and its result. */
export interface JobStepGetResult {
  found: boolean;
  result: unknown;
}

/** `jobStepSave`: the attempt, the step's name and its result. */
export interface JobStepSaveParams extends LeaseRef {
  name: string;
  result: unknown;
}

/** `jobCancel`'s answer, with the job unless it was not found. */
export interface JobCancelResult {
  outcome: 'cancelled' | 'cancel_requested' | 'already_final' | 'not_found';
  job?: Job;
}

/** `jobCancelCheck`: the attempts to check. */
export interface JobCancelCheckParams {
  leases: LeaseRef[];
}

/** `jobRetry`'s answer, with the job unless it was not found. */
export interface JobRetryResult {
  outcome: 'retried' | 'not_retryable' | 'not_found';
  job?: Job;
}

/** `jobRescueLapsed`: how many lapsed attempts one call recovers at most. */
export interface JobRescueLapsedParams {
  limit: number;
}

/** `jobRescueLapsed`'s answer: the jobs requeued and those failed for good. */
export interface JobRescueLapsedResult {
  requeued: string[];
  failed: string[];
}

/** A prune (`jobPrune`, `eventPrune`, `scheduleSlotPrune`): rows older than `olderThanMs`, at most `limit`. */
export interface PruneParams {
  olderThanMs: number;
  limit: number;
}

/** `jobRunList`: one job's run history. */
export interface JobRunListParams {
  jobId: string;
}

/** `jobDelete`'s answer. */
export interface JobDeleteResult {
  outcome: 'deleted' | 'not_final' | 'not_found';
}

/** `jobRetryMatching`: the filters and how many jobs at most. */
export interface JobRetryMatchingParams {
  match: JobMatch<'failed' | 'cancelled'>;
  limit: number;
}

/**
 * The waiting rows a bulk cancel walks, one statement per set, each with the state its jobs read
 * (README "Job states"): scheduled rows not yet due, scheduled rows whose time has come by the store's
 * clock (they read `queued`), and queued rows. A `match.state` keeps the sets whose jobs read it.
 */
export const WAITING_SETS = [
  { set: 'later', reads: 'scheduled' },
  { set: 'due', reads: 'queued' },
  { set: 'queued', reads: 'queued' },
] as const;

/** One of WAITING_SETS. */
export type WaitingSet = (typeof WAITING_SETS)[number]['set'];

/** `jobCancelMatching`: the filters and how many jobs at most. */
export interface JobCancelMatchingParams {
  match: JobMatch<'scheduled' | 'queued' | 'running'>;
  limit: number;
}

/** `jobCancelMatching`'s answer: waiting jobs cancelled and running ones flagged. */
export interface JobCancelMatchingResult {
  cancelled: number;
  cancelRequested: number;
}

/** `eventRead`: the filters, the cursor to read after and the page size. */
export interface EventReadParams extends ClusterEventFilter {
  after: string | null;
  limit: number;
}

/** `eventRead`'s page and where the next one starts. */
export interface EventPage {
  events: ClusterEvent[];
  next: string;
  /**
   * True when the read stopped before the newest event readable when it began: a full page, or (on
   * PostgreSQL, whose read scans at most `limit` log entries) a filtered page, however short or empty,
   * whose scan reached that bound. Read on from `next` at once; false: nothing more is readable now.
   */
  more: boolean;
}

/** `eventAppend`: the events and the caller's transaction handle. */
export interface EventAppendParams<Tx = unknown> {
  events: NewClusterEvent[];
  tx?: Tx;
}

/** A concurrency key's slots (docs/TENANCY.md). */
export interface ConcurrencyKeyInfo {
  key: string;
  /** Jobs of the key running now (holding a lease, or past it and not yet rescued). */
  running: number;
  /**
   * The limit in force: the operator's when set, else the smallest own limit among the jobs the latest
   * claim of the key took (each job starts while fewer than its own limit run: docs/TENANCY.md); null
   * for a key an operator's limit or rate made before any claim took one of its jobs.
   */
  limit: number | null;
  /** The operator's limit, or null when the jobs' own limit applies. */
  operatorLimit: number | null;
  /** The operator's rate of starts for the key, null when it has none. */
  rate: StartRate | null;
}

/** A queue's cluster-wide limit of running jobs (docs/TENANCY.md). */
export interface QueueLimitInfo {
  queue: string;
  /** Null: the queue had a limit once and has none now. */
  limit: number | null;
  /** Running jobs that took one of its slots (claimed while it had a limit). */
  running: number;
  /** Its rate of starts, null when it has none. */
  rate: StartRate | null;
}

/** A rate of starts: at most `limit` per `periodMs`, a burst of `limit` then evenly spaced. */
export interface StartRate {
  limit: number;
  periodMs: number;
}

/** A group of fairly claimed jobs (docs/TENANCY.md). */
export interface JobGroupInfo {
  group: string;
  /** The turns it gets per visit of its jobs in a queue: 1 unless an operator set it. */
  weight: number;
  /** Its jobs ready to run now (queued). */
  queued: number;
  /** Its jobs running now (holding a lease, or past it and not yet rescued). */
  running: number;
}

/** Concurrency limits: slots of keys and queues, and the limits an operator sets. */
export interface LimitsStore {
  /**
   * Groups with ready or running jobs or a weight, by name, after `after`; `running: true` keeps only
   * groups with running jobs. Counted when read: bounded by the grouped backlog and the running jobs.
   */
  groupList(params: { after?: string; limit: number; running?: boolean }): Promise<JobGroupInfo[]>;
  /** Sets (a number) or resets to 1 (null) a group's weight; applies from the next claim. */
  groupSetWeight(params: { group: string; weight: number | null }): Promise<void>;
  /** Keys ever claimed, by key, after `after`; `running: true` keeps only keys with running jobs. */
  concurrencyKeyList(params: {
    after?: string;
    limit: number;
    running?: boolean;
  }): Promise<ConcurrencyKeyInfo[]>;
  /**
   * Sets (a number) or clears (null) the operator's limit of `key`, which wins over the limit its
   * jobs were enqueued with. Lowering it below the running count stops new claims until enough end;
   * running jobs are not interrupted.
   */
  concurrencyKeySetLimit(params: { key: string; limit: number | null }): Promise<void>;
  /**
   * Sets (a rate) or removes (null) the cluster-wide rate of starts of `key`'s jobs, on the database
   * clock. A new rate allows its full burst at once.
   */
  concurrencyKeySetRate(params: { key: string; rate: StartRate | null }): Promise<void>;
  /**
   * Deletes the rows of keys without running jobs and without an operator limit whose last slot came
   * back more than `olderThanMs` ago (the pruner): a key's next claim makes its row again. Measured on
   * the database's clock.
   */
  concurrencyKeyPrune(params: PruneParams): Promise<{ deleted: number }>;
  /** Every queue ever given a limit or a rate, by name. */
  queueLimitList(): Promise<QueueLimitInfo[]>;
  /**
   * Sets (a number) or removes (null) a queue's cluster-wide limit of running jobs. A new limit counts
   * the jobs claimed from then on, not those already running.
   */
  queueSetLimit(params: { queue: string; limit: number | null }): Promise<void>;
  /**
   * Sets (a rate) or removes (null) a queue's cluster-wide rate of starts, on the database clock. A
   * new rate allows its full burst at once.
   */
  queueSetRate(params: { queue: string; rate: StartRate | null }): Promise<void>;
}

/**
 * How long closing a store waits for the calls still in flight before cutting their connections, and
 * how long `ns.close()` waits in all once its services stopped (the enqueues being written, then the
 * store's close, take their share of it). A black-holed connection (a host gone, a partition) answers
 * nothing, not even its end: closing waited for each call's client-side timeout, 65 s with the
 * PostgreSQL defaults, and a worker told to stop by SIGTERM was killed by its supervisor before it
 * exited.
 */
export const CLOSE_WAIT_MS = 5_000;

/** `close`: how long the calls in flight may take. */
export interface CloseParams {
  /** Default `CLOSE_WAIT_MS`; 0 cuts them at once. */
  waitMs?: number;
}

/**
 * What a connection to a backend can do. Implemented by `SqliteStore` (`Tx`: a better-sqlite3
 * Database) and `PostgresStore` (`Tx`: a node-postgres client); the engine holds any store as
 * `Store`, whose handles it only passes back, and each store still checks a handle at run time.
 */
export interface Store<Tx = unknown>
  extends ScheduleStore, TokenStore, JobLogStore, ObserveStore, FleetStore, LimitsStore {
  readonly dialect: StoreDialect;
  /**
   * True when `listen` also delivers events caused by other processes (PostgreSQL LISTEN/NOTIFY);
   * false when only this store's own writes are heard (SQLite), so callers poll for the rest.
   */
  readonly crossProcessEvents: boolean;
  /**
   * True while events caused by other processes reach `listen` (PostgreSQL: its LISTEN connection is
   * up); always false where `crossProcessEvents` is. Each change is announced by `events:live`.
   */
  readonly crossProcessEventsLive: boolean;

  /** Applies pending migrations; safe when many processes call it at once. Refuses a newer schema. */
  migrate(): Promise<{ from: number; to: number }>;
  /** The schema version in the database and the newest this code knows. */
  schemaVersion(): Promise<{ current: number; latest: number }>;
  /** Fails with `schema_too_new` when the database was migrated by a newer nightshift. */
  schemaCheck(): Promise<void>;
  /** The database's clock. */
  now(): Promise<Date>;
  /** Dead rows and what holds vacuum back (PostgreSQL), free pages and WAL size (SQLite). */
  databaseHealth(): Promise<DatabaseHealth>;
  /**
   * Ends the store's connections: idle ones at once, those a call still holds when the call ends, but
   * no later than `waitMs`; then they are cut and those calls fail as `database_unavailable`.
   */
  close(params?: CloseParams): Promise<void>;

  /**
   * Inserts jobs in one transaction. A repeated idempotency key yields the existing job with
   * `created: false`. With `tx`, runs on the caller's own transaction handle (a better-sqlite3
   * Database inside a transaction, or a node-postgres client inside BEGIN) so the jobs exist iff the
   * caller commits. With `fence`, inserts only while that attempt still holds its lease (child jobs).
   */
  jobInsertMany(params: JobInsertManyParams<Tx>): Promise<JobInsertResult[]>;
  jobGet(params: JobIdParams): Promise<Job | undefined>;
  jobList(params: JobListParams): Promise<JobPage>;
  /**
   * How long until the soonest scheduled job matching `params` (every filter but the state) comes due,
   * in whole ms by the store's clock, rounded up; null when no such job waits for its time. From then
   * on it reads `queued` and joins a list of queued jobs, and nothing is written at that moment (no
   * event): a reader showing that list reads it again then. Walks the scheduled jobs not yet due in due
   * order until one matches, so its cost follows the jobs waiting for their time, never the history.
   */
  jobNextDue(params: Omit<JobMatch, 'state'>): Promise<number | null>;
  /** Counts per (queue, state): a read of every job kept, finished ones included. */
  jobCountByQueue(): Promise<JobCount[]>;
  /**
   * Counts per queue of the finished states (`completed`, `failed`, `cancelled`): a read of every job
   * kept (SQLite reads it in slices, the event loop free between two), so its cost grows with retention;
   * `queueList`'s callers reuse it (src/queue-finished-counts.ts).
   */
  jobFinishedCountByQueue(): Promise<JobCount[]>;

  /**
   * Claims up to `limit` due jobs (priority desc, then due time, then id) from `queues` (all queues
   * when absent) except paused ones (`queuePause`, checked inside the claim statement), moving them to `running` with a fresh lease token, `attempt + 1`, and a lease of the
   * job's `leaseMs` or `leaseMs` here. Due `scheduled` jobs are eligible. Concurrent claimers never
   * receive the same job.
   */
  jobClaim(params: JobClaimParams): Promise<ClaimedJob[]>;
  /**
   * Extends the leases of still-current attempts by each job's `leaseMs` (or `leaseMs` here). Attempts
   * missing from `renewed` lost their lease. `cancelRequested` tells the worker to abort the handler.
   */
  jobLeaseRenew(params: JobLeaseRenewParams<Tx>): Promise<JobLeaseRenewResult>;
  /**
   * Ends attempts and writes one run-history row per accepted attempt, each fenced by its lease
   * token. Refused finishes (stale token) are absent from `accepted`. A job may appear more than once
   * (a lapsed attempt's late finish beside its successor's, a repeat): only the finish holding the
   * current token is written, and its id is listed once. With `tx` (a handle from `transaction`), the
   * finishes commit or roll back with the caller's writes in it.
   */
  jobFinishMany(params: JobFinishManyParams<Tx>): Promise<{ accepted: string[] }>;
  /**
   * Saves a checkpoint for a current attempt; false when the lease token is stale. With `tx` (a handle
   * from `transaction`), the checkpoint commits or rolls back with the caller's writes in it.
   */
  jobCheckpointSave(params: JobCheckpointSaveParams<Tx>): Promise<boolean>;
  /**
   * Runs `fn` inside one database transaction and commits when it resolves, rolls back when it
   * rejects. `tx` is the backend's own handle (SQLite: the store's better-sqlite3 Database inside
   * BEGIN IMMEDIATE; PostgreSQL: a node-postgres client inside BEGIN), accepted as `tx` by the methods
   * above and by `jobInsertMany`, so a caller's writes and job writes are committed together or not
   * at all. Store events caused inside it are emitted only after COMMIT.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * How another thread or process opens this same database (a URL `openStore` accepts and its
   * PostgreSQL schema), or null when it cannot (an in-memory SQLite database).
   */
  peerAddress?(): { url: string; schema?: string } | null;
  /** A finished durable step's recorded result, if any. */
  jobStepGet(params: JobStepGetParams): Promise<JobStepGetResult>;
  /** Records a durable step's result for a current attempt; false when the lease token is stale. */
  jobStepSave(params: JobStepSaveParams): Promise<boolean>;

  /**
   * Cancels a job: `scheduled`/`queued` become `cancelled` at once; `running` gets `cancelRequested`
   * and becomes `cancelled` when its worker finishes the attempt; final jobs are left as they are.
   */
  jobCancel(params: JobIdParams): Promise<JobCancelResult>;
  /**
   * Of these attempts, the ones still current whose job was asked to cancel. A read that renews
   * nothing: a worker whose store cannot push `job:cancel_requested` across processes calls it at its
   * poll interval, so a cancel reaches a running handler without waiting for the next renewal.
   */
  jobCancelCheck(params: JobCancelCheckParams): Promise<{ cancelRequested: string[] }>;
  /** Puts a `failed` or `cancelled` job back to `queued`, due now, with one more attempt allowed. */
  jobRetry(params: JobIdParams): Promise<JobRetryResult>;

  /**
   * Recovers attempts whose lease lapsed (database clock): requeues them, or fails them with reason
   * `lease_lapsed` when attempts are exhausted, and writes a `lease_lapsed` run row for each.
   */
  jobRescueLapsed(params: JobRescueLapsedParams): Promise<JobRescueLapsedResult>;
  /**
   * True when no job waits in any queue (ready, scheduled or paused) and no lease is held: no job can
   * be claimed, so none can lapse, until one is enqueued, retried or resumed, each of which the store
   * announces as `job:ready`. False is always safe: PostgreSQL counts a claim's lease until it expires
   * and a `jobRescueLapsed` sweep drops it, even when its jobs have ended.
   */
  jobIdleCheck(): Promise<boolean>;
  /** Deletes up to `limit` final jobs (and their runs, steps and log lines) finished more than `olderThanMs` ago. */
  jobPrune(params: PruneParams): Promise<{ deleted: number }>;
  /** The run history of a job, oldest attempt first. */
  jobRunList(params: JobRunListParams): Promise<JobRun[]>;
  /**
   * Deletes one final job with its runs, steps and log lines. `not_final` (nothing deleted) while it is scheduled,
   * queued or running.
   */
  jobDelete(params: JobIdParams): Promise<JobDeleteResult>;
  /**
   * Puts up to `limit` jobs in `match.state` (`failed` by default, or `cancelled`) matching the filters
   * back to `queued`, as `jobRetry` does one, in short transactions of a bounded batch each. Returns how
   * many it requeued.
   */
  jobRetryMatching(params: JobRetryMatchingParams): Promise<{ retried: number }>;
  /**
   * Cancels up to `limit` waiting jobs (`scheduled`, `queued`, or the one `match.state`) matching the
   * filters and flags running ones (`match.state` absent or `running`) as `jobCancel` does one, in short
   * transactions of a bounded batch each. Returns how many were cancelled and how many flagged.
   */
  jobCancelMatching(params: JobCancelMatchingParams): Promise<JobCancelMatchingResult>;

  /**
   * A page of the cluster event log after `after` (a cursor from an event's id, `next`, or `eventHead`;
   * null: from the oldest event kept), oldest first, matching the filters. `next` is where the following
   * page starts: past every event returned, and past every event already readable when nothing more
   * matched, so a filtered reader does not re-scan what it skipped. An event appears only once nothing
   * can commit before it (PostgreSQL: every transaction older than its writer ended), so a reader that
   * resumes from its cursor never misses or repeats one. A malformed cursor is `invalid_argument`.
   */
  eventRead(params: EventReadParams): Promise<EventPage>;
  /** The cursor after every event readable now ("from now on"). */
  eventHead(): Promise<string>;
  /**
   * Appends events. With `tx` (a handle as `jobInsertMany` takes it), they commit or roll back with the
   * caller's transaction: how a component records its own transitions (a queue pause) in the event log.
   */
  eventAppend(params: EventAppendParams<Tx>): Promise<void>;
  /**
   * Deletes up to `limit` of the oldest log entries written more than `olderThanMs` ago; returns how
   * many. An entry is one event on SQLite, one statement's events of one type on PostgreSQL.
   */
  eventPrune(params: PruneParams): Promise<{ deleted: number }>;

  /**
   * Subscribes to store events. Within one process they arrive for every write this store made;
   * across processes only where the backend can notify (PostgreSQL LISTEN/NOTIFY). Callers must also
   * poll: events are a latency optimisation, never the only path. Listeners run after the write
   * committed; one that throws is logged (the store's `logger`) and skipped, and the write's call
   * resolves as if nothing happened (conformance: test/conformance/events.ts).
   */
  listen<K extends keyof StoreEvents>(event: K, listener: (payload: StoreEvents[K]) => void): () => void;
}

/** Events a store emits. */
export interface StoreEvents {
  /**
   * Jobs became claimable in `queue`; in any queue when it is null (a SQLite write in another process,
   * whose wake file names no queue).
   */
  'job:ready': { queue: string | null };
  /** A job reached a final state. */
  'job:finished': { id: string; state: JobState };
  /**
   * A finish gave back a queue slot or a concurrency key: a job that limit held back may start now.
   * PostgreSQL: a finish of this store, or of another process (its NOTIFY); SQLite: of this store,
   * another process's arriving as `job:ready` of any queue (its wake file).
   */
  'job:capacity': Record<string, never>;
  /** A running job was asked to cancel (`jobCancel`); its worker aborts the attempt's signal. */
  'job:cancel_requested': { id: string };
  /**
   * Cluster events were committed (by this store at once, by other processes within ~25 ms on
   * PostgreSQL): readers of the event log read again. A wake-up only; the log is the truth.
   */
  'event:written': Record<string, never>;
  /**
   * Events of other processes started (`live`) or stopped reaching `listen` (PostgreSQL: its LISTEN
   * connection connected or was lost). Whatever was sent while they did not is lost: a listener that
   * waits for events looks for itself.
   */
  'events:live': { live: boolean };
}

/** A schedule handed to a scheduler's planner, with the schedule's active (non-final) job, if any. */
export interface DueSchedule {
  schedule: Schedule;
  /** A job of this schedule still `scheduled`, `queued` or `running`; null when none is. */
  activeJobId: string | null;
  /** The schedule's oldest `waiting` ledger row (released when nothing is active), if any. */
  waitingSlot: SlotRecord | null;
  /** A run of this schedule reached a final state (or its job is gone) and is not settled yet. */
  settlePending: boolean;
}

/** A ledger row whose job reached a final state (or was deleted: `job` null), not yet settled. */
export interface FinishedSlotRun {
  slot: SlotRecord;
  job: Pick<Job, 'id' | 'state' | 'result' | 'error' | 'startedAt' | 'finishedAt'> | null;
}

/**
 * What a planner decided, written in the same transaction that read its input. Every schedule touched
 * appears in `states` with the version it was read at; a version that moved on aborts the whole
 * transaction with `conflict` (compare-and-set), so a stale planner never writes anything.
 */
export interface ScheduleWrites {
  states: Array<{ id: string; expectVersion: number; state: ScheduleState }>;
  /** New ledger rows. The (scheduleId, slotKey) key is unique: a slot is recorded once, ever. */
  slots: SlotRecord[];
  /** Existing ledger rows rewritten whole (waiting -> enqueued, settled outcomes). */
  slotUpdates: SlotRecord[];
  /** Jobs of enqueued slots; each carries its slot's idempotency key. */
  jobs: NewJob[];
}

/** Decides, from schedules read under lock, what to write. Pure and synchronous. */
export type SchedulePlanner<Input> = (input: Input) => ScheduleWrites;

/** Filters of `scheduleList`. */
export interface ScheduleListParams {
  limit: number;
  /** Only ids after this one (the last id of the previous page). */
  afterId?: string;
  task?: string;
  /** See `ScheduleCondition`. */
  condition?: ScheduleCondition;
  /** Only ids that start with this text (case-sensitive). */
  idPrefix?: string;
}

/** What `scheduleUpsertMany` did with each id, in input order. */
export interface ScheduleUpsertResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

/** A job log line to store, already bounded and encoded by the worker (src/worker/job-log-lines.ts). */
export interface NewJobLogLine {
  jobId: string;
  attempt: number;
  /** Order of the line within its attempt, for lines logged in the same millisecond. */
  seq: number;
  at: Date;
  level: JobLogLevel;
  message: string;
  /** JSON text, or null when the line has no data. */
  data: string | null;
}

/**
 * The job log part of the storage contract. Lines are deleted with their job (`jobDelete`, `jobPrune`).
 * No fence: a line is a record of what an attempt did, kept even when its lease was lost meanwhile.
 */
export interface JobLogStore {
  /** Inserts lines of any jobs and attempts in one round trip. */
  jobLogAppend(params: { lines: NewJobLogLine[] }): Promise<void>;
  /** A job's lines, oldest attempt first, in the order they were logged; empty for an unknown job. */
  jobLogList(params: { jobId: string }): Promise<JobLogLine[]>;
}

/** The API token part of the storage contract. Secrets never reach the store: only their hashes. */
export interface TokenStore {
  /** Stores a new token; `expiresInMs` counts from the database's now. */
  tokenCreate(params: {
    id: string;
    name: string;
    role: ApiRole;
    /** SHA-256 of the secret, lowercase hex. */
    hash: string;
    expiresInMs: number | null;
  }): Promise<ApiToken>;
  /** Every token, revoked and expired ones included, oldest first. */
  tokenList(): Promise<ApiToken[]>;
  /** Revokes a token for good; false when there is no such token or it was already revoked. */
  tokenRevoke(params: { id: string }): Promise<boolean>;
  /** The token with this hash if it is usable now: not revoked, not expired (database clock). */
  tokenFind(params: { hash: string }): Promise<(ApiToken & { hash: string }) | undefined>;
  /** Records that a token was used now (database clock). */
  tokenTouch(params: { id: string }): Promise<void>;
  /** True when at least one usable token exists. */
  tokenAnyActive(): Promise<boolean>;
}

/** The schedule part of the storage contract. */
export interface ScheduleStore {
  /** Inserts a schedule; `conflict` when the id exists. */
  scheduleCreate(params: { definition: ScheduleDefinition; state: ScheduleState }): Promise<Schedule>;
  /**
   * Replaces a schedule's definition; `nextSlotAt`, when given, replaces the next slot too (the timing
   * changed). Undefined when there is no such schedule.
   */
  scheduleUpdate(params: {
    definition: ScheduleDefinition;
    nextSlotAt?: Date | null;
  }): Promise<Schedule | undefined>;
  /** Deletes a schedule and its ledger; its jobs stay. False when it did not exist. */
  scheduleDelete(params: { id: string }): Promise<boolean>;
  scheduleGet(params: { id: string }): Promise<Schedule | undefined>;
  /** Schedules by id, after `afterId`, matching every filter given. */
  scheduleList(params: ScheduleListParams): Promise<Schedule[]>;
  /**
   * One transaction: inserts each listed schedule that is missing (with `state`), replaces the
   * definition of each `api` schedule whose definition differs (its next slot becomes
   * `state.nextSlotAt` only when the timing changed; the rest of its state and its ledger are kept),
   * and leaves identical ones untouched (not even their version moves). An id held by a `config`
   * schedule is a `conflict`, and then nothing is written.
   */
  scheduleUpsertMany(params: {
    schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }>;
  }): Promise<ScheduleUpsertResult>;
  /**
   * One transaction: creates each given config schedule that is missing (with `state`), updates the
   * definition of each that exists (keeping its state, except that a changed cron, everyMs or timezone
   * takes `state.nextSlotAt`), and deletes `config` schedules absent from the list. An `api` schedule
   * with a config schedule's id is left alone and reported in `conflicts`.
   */
  scheduleSync(params: {
    schedules: Array<{ definition: ScheduleDefinition; state: ScheduleState }>;
  }): Promise<{ created: string[]; updated: string[]; deleted: string[]; conflicts: string[] }>;
  /**
   * Claims up to `limit` unpaused, unsuspended schedules whose next slot is at or before `dueBy` (the
   * scheduler's now plus its lookahead)
   * (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one IMMEDIATE transaction), calls `plan` with them and
   * writes its result in the same transaction. Returns what was written.
   */
  scheduleFire(params: {
    dueBy: Date;
    limit: number;
    plan: SchedulePlanner<DueSchedule[]>;
  }): Promise<ScheduleWrites>;
  /**
   * Finds up to `limit` enqueued ledger rows whose job is final (or gone) and not yet settled, locks
   * them and their schedules, and writes `plan`'s result in the same transaction.
   */
  scheduleSettle(params: {
    limit: number;
    plan: SchedulePlanner<{ runs: FinishedSlotRun[]; schedules: DueSchedule[] }>;
  }): Promise<ScheduleWrites>;
  /** Locks one schedule and writes `plan`'s result (trigger, pause, resume). Undefined when absent. */
  scheduleApply(params: {
    id: string;
    plan: SchedulePlanner<DueSchedule>;
  }): Promise<{ writes: ScheduleWrites; schedule: Schedule } | undefined>;
  /** A schedule's ledger, newest slot first. */
  scheduleSlotList(params: { scheduleId: string; limit: number }): Promise<SlotRecord[]>;
  /** Deletes up to `limit` ledger rows recorded more than `olderThanMs` ago, except open enqueued ones. */
  scheduleSlotPrune(params: PruneParams): Promise<{ deleted: number }>;
}

/** Waiting or running jobs of one queue in one state (`queueLoadList`). */
export interface QueueLoad {
  queue: string;
  state: 'scheduled' | 'queued' | 'running';
  count: number;
  /** The earliest due time among these jobs that are due (claimable now); null when none is, or running. */
  oldestReadyAt: Date | null;
  /**
   * For `scheduled` (jobs not due yet): the soonest due time among them, when the queue's `queued` count
   * and oldest ready job change with nothing written (the alerts judge both); null in other states.
   */
  nextDueAt: Date | null;
}

/** `queueBacklog`: the load per queue and state, and the throttled counts per queue and reason. */
export interface QueueBacklog {
  load: QueueLoad[];
  throttled: QueueThrottle[];
}

/** A running job as the alerts read it (`jobRunningList`). */
export interface RunningJob {
  id: string;
  task: string;
  queue: string;
  attempt: number;
  startedAt: Date;
  leaseExpiresAt: Date;
  workerId: string | null;
}

/** Missed and skipped slots of one schedule recorded in a window (`scheduleSlotLapseList`). */
export interface SlotLapse {
  scheduleId: string;
  /** Slots missed (a range row counts as its slot count). */
  missed: number;
  skipped: number;
  /** When the earliest of these rows was recorded. */
  since: Date;
}

/** The attempts that ended within one bucket of time (`jobRunStats`). Percentiles are nearest-rank, in ms. */
export interface RunStatsBucket {
  /** Start of the bucket. */
  at: Date;
  completed: number;
  /** Attempts that left their job `failed` (no attempt left). */
  failed: number;
  /** Failed, timed-out or lapsed attempts after which the job was tried again. */
  retried: number;
  /** From due to start, over every attempt counted above. */
  waitMs: Percentiles;
  /** From start to end, over every attempt counted above. */
  runMs: Percentiles;
}

/** Nearest-rank percentiles; null when there was nothing to measure. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * Reads for metrics, alerts and the dashboard's charts (src/observe). Each one is bounded by an index:
 * by the backlog, the running jobs, the window asked for, never by the whole job history.
 */
export interface ObserveStore {
  /** Scheduled, queued and running jobs per queue, with the oldest due time of those ready to claim. */
  queueLoadList(): Promise<QueueLoad[]>;
  /** Up to `limit` running jobs, the earliest lease end first. */
  jobRunningList(params: { limit: number }): Promise<RunningJob[]>;
  /** Missed and skipped slots per schedule recorded in the last `windowMs` (database clock). */
  scheduleSlotLapseList(params: { windowMs: number }): Promise<SlotLapse[]>;
  /**
   * Attempts that ended (completed, failed, retried) per bucket of `bucketMs` over the last `buckets`
   * buckets, the current one included, oldest first; buckets without any are absent. Buckets start at
   * whole multiples of `bucketMs` since the epoch (database clock), so a bucket's attempts are the
   * same whichever window reads them.
   */
  jobRunStats(params: { buckets: number; bucketMs: number }): Promise<RunStatsBucket[]>;
  /**
   * `queueLoadList`'s rows and the ready jobs (queued, or scheduled and due) held back now, per queue
   * and reason (docs/TENANCY.md, "Throttled jobs"), each counted under the first reason of
   * `THROTTLE_REASONS` that holds it; workers live as `workerList` judges them with `workerStaleMs`.
   * Zero throttled counts are left out. One read of the waiting jobs (the ready
   * indexes and the scheduled ones), on one clock, never of the finished history, with one primary-key
   * probe of its key per keyed job: what a metrics scrape reads, where the two reads apart read the
   * backlog twice.
   */
  queueBacklog(params: { workerStaleMs: number }): Promise<QueueBacklog>;
}
