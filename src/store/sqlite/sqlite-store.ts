/**
 * The embedded SQLite backend: one better-sqlite3 connection per store, WAL so readers never wait for
 * the writer, and BEGIN IMMEDIATE for every read-then-write so several processes (a worker and a CLI)
 * can share one database file. Lock waits happen asynchronously (see busy-retry.ts), so SQLITE_BUSY
 * never reaches a caller; past the bound it becomes `database_unavailable`.
 *
 * Options: `filename` (a path or ':memory:'), `busyTimeoutMs` (synchronous wait inside SQLite per
 * attempt, default 50 ms), `busyRetryMs` (total asynchronous retry bound, default 30 s), `clock`
 * (ms since the epoch, default Date.now: the host clock is SQLite's clock; tests inject one).
 */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { NightshiftError, unexpectedStoreError } from '../../errors.js';
import type { Job, JobLogLine, JobRun, JobState } from '../../job.js';
import type { ClusterEvent, ClusterEventFilter, NewClusterEvent } from '../../cluster-events.js';
import type {
  ApiToken,
  DatabaseHealth,
  ClaimedJob,
  FleetStore,
  LimitsStore,
  JobFinish,
  JobInsertResult,
  JobListParams,
  JobMatch,
  NewJobLogLine,
  LeaseRef,
  NewJob,
  QueueLoad,
  RunningJob,
  RunStatsMinute,
  SlotLapse,
  ScheduleStore,
  Store,
  StoreEvents,
  TokenStore,
} from '../store.js';
import { withBusyRetry } from './busy-retry.js';
import { SqliteConnection } from './connection.js';
import { eventAppend, eventHead, eventPrune, eventRead } from './event-log.js';
import { jobClaim, jobLeaseRenew, renewLeases, type ClaimParams, type RenewParams } from './job-claim.js';
import { SqliteTokens } from './api-tokens.js';
import { SqliteJobLogs } from './job-logs.js';
import { SqliteObserve } from './observe.js';
import { SqliteLimits } from './limits.js';
import { SqliteFleet } from './fleet.js';
import {
  jobCancel,
  jobCancelCheck,
  jobCancelMatching,
  jobDelete,
  jobRetry,
  jobRetryMatching,
  type CancelResult,
  type RetryResult,
} from './job-control.js';
import { finishAttempts, jobFinishMany, jobRescueLapsed } from './job-finish.js';
import { jobInsertMany } from './job-insert.js';
import { jobList } from './job-list.js';
import { decodeJson, encodeJson, toJob, toJobRun, type JobRow, type JobRunRow } from './job-row.js';
import {
  applyMigration,
  assertNotTooNew,
  currentVersion,
  knownMigrations,
  latestVersion,
} from './migrator.js';
import { SqliteSchedules } from './schedules.js';
import { SqliteTransactions } from './transaction.js';
import { FREELIST_COUNT, PAGE_COUNT } from './sql/database-health.js';
import { JOB_CHECKPOINT_SAVE, JOB_STEP_GET, JOB_STEP_SAVE } from './sql/job-lease.js';
import { JOB_PRUNE_BATCH } from './sql/job-maintenance.js';
import { JOB_COUNT_BY_QUEUE, JOB_GET, JOB_RUN_LIST } from './sql/job-read.js';

/** Options for `SqliteStore.open`. */
export interface SqliteStoreOptions {
  /** Database file path, or ':memory:'. */
  filename: string;
  /** Synchronous wait for a lock inside one SQLite call. Keep it short: it blocks the event loop. */
  busyTimeoutMs?: number;
  /** How long a locked database is retried (asynchronously) before `database_unavailable`. */
  busyRetryMs?: number;
  /** The store's clock in ms since the epoch. */
  clock?: () => number;
  /** Refuse to create the file when it does not exist (it is then `database_unavailable`). */
  fileMustExist?: boolean;
}

// Deleting a few hundred rows (with their runs and steps) takes a few ms, so other writers wait at
// most that long for the lock between batches.
const PRUNE_BATCH = 500;

/** A `Store` on an SQLite database file. */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  /** Events reach only this process: other processes learn of changes by polling. */
  readonly crossProcessEvents = false;

  // Schedules and their slot ledger live in schedules.ts; the methods below delegate to it.
  private readonly schedules: SqliteSchedules;

  private readonly transactions: SqliteTransactions;
  private readonly tokens: SqliteTokens;
  private readonly jobLogs: SqliteJobLogs;
  private readonly observe: SqliteObserve;
  private readonly fleet: SqliteFleet;
  private readonly limits: SqliteLimits;

  private constructor(private readonly conn: SqliteConnection) {
    this.schedules = new SqliteSchedules(conn);
    this.tokens = new SqliteTokens(conn);
    this.jobLogs = new SqliteJobLogs(conn);
    this.observe = new SqliteObserve(conn);
    this.fleet = new SqliteFleet(conn);
    this.limits = new SqliteLimits(conn);
    this.transactions = new SqliteTransactions(conn);
  }

  /** Opens (creating if needed) the database file and configures the connection; does not migrate. */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const busyTimeoutMs = options.busyTimeoutMs ?? 50;
    const busyRetryMs = options.busyRetryMs ?? 30_000;
    let db: Database.Database;
    try {
      db = new Database(options.filename, { fileMustExist: options.fileMustExist ?? false });
    } catch (error) {
      throw unavailable(options.filename, error);
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      // Switching to WAL needs a moment of exclusive access; another process may be mid-write.
      await withBusyRetry(() => db.pragma('journal_mode = WAL'), { limitMs: busyRetryMs });
      // NORMAL in WAL mode: a power loss may drop the last commits but never corrupts the file, and
      // commits skip an fsync each, which matters on the claim/finish hot path.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    } catch (error) {
      db.close();
      if (error instanceof NightshiftError) throw error;
      throw unavailable(options.filename, error);
    }
    return new SqliteStore(new SqliteConnection(db, options.clock ?? Date.now, busyRetryMs));
  }

  /**
   * The underlying connection. Prefer `transaction(fn)` for transactional enqueue. Used directly, keep
   * BEGIN..COMMIT synchronous (a better-sqlite3 `db.transaction(...)` callback): this store's other
   * writes wait while a transaction you opened on it stays open across an await.
   */
  get database(): Database.Database {
    return this.conn.db;
  }

  /** Applies pending migrations, each in its own IMMEDIATE transaction. */
  async migrate(): Promise<{ from: number; to: number }> {
    const from = await this.conn.read(() => currentVersion(this.conn.db));
    assertNotTooNew(from);
    for (const migration of knownMigrations()) {
      if (migration.version <= from) continue;
      await this.conn.write((now) => applyMigration(this.conn.db, migration, now));
    }
    const to = await this.conn.read(() => currentVersion(this.conn.db));
    return { from, to };
  }

  /** The database's schema version and the newest this code knows. */
  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const current = await this.conn.read(() => currentVersion(this.conn.db));
    return { current, latest: latestVersion() };
  }

  /** Refuses a database migrated by a newer nightshift. */
  async schemaCheck(): Promise<void> {
    assertNotTooNew(await this.conn.read(() => currentVersion(this.conn.db)));
  }

  /** The store's clock. */
  now(): Promise<Date> {
    return Promise.resolve(new Date(this.conn.clock()));
  }

  /** Page counts from the file's header and the size of its write-ahead log (0 for ':memory:'). */
  databaseHealth(): Promise<DatabaseHealth> {
    return this.conn.read(() => {
      const { db } = this.conn;
      const pageCount = db.pragma(PAGE_COUNT, { simple: true }) as number;
      const freelistPages = db.pragma(FREELIST_COUNT, { simple: true }) as number;
      const wal = `${db.name}-wal`;
      const walBytes = db.memory || !existsSync(wal) ? 0 : statSync(wal).size;
      return { dialect: 'sqlite', pageCount, freelistPages, walBytes };
    });
  }

  /** Closes the connection; later calls fail. Safe to call twice. */
  close(): Promise<void> {
    if (this.conn.db.open) this.conn.db.close();
    this.conn.events.removeAllListeners();
    return Promise.resolve();
  }

  /** Inserts jobs in one transaction (or on the caller's `tx`), honouring idempotency keys. */
  jobInsertMany(params: { jobs: NewJob[]; tx?: unknown; fence?: LeaseRef }): Promise<JobInsertResult[]> {
    if (params.tx !== undefined && this.transactions.isOpen(params.tx)) {
      return jobInsertMany(this.conn, params, (emit) => this.transactions.afterCommit(emit));
    }
    return jobInsertMany(this.conn, params);
  }

  /** One job, or undefined. */
  async jobGet(params: { id: string }): Promise<Job | undefined> {
    const row = await this.conn.read(() => this.conn.stmt(JOB_GET).get(params.id) as JobRow | undefined);
    return row ? toJob(row) : undefined;
  }

  /** A page of jobs, newest first. */
  jobList(params: JobListParams): Promise<{ jobs: Job[]; nextCursor: string | null }> {
    return jobList(this.conn, params);
  }

  /** Counts per (queue, state). */
  jobCountByQueue(): Promise<Array<{ queue: string; state: JobState; count: number }>> {
    return this.conn.read(
      () =>
        this.conn.stmt(JOB_COUNT_BY_QUEUE).all() as Array<{ queue: string; state: JobState; count: number }>,
    );
  }

  /** Claims due jobs for a worker. */
  jobClaim(params: ClaimParams): Promise<ClaimedJob[]> {
    return jobClaim(this.conn, params);
  }

  /** Renews current leases. */
  jobLeaseRenew(
    params: RenewParams & { tx?: unknown },
  ): Promise<{ renewed: Array<{ id: string; cancelRequested: boolean }> }> {
    const { tx, ...renew } = params;
    if (tx === undefined) return jobLeaseRenew(this.conn, renew);
    return this.inTransaction(tx, (now) => renewLeases(this.conn, renew, now));
  }

  /** Ends attempts and records their runs (inside `tx` when given). */
  jobFinishMany(params: { finishes: JobFinish[]; tx?: unknown }): Promise<{ accepted: string[] }> {
    if (params.tx === undefined) return jobFinishMany(this.conn, params.finishes);
    return this.inTransaction(params.tx, (now) => {
      const { accepted, announce } = finishAttempts(this.conn, params.finishes, now);
      this.transactions.afterCommit(announce);
      return { accepted };
    });
  }

  /** Saves a checkpoint while the attempt holds its lease (inside `tx` when given). */
  jobCheckpointSave(params: LeaseRef & { checkpoint: unknown; tx?: unknown }): Promise<boolean> {
    const save = (now: number): boolean =>
      this.conn.stmt(JOB_CHECKPOINT_SAVE).run({
        id: params.id,
        leaseToken: params.leaseToken,
        checkpoint: encodeJson(params.checkpoint),
        now,
      }).changes === 1;
    return params.tx === undefined ? this.conn.write(save) : this.inTransaction(params.tx, save);
  }

  /** Runs `fn` in BEGIN IMMEDIATE on this store's connection (see transaction.ts). */
  transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> {
    return this.transactions.run(fn);
  }

  /** The file another thread or process opens to reach this database; null for ':memory:'. */
  peerAddress(): { url: string } | null {
    const { name, memory } = this.conn.db;
    return memory ? null : { url: `sqlite:${name}` };
  }

  /** A recorded step result. */
  async jobStepGet(params: { jobId: string; name: string }): Promise<{ found: boolean; result: unknown }> {
    const row = await this.conn.read(
      () =>
        this.conn.stmt(JOB_STEP_GET).get(params.jobId, params.name) as { result: string | null } | undefined,
    );
    return row ? { found: true, result: decodeJson(row.result) } : { found: false, result: undefined };
  }

  /** Records a step result while the attempt holds its lease. */
  jobStepSave(params: LeaseRef & { name: string; result: unknown }): Promise<boolean> {
    return this.conn.write(
      (now) =>
        this.conn.stmt(JOB_STEP_SAVE).run({
          id: params.id,
          leaseToken: params.leaseToken,
          name: params.name,
          result: encodeJson(params.result),
          now,
        }).changes === 1,
    );
  }

  /** Cancels a job (or asks its running attempt to stop). */
  jobCancel(params: { id: string }): Promise<CancelResult> {
    return jobCancel(this.conn, params.id);
  }

  /** The current attempts among `leases` whose job was asked to cancel. */
  jobCancelCheck(params: { leases: LeaseRef[] }): Promise<{ cancelRequested: string[] }> {
    return jobCancelCheck(this.conn, params.leases);
  }

  /** Requeues a failed or cancelled job. */
  jobRetry(params: { id: string }): Promise<RetryResult> {
    return jobRetry(this.conn, params.id);
  }

  /** Recovers attempts whose lease lapsed. */
  jobRescueLapsed(params: { limit: number }): Promise<{ requeued: string[]; failed: string[] }> {
    return jobRescueLapsed(this.conn, params.limit);
  }

  /** Deletes old final jobs in batches of at most PRUNE_BATCH, each its own short transaction. */
  async jobPrune(params: { olderThanMs: number; limit: number }): Promise<{ deleted: number }> {
    let deleted = 0;
    while (deleted < params.limit) {
      const batch = Math.min(PRUNE_BATCH, params.limit - deleted);
      const changes = await this.conn.write(
        (now) =>
          this.conn.stmt(JOB_PRUNE_BATCH).run({ before: now - params.olderThanMs, limit: batch }).changes,
      );
      deleted += changes;
      if (changes < batch) break;
    }
    return { deleted };
  }

  /** A page of the cluster event log (event-log.ts). */
  eventRead(
    params: ClusterEventFilter & { after: string | null; limit: number },
  ): Promise<{ events: ClusterEvent[]; next: string }> {
    return eventRead(this.conn, params);
  }

  /** The cursor after the newest event. */
  eventHead(): Promise<string> {
    return eventHead(this.conn);
  }

  /** Appends events, on the caller's transaction when `tx` is given. */
  async eventAppend(params: { events: NewClusterEvent[]; tx?: unknown }): Promise<void> {
    await eventAppend(this.conn, params);
    if (params.tx !== undefined) this.transactions.afterCommit(() => this.conn.wake());
  }

  /** Deletes old events. */
  eventPrune(params: { olderThanMs: number; limit: number }): Promise<{ deleted: number }> {
    return eventPrune(this.conn, params);
  }

  /** A job's runs, oldest first. */
  async jobRunList(params: { jobId: string }): Promise<JobRun[]> {
    const rows = await this.conn.read(() => this.conn.stmt(JOB_RUN_LIST).all(params.jobId) as JobRunRow[]);
    return rows.map(toJobRun);
  }

  /** Stores job log lines in one transaction. */
  jobLogAppend(params: { lines: NewJobLogLine[] }): Promise<void> {
    return this.jobLogs.jobLogAppend(params);
  }

  /** A job's log lines in the order they were logged. */
  jobLogList(params: { jobId: string }): Promise<JobLogLine[]> {
    return this.jobLogs.jobLogList(params);
  }

  /** Deletes a final job with its runs, steps and log lines. */
  jobDelete(params: { id: string }): Promise<{ outcome: 'deleted' | 'not_final' | 'not_found' }> {
    return jobDelete(this.conn, params.id);
  }

  /** Requeues failed (or cancelled) jobs matching the filters. */
  jobRetryMatching(params: {
    match: JobMatch<'failed' | 'cancelled'>;
    limit: number;
  }): Promise<{ retried: number }> {
    return jobRetryMatching(this.conn, params.match, params.limit);
  }

  /** Cancels waiting jobs and flags running ones matching the filters. */
  jobCancelMatching(params: {
    match: JobMatch<'scheduled' | 'queued' | 'running'>;
    limit: number;
  }): Promise<{ cancelled: number; cancelRequested: number }> {
    return jobCancelMatching(this.conn, params.match, params.limit);
  }

  /** Stores a new API token (its hash). */
  tokenCreate(p: Parameters<TokenStore['tokenCreate']>[0]): Promise<ApiToken> {
    return this.tokens.tokenCreate(p);
  }

  /** Every API token. */
  tokenList(): Promise<ApiToken[]> {
    return this.tokens.tokenList();
  }

  /** Revokes an API token. */
  tokenRevoke(p: { id: string }): Promise<boolean> {
    return this.tokens.tokenRevoke(p);
  }

  /** A usable API token by hash. */
  tokenFind(p: { hash: string }): Promise<(ApiToken & { hash: string }) | undefined> {
    return this.tokens.tokenFind(p);
  }

  /** Records an API token's use. */
  tokenTouch(p: { id: string }): Promise<void> {
    return this.tokens.tokenTouch(p);
  }

  /** Whether any usable API token exists. */
  tokenAnyActive(): Promise<boolean> {
    return this.tokens.tokenAnyActive();
  }
  /** Waiting and running jobs per queue (metrics, alerts). */
  queueLoadList(): Promise<QueueLoad[]> {
    return this.observe.queueLoadList();
  }

  /** Running jobs, earliest lease end first (alerts). */
  jobRunningList(p: { limit: number }): Promise<RunningJob[]> {
    return this.observe.jobRunningList(p);
  }

  /** Missed and skipped slots per schedule in a window (alerts). */
  scheduleSlotLapseList(p: { windowMs: number }): Promise<SlotLapse[]> {
    return this.observe.scheduleSlotLapseList(p);
  }

  /** Ended attempts per minute (the dashboard's charts). */
  jobRunStats(p: { minutes: number }): Promise<RunStatsMinute[]> {
    return this.observe.jobRunStats(p);
  }

  /** Inserts a schedule. */
  scheduleCreate(p: Parameters<ScheduleStore['scheduleCreate']>[0]) {
    return this.schedules.scheduleCreate(p);
  }

  /** Replaces a schedule's definition. */
  scheduleUpdate(p: Parameters<ScheduleStore['scheduleUpdate']>[0]) {
    return this.schedules.scheduleUpdate(p);
  }

  /** Deletes a schedule and its ledger. */
  scheduleDelete(p: { id: string }) {
    return this.schedules.scheduleDelete(p);
  }

  /** One schedule. */
  scheduleGet(p: { id: string }) {
    return this.schedules.scheduleGet(p);
  }

  /** Schedules by id. */
  scheduleList(p: Parameters<ScheduleStore['scheduleList']>[0]) {
    return this.schedules.scheduleList(p);
  }

  /** Creates or updates api schedules in one transaction. */
  scheduleUpsertMany(p: Parameters<ScheduleStore['scheduleUpsertMany']>[0]) {
    return this.schedules.scheduleUpsertMany(p);
  }

  /** Syncs config schedules. */
  scheduleSync(p: Parameters<ScheduleStore['scheduleSync']>[0]) {
    return this.schedules.scheduleSync(p);
  }

  /** One scheduler fire pass. */
  scheduleFire(p: Parameters<ScheduleStore['scheduleFire']>[0]) {
    return this.schedules.scheduleFire(p);
  }

  /** One scheduler settle pass. */
  scheduleSettle(p: Parameters<ScheduleStore['scheduleSettle']>[0]) {
    return this.schedules.scheduleSettle(p);
  }

  /** One operator action on a schedule. */
  scheduleApply(p: Parameters<ScheduleStore['scheduleApply']>[0]) {
    return this.schedules.scheduleApply(p);
  }

  /** A schedule's slot ledger. */
  scheduleSlotList(p: { scheduleId: string; limit: number }) {
    return this.schedules.scheduleSlotList(p);
  }

  /** Deletes old ledger rows. */
  scheduleSlotPrune(p: { olderThanMs: number; limit: number }) {
    return this.schedules.scheduleSlotPrune(p);
  }

  /** Subscribes to this store's events; returns the unsubscribe function. */
  /** Concurrency keys and their running counts. */
  concurrencyKeyList(p: Parameters<LimitsStore['concurrencyKeyList']>[0]) {
    return this.limits.concurrencyKeyList(p);
  }

  /** Sets or clears an operator's limit for a key. */
  concurrencyKeySetLimit(p: Parameters<LimitsStore['concurrencyKeySetLimit']>[0]) {
    return this.limits.concurrencyKeySetLimit(p);
  }

  /** Queues with a limit and their running counts. */
  queueLimitList() {
    return this.limits.queueLimitList();
  }

  /** Sets or removes a queue's limit. */
  queueSetLimit(p: Parameters<LimitsStore['queueSetLimit']>[0]) {
    return this.limits.queueSetLimit(p);
  }

  /** Registers a worker. */
  workerRegister(p: Parameters<FleetStore['workerRegister']>[0]) {
    return this.fleet.workerRegister(p);
  }

  /** A worker's heartbeat. */
  workerHeartbeat(p: { id: string; running: number }) {
    return this.fleet.workerHeartbeat(p);
  }

  /** Deletes a stopped worker's row. */
  workerDelete(p: { id: string }) {
    return this.fleet.workerDelete(p);
  }

  /** Live workers. */
  workerList(p: { staleMs: number }) {
    return this.fleet.workerList(p);
  }

  /** Forgets workers whose heartbeat stopped. */
  workerSweep(p: { staleMs: number }) {
    return this.fleet.workerSweep(p);
  }

  /** Pauses a queue. */
  queuePause(p: { queue: string }) {
    return this.fleet.queuePause(p);
  }

  /** Resumes a queue. */
  queueResume(p: { queue: string }) {
    return this.fleet.queueResume(p);
  }

  /** Every queue with its counts. */
  queueList() {
    return this.fleet.queueList();
  }

  listen<K extends keyof StoreEvents>(event: K, listener: (payload: StoreEvents[K]) => void): () => void {
    this.conn.events.on(event, listener);
    return () => {
      this.conn.events.off(event, listener);
    };
  }

  /** Runs `write` on the caller's open transaction `tx`, which must come from `transaction`. */
  private inTransaction<T>(tx: unknown, write: (now: number) => T): Promise<T> {
    if (!this.transactions.isOpen(tx)) {
      return Promise.reject(
        new NightshiftError('invalid_argument', "tx must be a handle from this store's transaction()"),
      );
    }
    try {
      return Promise.resolve(write(this.conn.clock()));
    } catch (error) {
      return Promise.reject(unexpectedStoreError(error, 'SQLite'));
    }
  }
}

function unavailable(filename: string, error: unknown): NightshiftError {
  const reason = error instanceof Error ? error.message : String(error);
  return new NightshiftError('database_unavailable', `cannot open SQLite database ${filename}: ${reason}`, {
    cause: error,
  });
}
