/**
 * The embedded SQLite backend: one better-sqlite3 connection per store, WAL so readers never wait for
 * the writer, and BEGIN IMMEDIATE for every read-then-write so several processes (a worker and a CLI)
 * can share one database file. Lock waits happen asynchronously (see busy-retry.ts), so SQLITE_BUSY
 * never reaches a caller; past the bound it becomes `database_unavailable`.
 *
 * Options: `filename` (a path or ':memory:'), `busyTimeoutMs` (synchronous wait inside SQLite per
 * attempt, default 50 ms), `busyRetryMs` (total asynchronous retry bound, default 30 s), `clock`
 * (ms since the epoch, default Date.now: the host clock is SQLite's clock; tests inject one).
 *
 * This front opens the store and hands each Store method to the module of its group (the table in
 * docs/ARCHITECTURE.md).
 */
import Database from 'better-sqlite3';
import { NightshiftError } from '../../errors.js';
import type { Job, JobRun } from '../../job.js';
import { createLogger, type Logger } from '../../logger.js';
import type * as contract from '../store.js';
import { CLOSE_WAIT_MS } from '../store.js';
import { StoreEmitter } from '../store-emitter.js';
import { StoreParts } from '../store-parts.js';
import { SqliteTokens } from './api-tokens.js';
import { withBusyRetry } from './busy-retry.js';
import { Checkpointer } from './checkpointer.js';
import { SqliteConnection } from './connection.js';
import { databaseHealth } from './database-health.js';
import { eventAppend, eventHead, eventPrune, eventRead } from './event-log.js';
import { SqliteFleet } from './fleet.js';
import { jobClaim, jobLeaseRenew, renewLeases } from './job-claim.js';
import {
  jobCancel,
  jobCancelCheck,
  jobCancelMatching,
  jobDelete,
  jobRetry,
  jobRetryMatching,
} from './job-control.js';
import { finishAttempts, jobFinishMany, jobIdleCheck, jobRescueLapsed } from './job-finish.js';
import { jobInsertMany } from './job-insert.js';
import { SqliteJobLogs } from './job-logs.js';
import { SqliteLimits } from './limits.js';
import { jobPrune } from './job-prune.js';
import {
  jobCountByQueue,
  jobFinishedCountByQueue,
  jobGet,
  jobList,
  jobNextDue,
  jobRunList,
} from './job-read.js';
import { jobCheckpointSave, jobStepGet, jobStepSave } from './job-steps.js';
import {
  applyMigration,
  assertNotTooNew,
  currentVersion,
  loadMigrations,
  latestVersion,
} from './migrator.js';
import { SqliteObserve } from './observe.js';
import { SqliteSchedules } from './schedules.js';
import { SqliteTransactions } from './transaction.js';

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
  /** Where a store event listener that throws is reported. Default: nightshift's default logger. */
  logger?: Logger;
}

/** A `Store` on an SQLite database file. */
export class SqliteStore extends StoreParts implements contract.Store<Database.Database> {
  readonly dialect = 'sqlite' as const;
  /** Events reach only this process: other processes learn of changes by polling. */
  readonly crossProcessEvents = false;
  readonly crossProcessEventsLive = false;

  private readonly transactions: SqliteTransactions;

  private constructor(private readonly conn: SqliteConnection) {
    super({
      schedules: new SqliteSchedules(conn),
      tokens: new SqliteTokens(conn),
      jobLogs: new SqliteJobLogs(conn),
      observe: new SqliteObserve(conn),
      fleet: new SqliteFleet(conn),
      limits: new SqliteLimits(conn),
    });
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
      // A write to a table with triggers (every state change of a job writes its event row by
      // trigger; inserts did too before migration 016) keeps a statement journal, which this build of
      // SQLite writes to a temp file: about ten pwrite calls per job row, 3-4x the CPU of the write
      // itself (a 20,000-job insert: 43 µs a row against 12 µs with the journal in memory). In memory
      // it holds one statement's changes; temp tables and sorts that spill are held in memory too, and
      // every read here walks an index with a bound, so none grows with the tables.
      db.pragma('temp_store = MEMORY');
    } catch (error) {
      db.close();
      if (error instanceof NightshiftError) throw error;
      throw unavailable(options.filename, error);
    }
    const logger = options.logger ?? createLogger();
    const events = new StoreEmitter(logger);
    const checkpointer = db.memory ? null : new Checkpointer(db, logger);
    return new SqliteStore(
      new SqliteConnection(db, options.clock ?? Date.now, busyRetryMs, events, checkpointer),
    );
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
    for (const migration of loadMigrations()) {
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

  databaseHealth(): Promise<contract.DatabaseHealth> {
    return databaseHealth(this.conn);
  }

  /**
   * Closes the connection (an application transaction still open is rolled back); later calls fail.
   * Safe to call twice. Only the checkpointer's thread is waited for, within `waitMs`.
   */
  async close(params: contract.CloseParams = {}): Promise<void> {
    // The checkpointer's connection first: the last connection to close checkpoints and removes the log.
    await this.conn.checkpointer?.close(params.waitMs ?? CLOSE_WAIT_MS);
    if (this.conn.db.open) this.conn.db.close();
    this.conn.closeWakeFile();
    this.conn.events.clear();
  }

  /** Inserts jobs in one transaction (or on the caller's `tx`), honouring idempotency keys. */
  jobInsertMany(
    params: contract.JobInsertManyParams<Database.Database>,
  ): Promise<contract.JobInsertResult[]> {
    if (params.tx !== undefined && this.transactions.isOpen(params.tx)) {
      return jobInsertMany(this.conn, params, (emit) => this.transactions.afterCommit(emit));
    }
    return jobInsertMany(this.conn, params);
  }

  jobGet(params: contract.JobIdParams): Promise<Job | undefined> {
    return jobGet(this.conn, params);
  }

  jobList(params: contract.JobListParams): Promise<contract.JobPage> {
    return jobList(this.conn, params);
  }

  jobNextDue(params: Omit<contract.JobMatch, 'state'>): Promise<number | null> {
    return jobNextDue(this.conn, params);
  }

  jobCountByQueue(): Promise<contract.JobCount[]> {
    return jobCountByQueue(this.conn);
  }

  jobFinishedCountByQueue(): Promise<contract.JobCount[]> {
    return jobFinishedCountByQueue(this.conn);
  }

  jobClaim(params: contract.JobClaimParams): Promise<contract.ClaimedJob[]> {
    return jobClaim(this.conn, params);
  }

  /** Renews current leases (inside `tx` when given). */
  jobLeaseRenew(
    params: contract.JobLeaseRenewParams<Database.Database>,
  ): Promise<contract.JobLeaseRenewResult> {
    const { tx, ...renew } = params;
    if (tx === undefined) return jobLeaseRenew(this.conn, renew);
    return this.transactions.writeIn(tx, (now) => renewLeases(this.conn, renew, now));
  }

  /** Ends attempts and records their runs (inside `tx` when given). */
  jobFinishMany(params: contract.JobFinishManyParams<Database.Database>): Promise<{ accepted: string[] }> {
    if (params.tx === undefined) return jobFinishMany(this.conn, params.finishes);
    return this.transactions.writeIn(params.tx, (now) => {
      const { accepted, announce } = finishAttempts(this.conn, params.finishes, now);
      this.transactions.afterCommit(announce);
      return { accepted };
    });
  }

  jobCheckpointSave(params: contract.JobCheckpointSaveParams<Database.Database>): Promise<boolean> {
    return jobCheckpointSave(this.conn, this.transactions, params);
  }

  /** Runs `fn` in BEGIN IMMEDIATE on this store's connection (see transaction.ts). */
  transaction<T>(fn: (tx: Database.Database) => Promise<T>): Promise<T> {
    return this.transactions.run(fn);
  }

  /** The file another thread or process opens to reach this database; null for ':memory:'. */
  peerAddress(): { url: string } | null {
    const { name, memory } = this.conn.db;
    return memory ? null : { url: `sqlite:${name}` };
  }

  jobStepGet(params: contract.JobStepGetParams): Promise<contract.JobStepGetResult> {
    return jobStepGet(this.conn, params);
  }

  jobStepSave(params: contract.JobStepSaveParams): Promise<boolean> {
    return jobStepSave(this.conn, params);
  }

  jobCancel(params: contract.JobIdParams): Promise<contract.JobCancelResult> {
    return jobCancel(this.conn, params.id);
  }

  jobCancelCheck(params: contract.JobCancelCheckParams): Promise<{ cancelRequested: string[] }> {
    return jobCancelCheck(this.conn, params.leases);
  }

  jobRetry(params: contract.JobIdParams): Promise<contract.JobRetryResult> {
    return jobRetry(this.conn, params.id);
  }

  jobRescueLapsed(params: contract.JobRescueLapsedParams): Promise<contract.JobRescueLapsedResult> {
    return jobRescueLapsed(this.conn, params.limit);
  }

  jobIdleCheck(): Promise<boolean> {
    return jobIdleCheck(this.conn);
  }

  jobPrune(params: contract.PruneParams): Promise<{ deleted: number }> {
    return jobPrune(this.conn, params);
  }

  jobRunList(params: contract.JobRunListParams): Promise<JobRun[]> {
    return jobRunList(this.conn, params);
  }

  jobDelete(params: contract.JobIdParams): Promise<contract.JobDeleteResult> {
    return jobDelete(this.conn, params.id);
  }

  jobRetryMatching(params: contract.JobRetryMatchingParams): Promise<{ retried: number }> {
    return jobRetryMatching(this.conn, params.match, params.limit);
  }

  jobCancelMatching(params: contract.JobCancelMatchingParams): Promise<contract.JobCancelMatchingResult> {
    return jobCancelMatching(this.conn, params.match, params.limit);
  }

  /** A page of the cluster event log (event-log.ts). */
  eventRead(params: contract.EventReadParams): Promise<contract.EventPage> {
    return eventRead(this.conn, params);
  }

  /** The cursor after the newest event. */
  eventHead(): Promise<string> {
    return eventHead(this.conn);
  }

  /** Appends events, on the caller's transaction when `tx` is given. */
  async eventAppend(params: contract.EventAppendParams<Database.Database>): Promise<void> {
    await eventAppend(this.conn, params);
    if (params.tx !== undefined) this.transactions.afterCommit(() => this.conn.wake());
  }

  /** Deletes old events. */
  eventPrune(params: contract.PruneParams): Promise<{ deleted: number }> {
    return eventPrune(this.conn, params);
  }

  listen<K extends keyof contract.StoreEvents>(
    event: K,
    listener: (payload: contract.StoreEvents[K]) => void,
  ): () => void {
    if (event === 'job:ready') this.conn.watchOtherProcesses();
    return this.conn.events.on(event, listener);
  }
}

function unavailable(filename: string, error: unknown): NightshiftError {
  const reason = error instanceof Error ? error.message : String(error);
  return new NightshiftError('database_unavailable', `cannot open SQLite database ${filename}: ${reason}`, {
    cause: error,
  });
}
