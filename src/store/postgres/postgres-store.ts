/**
 * `PostgresStore`: the Store contract on PostgreSQL through node-postgres, built for many workers on
 * many hosts. Claiming is one statement per batch (FOR UPDATE SKIP LOCKED), finishing is one statement
 * per batch, enqueueing is one statement per batch, so round trips grow with batches, never with jobs.
 * docs/ARCHITECTURE.md ("PostgreSQL hot path") gives the measured reasons; docs/SCALING.md the limits.
 *
 * Everything lives in one schema (default `nightshift`), quoted into every statement, so a caller's
 * transaction client with its own search_path runs our statements correctly.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { NightshiftError, LeaseLostError } from '../../errors.js';
import type { Job, JobLogLine, JobRun, JobState } from '../../job.js';
import { inBatches } from '../batches.js';
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
import { PostgresTokens } from './api-tokens.js';
import { PostgresJobLogs } from './job-logs.js';
import { PostgresObserve } from './observe.js';
import { PostgresFleet } from './fleet.js';
import { PostgresLimits } from './limits.js';
import {
  beginStatement,
  createPool,
  clientConfig,
  connectionSettings,
  quoteIdent,
  toStoreError,
  withPooledClient,
  type ConnectionSettings,
  type PostgresStoreOptions,
} from './connection.js';
import { formatConnectionUrl } from './connection-url.js';
import { PostgresEventLog } from './event-log.js';
import { decodeClaimedBatch, type ClaimedBatchRow } from './job-batch.js';
import { checkNewJobs, insertJobs, type NotifyTarget } from './job-inserter.js';
import {
  completionLiterals,
  isUuid,
  jobFromRow,
  runFromRow,
  toBoxedJson,
  toJsonText,
  unbox,
  type JobRow,
  type JobRunRow,
} from './job-row.js';
import { channelName, NotificationListener } from './listener.js';
import { loadMigrations, migrate, schemaTooNew, type Migration } from './migrator.js';
import { PostgresSchedules } from './schedules.js';
import * as migrationSql from './sql/migrations.js';
import { renderStatements, type Queryable, type Statement, type Statements } from './statements.js';

export type { PostgresStoreOptions } from './connection.js';

type Listener<K extends keyof StoreEvents> = (payload: StoreEvents[K]) => void;

/** A Store on PostgreSQL 15+. Create with `PostgresStore.open`. */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  /** False behind a transaction pooler without a listen URL: the store polls, nothing is pushed. */
  readonly crossProcessEvents: boolean;
  /** The schema holding this store's tables. */
  readonly schema: string;

  private readonly quotedSchema: string;
  private readonly sql: Statements;
  /** Opens the store's own transactions (with the statement timeout behind a pooler). */
  private readonly begin: string;
  private readonly notify: NotifyTarget;
  private readonly migrations: Migration[];
  private readonly listeners = new Map<keyof StoreEvents, Set<Listener<keyof StoreEvents>>>();
  private listener: NotificationListener | undefined;
  private closed = false;
  /** After-commit callbacks of transactions opened by `transaction`, by their client. */
  private readonly openTransactions = new WeakMap<object, Array<() => void>>();

  // Schedules and their slot ledger live in schedules.ts; the schedule* methods delegate to it.
  private readonly schedules: PostgresSchedules;
  private readonly tokens: PostgresTokens;
  private readonly jobLogs: PostgresJobLogs;
  private readonly observe: PostgresObserve;
  private readonly eventLog: PostgresEventLog;
  private readonly fleet: PostgresFleet;
  private readonly limits: PostgresLimits;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly settings: ConnectionSettings,
    schema: string | undefined,
  ) {
    this.schema = schema ?? 'nightshift';
    this.quotedSchema = quoteIdent(this.schema);
    this.sql = renderStatements(this.quotedSchema, settings.pooler === null);
    this.begin = beginStatement(settings);
    this.crossProcessEvents = settings.pooler === null || settings.listenUrl !== null;
    this.notify = { channel: channelName(this.schema), origin: randomUUID() };
    this.migrations = loadMigrations();
    this.eventLog = new PostgresEventLog(pool, this.quotedSchema, this.notify);
    // Called after a schedule transaction that inserted jobs committed (their job:enqueued events too).
    this.schedules = new PostgresSchedules(
      pool,
      this.quotedSchema,
      this.sql,
      this.begin,
      this.notify,
      (queue) => {
        this.emit('job:ready', { queue });
        this.eventsWritten();
      },
      this.eventLog,
    );
    this.tokens = new PostgresTokens(pool, this.quotedSchema);
    this.jobLogs = new PostgresJobLogs(pool, this.quotedSchema);
    this.observe = new PostgresObserve(pool, this.schema, this.quotedSchema);
    this.fleet = new PostgresFleet(pool, this.quotedSchema, this.notify);
    this.limits = new PostgresLimits(pool, this.quotedSchema);
  }

  /**
   * Creates the pool; connections open lazily, so an unreachable server surfaces on the first call.
   * Invalid connection options (see connection-url.ts) reject it with `invalid_argument`.
   */
  static open(options: PostgresStoreOptions): Promise<PostgresStore> {
    return new Promise((resolve) => {
      const settings = connectionSettings(options);
      resolve(new PostgresStore(createPool(settings), settings, options.schema));
    });
  }

  async migrate(): Promise<{ from: number; to: number }> {
    return withPooledClient(this.pool, (client) =>
      migrate(client, this.schema, this.quotedSchema, this.migrations),
    );
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const latest = this.migrations.length;
    const [exists] = await this.rows<{ exists: boolean }>({ text: migrationSql.MIGRATIONS_TABLE_EXISTS }, [
      `${this.quotedSchema}.schema_migrations`,
    ]);
    if (!exists?.exists) return { current: 0, latest };
    const [row] = await this.rows<{ version: number }>(
      { text: migrationSql.currentVersion(this.quotedSchema) },
      [],
    );
    return { current: row?.version ?? 0, latest };
  }

  async schemaCheck(): Promise<void> {
    const { current, latest } = await this.schemaVersion();
    if (current > latest) throw schemaTooNew(current, latest);
  }

  async now(): Promise<Date> {
    const [row] = await this.rows<{ now: Date }>({ text: 'SELECT now() AS now' }, []);
    return row?.now ?? new Date(Number.NaN);
  }

  async databaseHealth(): Promise<DatabaseHealth> {
    const [tables, [oldest]] = await Promise.all([
      this.rows<{ table: string; live_rows: string; dead_rows: string; last_vacuum_at: Date | null }>(
        this.sql.tableHealth,
        [this.schema],
      ),
      this.rows<{ pid: number; state: string | null; age_ms: number }>(this.sql.oldestTransaction, []),
    ]);
    return {
      dialect: 'postgres',
      tables: tables.map((row) => ({
        table: row.table,
        liveRows: Number(row.live_rows),
        deadRows: Number(row.dead_rows),
        lastVacuumAt: row.last_vacuum_at,
      })),
      oldestTransaction:
        oldest === undefined
          ? null
          : {
              ageMs: Math.max(0, Math.round(oldest.age_ms)),
              state: oldest.state ?? 'unknown',
              pid: oldest.pid,
            },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.eventLog.stop();
    await this.listener?.stop();
    await this.pool.end();
  }

  async jobInsertMany(params: {
    jobs: NewJob[];
    tx?: unknown;
    fence?: LeaseRef;
  }): Promise<JobInsertResult[]> {
    const { jobs, fence } = params;
    checkNewJobs(jobs);
    const tx = params.tx === undefined ? undefined : asQueryable(params.tx);
    let results: JobInsertResult[];
    try {
      if (fence === undefined) {
        if (jobs.length === 0) return [];
        results = await insertJobs(tx ?? this.pool, this.sql, jobs, this.notify, tx === undefined);
      } else if (tx !== undefined) {
        await this.holdFence(tx, fence);
        results = await insertJobs(tx, this.sql, jobs, this.notify, false);
      } else {
        results = await withPooledClient(this.pool, async (client) => {
          await client.query(this.begin);
          try {
            await this.holdFence(client, fence);
            const inserted = await insertJobs(client, this.sql, jobs, this.notify, true);
            await client.query('COMMIT');
            return inserted;
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        });
      }
    } catch (error) {
      throw toStoreError(error);
    }
    const ready = new Set(
      results.filter((r) => r.created && r.job.state === 'queued').map((r) => r.job.queue),
    );
    const created = results.some((r) => r.created);
    this.afterCommit(params.tx, () => {
      for (const queue of ready) this.emit('job:ready', { queue });
      if (created) this.eventsWritten();
    });
    return results;
  }

  async jobGet(params: { id: string }): Promise<Job | undefined> {
    if (!isUuid(params.id)) return undefined;
    const [row] = await this.rows<JobRow>(this.sql.getJob, [params.id]);
    return row && jobFromRow(row);
  }

  async jobList(params: JobListParams): Promise<{ jobs: Job[]; nextCursor: string | null }> {
    const limit = Math.max(1, Math.floor(params.limit));
    const cursor = params.cursor === undefined ? null : decodeCursor(params.cursor);
    const rows = await this.rows<JobRow>(this.sql.listJobs, [
      params.state ?? null,
      params.queue ?? null,
      params.task ?? null,
      cursor,
      limit + 1,
      ...matchValues(params),
    ]);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      jobs: page.map(jobFromRow),
      nextCursor: rows.length > limit && last ? Buffer.from(last.id).toString('base64url') : null,
    };
  }

  async jobCountByQueue(): Promise<Array<{ queue: string; state: JobState; count: number }>> {
    return this.rows<{ queue: string; state: JobState; count: number }>(this.sql.countByQueue, []);
  }

  async jobClaim(params: {
    workerId: string;
    queues?: string[];
    limit: number;
    leaseMs: number;
  }): Promise<ClaimedJob[]> {
    const limit = Math.floor(params.limit);
    if (limit <= 0 || params.queues?.length === 0) return [];
    const leaseMs = Math.round(params.leaseMs);
    const rows =
      params.queues === undefined
        ? await this.rows<ClaimedBatchRow>(this.sql.claimJobs, [params.workerId, limit, leaseMs])
        : await this.rows<ClaimedBatchRow>(this.sql.claimJobsFromQueues, [
            params.workerId,
            limit,
            leaseMs,
            // A queue named twice would be scanned twice, and its rows (locked by this statement
            // already, so not skipped) would take two places in the batch.
            [...new Set(params.queues)],
          ]);
    const claimed = decodeClaimedBatch(rows[0], params.workerId, leaseMs);
    if (claimed.length > 0) this.eventsWritten();
    return claimed;
  }

  async jobLeaseRenew(params: {
    leases: LeaseRef[];
    leaseMs: number;
    tx?: unknown;
  }): Promise<{ renewed: Array<{ id: string; cancelRequested: boolean }> }> {
    const leases = params.leases.filter((l) => isUuid(l.id) && isUuid(l.leaseToken));
    if (leases.length === 0) return { renewed: [] };
    const rows = await this.rows<{ id: string; cancel_requested: boolean }>(
      this.sql.renewLeases,
      [leases.map((l) => l.id), leases.map((l) => l.leaseToken), Math.round(params.leaseMs)],
      params.tx,
    );
    return { renewed: rows.map((r) => ({ id: r.id, cancelRequested: r.cancel_requested })) };
  }

  async jobFinishMany(params: { finishes: JobFinish[]; tx?: unknown }): Promise<{ accepted: string[] }> {
    // One finish per job: a second one for the same id in a batch could only be a caller's mistake.
    const seen = new Set<string>();
    const plain: JobFinish[] = [];
    const other: JobFinish[] = [];
    // The jobs of one claim share its token, so a batch holds a few tokens, each checked once.
    let checkedToken: string | undefined;
    for (const f of params.finishes) {
      if (seen.has(f.id) || !isUuid(f.id)) continue;
      if (f.leaseToken !== checkedToken) {
        if (!isUuid(f.leaseToken)) continue;
        checkedToken = f.leaseToken;
      }
      seen.add(f.id);
      (f.outcome === 'completed' && !f.maxDurationExceeded ? plain : other).push(f);
    }
    // Both statements in the caller's transaction when there is one; otherwise each commits alone (the
    // finishes of a batch are independent, and a mixed batch is rare: failures and releases).
    const completed = plain.length > 0 ? await this.completeMany(plain, params.tx) : [];
    const ended = other.length > 0 ? await this.endMany(other, params.tx) : [];
    // pg_notify inside a caller's transaction is delivered at its COMMIT; local listeners wait as long.
    this.afterCommit(params.tx, () => {
      // An event object per job only when someone listens (a waitFor).
      if (this.hasListener('job:finished')) {
        for (const id of completed) this.emit('job:finished', { id, state: 'completed' });
      }
      this.emitChanges(ended);
      // A release writes no event, but one more NOTIFY per rare release batch is not worth a check.
      if (completed.length > 0 || ended.length > 0) this.eventsWritten();
    });
    // No spread of two arrays: its map checks deoptimised this function, the hottest of a finish.
    const accepted = completed.slice();
    for (const row of ended) accepted.push(row.id);
    return { accepted };
  }

  /** Plain completions (sql/job-finish.ts `completeJobs`); the ids whose lease was still current. */
  private async completeMany(finishes: JobFinish[], tx: unknown): Promise<string[]> {
    const { ids, tokens, results } = completionLiterals(finishes);
    const [row] = await this.rows<{ ids: string }>(
      this.sql.completeJobs,
      [ids, tokens, results, this.notify.channel, this.notify.origin],
      tx,
    );
    return row === undefined || row.ids === '' ? [] : row.ids.split(',');
  }

  /** Every other outcome, with its run row (sql/job-finish.ts `finishJobs`). */
  private async endMany(
    finishes: JobFinish[],
    tx: unknown,
  ): Promise<Array<{ id: string; state: JobState; queue: string }>> {
    return this.rows<{ id: string; state: JobState; queue: string }>(
      this.sql.finishJobs,
      [
        finishes.map((f) => f.id),
        finishes.map((f) => f.leaseToken),
        finishes.map((f) => f.outcome),
        finishes.map((f) => toJsonText(f.result)),
        finishes.map((f) => toJsonText(f.error)),
        finishes.map((f) =>
          f.outcome === 'failed' || f.outcome === 'timeout' || f.outcome === 'released'
            ? (f.retryDelayMs ?? null)
            : null,
        ),
        finishes.map((f) => f.outcome === 'released' && 'checkpoint' in f),
        finishes.map((f) => (f.outcome === 'released' ? toBoxedJson(f.checkpoint) : null)),
        finishes.map((f) => f.maxDurationExceeded ?? false),
        this.notify.channel,
        this.notify.origin,
      ],
      tx,
    );
  }

  async jobCheckpointSave(params: LeaseRef & { checkpoint: unknown; tx?: unknown }): Promise<boolean> {
    if (!isUuid(params.id) || !isUuid(params.leaseToken)) return false;
    const values = [params.id, params.leaseToken, toBoxedJson(params.checkpoint)];
    return (await this.result(this.sql.saveCheckpoint, values, params.tx)).rowCount === 1;
  }

  /**
   * Runs `fn` with a pooled client inside BEGIN (READ COMMITTED); COMMIT when it resolves, ROLLBACK
   * when it rejects. Fenced writes in it lock their job row until COMMIT, so a rescue or re-claim
   * racing the transaction waits and then sees its outcome. Store events it caused are emitted after
   * COMMIT.
   */
  async transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> {
    const outcome = await withPooledClient(this.pool, async (client) => {
      await client.query(this.begin);
      const pending: Array<() => void> = [];
      this.openTransactions.set(client, pending);
      try {
        let value: T;
        try {
          value = await fn(client);
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          // The caller's own failure goes back to it as it is, outside the store's error mapping.
          return { failed: true as const, error };
        }
        await client.query('COMMIT');
        return { failed: false as const, value, pending };
      } finally {
        this.openTransactions.delete(client);
      }
    });
    if (outcome.failed) throw outcome.error;
    for (const emit of outcome.pending) emit();
    return outcome.value;
  }

  /** The URL and schema another thread or process uses to reach this database. */
  peerAddress(): { url: string; schema: string } {
    return { url: formatConnectionUrl(this.settings), schema: this.schema };
  }

  async jobStepGet(params: { jobId: string; name: string }): Promise<{ found: boolean; result: unknown }> {
    if (!isUuid(params.jobId)) return { found: false, result: undefined };
    const [row] = await this.rows<{ result: unknown }>(this.sql.getStep, [params.jobId, params.name]);
    return row ? { found: true, result: unbox(row.result) } : { found: false, result: undefined };
  }

  async jobStepSave(params: LeaseRef & { name: string; result: unknown }): Promise<boolean> {
    if (!isUuid(params.id) || !isUuid(params.leaseToken)) return false;
    const rows = await this.rows(this.sql.saveStep, [
      params.id,
      params.leaseToken,
      params.name,
      toBoxedJson(params.result),
    ]);
    return rows.length === 1;
  }

  async jobCancel(params: {
    id: string;
  }): Promise<{ outcome: 'cancelled' | 'cancel_requested' | 'already_final' | 'not_found'; job?: Job }> {
    if (!isUuid(params.id)) return { outcome: 'not_found' };
    const [row] = await this.rows<JobRow & { previous_state: JobState }>(this.sql.cancelJob, [
      params.id,
      this.notify.channel,
      this.notify.origin,
    ]);
    if (!row) return { outcome: 'not_found' };
    if (row.id === null) {
      const job = await this.jobGet({ id: params.id });
      return job ? { outcome: 'already_final', job } : { outcome: 'not_found' };
    }
    const job = jobFromRow(row);
    if (job.state === 'cancelled') {
      this.emit('job:finished', { id: job.id, state: job.state });
      this.eventsWritten();
      return { outcome: 'cancelled', job };
    }
    this.emit('job:cancel_requested', { id: job.id });
    return { outcome: 'cancel_requested', job };
  }

  async jobCancelCheck(params: { leases: LeaseRef[] }): Promise<{ cancelRequested: string[] }> {
    const leases = params.leases.filter((l) => isUuid(l.id) && isUuid(l.leaseToken));
    if (leases.length === 0) return { cancelRequested: [] };
    const rows = await this.rows<{ id: string }>(this.sql.cancelRequested, [
      leases.map((l) => l.id),
      leases.map((l) => l.leaseToken),
    ]);
    return { cancelRequested: rows.map((r) => r.id) };
  }

  async jobRetry(params: {
    id: string;
  }): Promise<{ outcome: 'retried' | 'not_retryable' | 'not_found'; job?: Job }> {
    if (!isUuid(params.id)) return { outcome: 'not_found' };
    const [row] = await this.rows<JobRow>(this.sql.retryJob, [
      params.id,
      this.notify.channel,
      this.notify.origin,
    ]);
    if (row) {
      this.emit('job:ready', { queue: row.queue });
      this.eventsWritten();
      return { outcome: 'retried', job: jobFromRow(row) };
    }
    const job = await this.jobGet({ id: params.id });
    return job ? { outcome: 'not_retryable', job } : { outcome: 'not_found' };
  }

  async jobRescueLapsed(params: { limit: number }): Promise<{ requeued: string[]; failed: string[] }> {
    const limit = Math.floor(params.limit);
    if (limit <= 0) return { requeued: [], failed: [] };
    const rows = await this.rows<{ id: string; state: JobState; queue: string }>(this.sql.rescueLapsed, [
      limit,
      this.notify.channel,
      this.notify.origin,
    ]);
    this.emitChanges(rows);
    if (rows.length > 0) this.eventsWritten();
    return {
      requeued: rows.filter((r) => r.state === 'queued').map((r) => r.id),
      failed: rows.filter((r) => r.state === 'failed').map((r) => r.id),
    };
  }

  async jobPrune(params: { olderThanMs: number; limit: number }): Promise<{ deleted: number }> {
    const limit = Math.floor(params.limit);
    if (limit <= 0) return { deleted: 0 };
    const [row] = await this.rows<{ deleted: number }>(this.sql.pruneJobs, [params.olderThanMs, limit]);
    return { deleted: row?.deleted ?? 0 };
  }

  async jobRunList(params: { jobId: string }): Promise<JobRun[]> {
    if (!isUuid(params.jobId)) return [];
    return (await this.rows<JobRunRow>(this.sql.listRuns, [params.jobId])).map(runFromRow);
  }

  /** Stores job log lines in one statement. */
  jobLogAppend(params: { lines: NewJobLogLine[] }): Promise<void> {
    return this.jobLogs.jobLogAppend(params);
  }

  /** A job's log lines in the order they were logged. */
  jobLogList(params: { jobId: string }): Promise<JobLogLine[]> {
    return this.jobLogs.jobLogList(params);
  }

  async jobDelete(params: { id: string }): Promise<{ outcome: 'deleted' | 'not_final' | 'not_found' }> {
    if (!isUuid(params.id)) return { outcome: 'not_found' };
    const [row] = await this.rows<{ deleted: number; present: boolean }>(this.sql.deleteFinalJob, [
      params.id,
    ]);
    if (row?.deleted === 1) return { outcome: 'deleted' };
    return { outcome: row?.present === true ? 'not_final' : 'not_found' };
  }

  async jobRetryMatching(params: {
    match: JobMatch<'failed' | 'cancelled'>;
    limit: number;
  }): Promise<{ retried: number }> {
    const { match } = params;
    let after: string | null = null;
    const retried = await inBatches(params.limit, async (size) => {
      const [row] = await this.rows<{
        picked: number;
        last: string | null;
        changed: number;
        queues: string[];
      }>(this.sql.retryMatching, [
        match.state ?? 'failed',
        match.queue ?? null,
        match.task ?? null,
        after,
        size,
        this.notify.channel,
        this.notify.origin,
        ...matchValues(match),
      ]);
      after = row?.last ?? after;
      for (const queue of row?.queues ?? []) this.emit('job:ready', { queue });
      if ((row?.changed ?? 0) > 0) this.eventsWritten();
      return { seen: row?.picked ?? 0, changed: row?.changed ?? 0 };
    });
    return { retried };
  }

  async jobCancelMatching(params: {
    match: JobMatch<'scheduled' | 'queued' | 'running'>;
    limit: number;
  }): Promise<{ cancelled: number; cancelRequested: number }> {
    const { match } = params;
    const filters = [match.queue ?? null, match.task ?? null];
    let cancelled = 0;
    for (const state of ['scheduled', 'queued'] as const) {
      if (match.state !== undefined && match.state !== state) continue;
      const statement = state === 'queued' ? this.sql.cancelQueuedMatching : this.sql.cancelScheduledMatching;
      cancelled += await inBatches(params.limit - cancelled, async (size) => {
        const [row] = await this.rows<{ picked: number; ids: string[] }>(statement, [
          ...filters,
          size,
          this.notify.channel,
          this.notify.origin,
          ...matchValues(match),
        ]);
        for (const id of row?.ids ?? []) this.emit('job:finished', { id, state: 'cancelled' });
        if ((row?.ids.length ?? 0) > 0) this.eventsWritten();
        return { seen: row?.picked ?? 0, changed: row?.ids.length ?? 0 };
      });
    }
    let cancelRequested = 0;
    if (match.state === undefined || match.state === 'running') {
      cancelRequested = await inBatches(params.limit - cancelled, async (size) => {
        const rows = await this.rows(this.sql.cancelRunningMatching, [
          ...filters,
          size,
          ...matchValues(match),
        ]);
        return { seen: rows.length, changed: rows.length };
      });
    }
    return { cancelled, cancelRequested };
  }

  /** A page of the cluster event log (event-log.ts). */
  eventRead(
    params: ClusterEventFilter & { after: string | null; limit: number },
  ): Promise<{ events: ClusterEvent[]; next: string }> {
    return this.eventLog.read(params);
  }

  /** The cursor after every event readable now. */
  eventHead(): Promise<string> {
    return this.eventLog.head();
  }

  /** Appends events, on the caller's transaction when `tx` is given. */
  async eventAppend(params: { events: NewClusterEvent[]; tx?: unknown }): Promise<void> {
    const db = params.tx === undefined ? this.pool : asQueryable(params.tx);
    await this.eventLog.append(db, params.events);
    if (params.events.length > 0) this.afterCommit(params.tx, () => this.eventsWritten());
  }

  /** Deletes old events. */
  async eventPrune(params: { olderThanMs: number; limit: number }): Promise<{ deleted: number }> {
    return { deleted: await this.eventLog.prune(params.olderThanMs, params.limit) };
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
  queuePause(p: { queue: string }): Promise<boolean> {
    return this.transaction(async (tx) => {
      const paused = await this.fleet.queuePause(p, asQueryable(tx));
      if (paused) await this.eventAppend({ events: [{ type: 'queue:paused', queue: p.queue }], tx });
      return paused;
    });
  }

  /** Resumes a queue. */
  queueResume(p: { queue: string }): Promise<boolean> {
    return this.transaction(async (tx) => {
      const resumed = await this.fleet.queueResume(p, asQueryable(tx));
      if (resumed) {
        await this.eventAppend({ events: [{ type: 'queue:resumed', queue: p.queue }], tx });
        // pg_notify skips this process's own origin: wake its workers once the resume is visible.
        this.afterCommit(tx, () => this.emit('job:ready', { queue: p.queue }));
      }
      return resumed;
    });
  }

  /** Every queue with its counts. */
  queueList() {
    return this.fleet.queueList();
  }

  listen<K extends keyof StoreEvents>(event: K, listener: (payload: StoreEvents[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const entry = listener as Listener<keyof StoreEvents>;
    set.add(entry);
    if (!this.listener && !this.closed && this.crossProcessEvents) {
      // LISTEN belongs to a session: behind a transaction pooler it must go to the direct listen URL.
      const listenUrl = this.settings.listenUrl ?? this.settings.connectionString;
      this.listener = new NotificationListener(
        clientConfig(
          this.settings,
          listenUrl,
          this.settings.listenUrl !== null || this.settings.pooler === null,
        ),
        this.notify.channel,
        this.notify.origin,
        (e, p) => this.emit(e, p),
      );
      this.listener.start();
    }
    return () => {
      set.delete(entry);
    };
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

  /** True while the cross-process notification connection is up (for health reporting). */
  get listening(): boolean {
    return this.listener?.connected ?? false;
  }

  /** True when `event` has a listener in this process. */
  private hasListener(event: keyof StoreEvents): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  private emit<K extends keyof StoreEvents>(event: K, payload: StoreEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(payload);
      } catch {
        // A subscriber's bug must not break the store call that triggered the event.
      }
    }
  }

  /** Events were committed: wakes this process's readers now and other processes' soon. */
  private eventsWritten(): void {
    this.emit('event:written', {});
    this.eventLog.written();
  }

  private emitChanges(rows: Array<{ id: string; state: JobState; queue: string }>): void {
    const readyQueues = new Set<string>();
    for (const row of rows) {
      if (row.state === 'queued') readyQueues.add(row.queue);
      else if (row.state === 'completed' || row.state === 'failed' || row.state === 'cancelled') {
        this.emit('job:finished', { id: row.id, state: row.state });
      }
    }
    for (const queue of readyQueues) this.emit('job:ready', { queue });
  }

  private async holdFence(db: Queryable, fence: LeaseRef): Promise<void> {
    const locked =
      isUuid(fence.id) && isUuid(fence.leaseToken)
        ? await db.query({ text: this.sql.lockFence.text, values: [fence.id, fence.leaseToken] })
        : { rowCount: 0 };
    if (locked.rowCount !== 1) throw new LeaseLostError(fence.id);
  }

  /** Runs `emit` after `tx` (a handle from `transaction`) commits; at once without one. */
  private afterCommit(tx: unknown, emit: () => void): void {
    const pending = typeof tx === 'object' && tx !== null ? this.openTransactions.get(tx) : undefined;
    if (pending) pending.push(emit);
    else emit();
  }

  private async result<R extends pg.QueryResultRow>(
    statement: Statement,
    values: unknown[],
    tx?: unknown,
  ): Promise<pg.QueryResult<R>> {
    try {
      // Prepared-statement names belong to this store's pool; a caller's client runs the plain text.
      if (tx !== undefined) return await asQueryable(tx).query<R>({ text: statement.text, values });
      return await this.pool.query<R>(
        statement.name === undefined
          ? { text: statement.text, values }
          : { name: statement.name, text: statement.text, values },
      );
    } catch (error) {
      throw toStoreError(error);
    }
  }

  private async rows<R extends pg.QueryResultRow>(
    statement: Statement,
    values: unknown[],
    tx?: unknown,
  ): Promise<R[]> {
    return (await this.result<R>(statement, values, tx)).rows;
  }
}

function asQueryable(tx: unknown): Queryable {
  if (typeof tx === 'object' && tx !== null && typeof (tx as { query?: unknown }).query === 'function') {
    return tx as Queryable;
  }
  throw new NightshiftError('invalid_argument', 'tx must be a node-postgres client inside BEGIN');
}

/** The values of sql/job-read.ts `matchFilters`, in their order. */
function matchValues(match: JobMatch): [string | null, Date | null, Date | null] {
  return [match.search?.toLowerCase() ?? null, match.createdAfter ?? null, match.createdBefore ?? null];
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new NightshiftError('invalid_argument', 'invalid list cursor');
  return id;
}
