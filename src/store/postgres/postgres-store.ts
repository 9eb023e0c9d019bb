/**
 * `PostgresStore`: the Store contract on PostgreSQL through node-postgres, built for many workers on
 * many hosts. Claiming is one statement per batch (FOR UPDATE SKIP LOCKED), finishing is one statement
 * per batch, enqueueing is one statement per batch, so round trips grow with batches, never with jobs.
 * docs/ARCHITECTURE.md ("PostgreSQL hot path") gives the measured reasons; docs/SCALING.md the limits.
 *
 * Everything lives in one schema (default `nightshift`), quoted into every statement, so a caller's
 * transaction client with its own search_path runs our statements correctly. Every statement that
 * reads the time calls the schema's `nightshift_now()` (migration 016: the database's now(), inlined
 * by the planner), which tests replace to move the store's clock. This front opens the store and hands
 * each Store method to the module of its group (the table in docs/ARCHITECTURE.md).
 */
import type pg from 'pg';
import type { Job, JobRun } from '../../job.js';
import { createLogger, type Logger } from '../../logger.js';
import type * as contract from '../store.js';
import { CLOSE_WAIT_MS } from '../store.js';
import { StoreEmitter } from '../store-emitter.js';
import { StoreParts } from '../store-parts.js';
import { PostgresTokens } from './api-tokens.js';
import { asQueryable, PostgresConnection } from './connection.js';
import { formatConnectionUrl } from './connection-url.js';
import { databaseHealth } from './database-health.js';
import { PostgresFleet } from './fleet.js';
import { jobClaim, jobLeaseRenew } from './job-claim.js';
import {
  jobCancel,
  jobCancelCheck,
  jobCancelMatching,
  jobDelete,
  jobRetry,
  jobRetryMatching,
} from './job-control.js';
import { jobFinishMany, jobIdleCheck, jobRescueLapsed } from './job-finish.js';
import { jobInsertMany } from './job-insert.js';
import { PostgresJobLogs } from './job-logs.js';
import { PostgresLimits } from './limits.js';
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
import { NotificationListener } from './listener.js';
import { loadMigrations, migrate, schemaTooNew } from './migrator.js';
import { PostgresObserve } from './observe.js';
import { checkPlannerSettings } from './planner-check.js';
import {
  clientConfig,
  connectionSettings,
  createPool,
  withPooledClient,
  type PostgresStoreOptions,
} from './pool.js';
import { PostgresSchedules } from './schedules.js';
import * as migrationSql from './sql/migrations.js';

export type { PostgresStoreOptions } from './pool.js';

/** A Store on PostgreSQL 15+. Create with `PostgresStore.open`. */
export class PostgresStore extends StoreParts implements contract.Store<pg.ClientBase> {
  readonly dialect = 'postgres' as const;
  /** False behind a transaction pooler without a listen URL: the store polls, nothing is pushed. */
  readonly crossProcessEvents: boolean;
  /** The schema holding this store's tables. */
  readonly schema: string;

  private readonly migrations = loadMigrations();
  private listener: NotificationListener | undefined;
  private closed = false;
  /** The planner-settings check behind a transaction pooler, run once (planner-check.ts). */
  private plannerChecked: Promise<void> | undefined;

  private constructor(
    private readonly conn: PostgresConnection,
    private readonly logger: Logger,
  ) {
    super({
      // Jobs a schedule pass inserted are announced in this process once it committed: their own
      // notification reaches other processes only (a store drops messages of its own origin).
      schedules: new PostgresSchedules(
        conn.pool,
        conn.quotedSchema,
        conn.sql,
        conn.begin,
        conn.notify,
        (queue) => {
          conn.emit('job:ready', { queue });
          conn.eventsWritten();
        },
        conn.eventLog,
      ),
      tokens: new PostgresTokens(conn.pool, conn.quotedSchema),
      jobLogs: new PostgresJobLogs(conn.pool, conn.quotedSchema),
      observe: new PostgresObserve(conn),
      fleet: new PostgresFleet(conn),
      limits: new PostgresLimits(conn.pool, conn.quotedSchema),
    });
    this.schema = conn.schema;
    const { settings } = conn;
    this.crossProcessEvents = settings.pooler === null || settings.listenUrl !== null;
  }

  /**
   * Creates the pool; connections open lazily, so an unreachable server surfaces on the first call.
   * Invalid connection options (see connection-url.ts) reject it with `invalid_argument`.
   */
  static open(options: PostgresStoreOptions): Promise<PostgresStore> {
    return new Promise((resolve) => {
      const settings = connectionSettings(options);
      const logger = options.logger ?? createLogger();
      const events = new StoreEmitter(logger);
      const schema = options.schema ?? 'nightshift';
      resolve(
        new PostgresStore(new PostgresConnection(createPool(settings), settings, schema, events), logger),
      );
    });
  }

  async migrate(): Promise<{ from: number; to: number }> {
    const { pool, schema, quotedSchema } = this.conn;
    const result = await withPooledClient(pool, (client) =>
      migrate(client, schema, quotedSchema, this.migrations),
    );
    await this.checkPlanner();
    return result;
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const latest = this.migrations.length;
    const [exists] = await this.conn.rows<{ exists: boolean }>(
      { text: migrationSql.schemaVersionTableExists },
      [`${this.conn.quotedSchema}.schema_migrations`],
    );
    if (!exists?.exists) return { current: 0, latest };
    const [row] = await this.conn.rows<{ version: number }>(
      { text: migrationSql.schemaVersion(this.conn.quotedSchema) },
      [],
    );
    return { current: row?.version ?? 0, latest };
  }

  async schemaCheck(): Promise<void> {
    const { current, latest } = await this.schemaVersion();
    if (current > latest) throw schemaTooNew(current, latest);
    await this.checkPlanner();
  }

  /** Behind a transaction pooler, once: warns when the server plans with sequential scans or JIT on. */
  private checkPlanner(): Promise<void> {
    if (this.conn.settings.pooler === null) return Promise.resolve();
    this.plannerChecked ??= checkPlannerSettings(this.conn, this.logger);
    return this.plannerChecked;
  }

  async now(): Promise<Date> {
    const [row] = await this.conn.rows<{ now: Date }>(
      { text: `SELECT ${this.conn.quotedSchema}.nightshift_now() AS now` },
      [],
    );
    return row?.now ?? new Date(Number.NaN);
  }

  databaseHealth(): Promise<contract.DatabaseHealth> {
    return databaseHealth(this.conn);
  }

  async close(params: contract.CloseParams = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn.events.clear();
    this.conn.eventLog.stop();
    const waitMs = params.waitMs ?? CLOSE_WAIT_MS;
    // Both at once, each within the one bound: a black-holed server answers neither.
    const [, cut] = await Promise.all([this.listener?.stop(waitMs), this.conn.pool.close(waitMs)]);
    if (cut > 0) {
      this.logger.warn(
        { connections: cut, waitedMs: waitMs },
        'closing: calls still unanswered on these connections; cut them',
      );
    }
  }

  jobInsertMany(params: contract.JobInsertManyParams<pg.ClientBase>): Promise<contract.JobInsertResult[]> {
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

  jobLeaseRenew(params: contract.JobLeaseRenewParams<pg.ClientBase>): Promise<contract.JobLeaseRenewResult> {
    return jobLeaseRenew(this.conn, params);
  }

  jobFinishMany(params: contract.JobFinishManyParams<pg.ClientBase>): Promise<{ accepted: string[] }> {
    return jobFinishMany(this.conn, params);
  }

  jobCheckpointSave(params: contract.JobCheckpointSaveParams<pg.ClientBase>): Promise<boolean> {
    return jobCheckpointSave(this.conn, params);
  }

  /** Runs `fn` with a pooled client inside BEGIN (READ COMMITTED); see transaction.ts. */
  transaction<T>(fn: (tx: pg.ClientBase) => Promise<T>): Promise<T> {
    return this.conn.transactions.run(fn);
  }

  /** The URL and schema another thread or process uses to reach this database. */
  peerAddress(): { url: string; schema: string } {
    return { url: formatConnectionUrl(this.conn.settings), schema: this.schema };
  }

  jobStepGet(params: contract.JobStepGetParams): Promise<contract.JobStepGetResult> {
    return jobStepGet(this.conn, params);
  }

  jobStepSave(params: contract.JobStepSaveParams): Promise<boolean> {
    return jobStepSave(this.conn, params);
  }

  jobCancel(params: contract.JobIdParams): Promise<contract.JobCancelResult> {
    return jobCancel(this.conn, params);
  }

  jobCancelCheck(params: contract.JobCancelCheckParams): Promise<{ cancelRequested: string[] }> {
    return jobCancelCheck(this.conn, params);
  }

  jobRetry(params: contract.JobIdParams): Promise<contract.JobRetryResult> {
    return jobRetry(this.conn, params);
  }

  jobRescueLapsed(params: contract.JobRescueLapsedParams): Promise<contract.JobRescueLapsedResult> {
    return jobRescueLapsed(this.conn, params);
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
    return jobDelete(this.conn, params);
  }

  jobRetryMatching(params: contract.JobRetryMatchingParams): Promise<{ retried: number }> {
    return jobRetryMatching(this.conn, params);
  }

  jobCancelMatching(params: contract.JobCancelMatchingParams): Promise<contract.JobCancelMatchingResult> {
    return jobCancelMatching(this.conn, params);
  }

  /** A page of the cluster event log (event-log.ts). */
  eventRead(params: contract.EventReadParams): Promise<contract.EventPage> {
    return this.conn.eventLog.read(params);
  }

  /** The cursor after every event readable now. */
  eventHead(): Promise<string> {
    return this.conn.eventLog.head();
  }

  /** Appends events, on the caller's transaction when `tx` is given. */
  async eventAppend(params: contract.EventAppendParams<pg.ClientBase>): Promise<void> {
    const db = params.tx === undefined ? this.conn.pool : asQueryable(params.tx);
    await this.conn.eventLog.append(db, params.events);
    if (params.events.length > 0) this.conn.afterCommit(params.tx, () => this.conn.eventsWritten());
  }

  /** Deletes old events. */
  async eventPrune(params: contract.PruneParams): Promise<{ deleted: number }> {
    return { deleted: await this.conn.eventLog.prune(params.olderThanMs, params.limit) };
  }

  listen<K extends keyof contract.StoreEvents>(
    event: K,
    listener: (payload: contract.StoreEvents[K]) => void,
  ): () => void {
    const unsubscribe = this.conn.events.on(event, listener);
    if (!this.listener && !this.closed && this.crossProcessEvents) {
      // LISTEN belongs to a session: behind a transaction pooler it must go to the direct listen URL.
      const { settings, notify } = this.conn;
      const listenUrl = settings.listenUrl ?? settings.connectionString;
      this.listener = new NotificationListener(
        clientConfig(settings, listenUrl, settings.listenUrl !== null || settings.pooler === null),
        notify.channel,
        notify.origin,
        (e, p) => this.conn.emit(e, p),
      );
      this.listener.start();
    }
    return unsubscribe;
  }

  get crossProcessEventsLive(): boolean {
    return this.listener?.connected ?? false;
  }
}
