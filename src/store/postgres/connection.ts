/**
 * The store's pool with what every PostgreSQL store operation needs: the statements rendered for its
 * schema, the notification target, application transactions and their after-commit events, and the
 * in-process event emitter. Every query fails with a `NightshiftError` (see pool.ts `toStoreError`),
 * never with node-postgres's own error.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { NightshiftError } from '../../errors.js';
import type { JobState } from '../../job.js';
import type { StoreEmitter } from '../store-emitter.js';
import type { StoreEvents } from '../store.js';
import { PostgresEventLog } from './event-log.js';
import { channelName } from './listener.js';
import { beginStatement, quoteIdent, toStoreError, type ConnectionSettings, type StorePool } from './pool.js';
import { renderStatements, type Queryable, type Statement, type Statements } from './sql/statements.js';
import { PostgresTransactions, withTransaction } from './transaction.js';

/** The setting under which `groupedRows` runs its read (for the plan tests). */
export const HASH_GROUPING = 'SET LOCAL enable_sort = off';

/** Where notifications go and who sends them. */
export interface NotifyTarget {
  channel: string;
  origin: string;
}

/** A store's pool and the services shared by its operations. */
export class PostgresConnection {
  /** The schema, quoted into every statement. */
  readonly quotedSchema: string;
  readonly sql: Statements;
  /** Opens the store's own transactions (with the statement timeout behind a pooler). */
  readonly begin: string;
  readonly notify: NotifyTarget;
  readonly transactions: PostgresTransactions;
  readonly eventLog: PostgresEventLog;
  /**
   * Whether this store's claims last met grouped jobs waiting: they then run the claim statements
   * that deal grouped jobs turns, else the ones without that part (job-claim.ts).
   */
  claimGroups = false;
  /**
   * Claims left to run with the full statements before the lean ones are tried again: set when a
   * claim met a limited queue or a keyed job, counted down by full claims that met neither
   * (job-claim.ts).
   */
  claimLimitsFor = 0;
  /**
   * Whether this store ended jobs since its last sweep of ended claims' lease rows (job-finish.ts
   * `jobLeaseSweep`): a rescue pass sweeps only then, so an idle worker's passes cost no statement
   * more. The rows of claims another process ended are its own rescue's to sweep (or, should it die
   * first, go at their lease end as before).
   */
  leaseSweepDue = false;

  constructor(
    readonly pool: StorePool,
    readonly settings: ConnectionSettings,
    /** The schema holding this store's tables. */
    readonly schema: string,
    /** This store's in-process event listeners. */
    readonly events: StoreEmitter,
  ) {
    this.quotedSchema = quoteIdent(schema);
    this.sql = renderStatements(this.quotedSchema, settings.pooler === null);
    this.begin = beginStatement(settings);
    this.notify = { channel: channelName(schema), origin: randomUUID() };
    this.transactions = new PostgresTransactions(pool, this.begin);
    this.eventLog = new PostgresEventLog(pool, this.quotedSchema, this.notify);
  }

  /** Runs `fn` in a store transaction of its own on a pooled client. */
  withTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, this.begin, fn);
  }

  /** Runs `emit` after the caller's `tx` commits; at once without one. */
  afterCommit(tx: unknown, emit: () => void): void {
    this.transactions.afterCommit(tx, emit);
  }

  /** Runs `statement` on the caller's `tx` when given, else on the pool (prepared when it has a name). */
  async result<R extends pg.QueryResultRow>(
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

  /**
   * The rows of a read that groups a whole table into a few groups (the waiting jobs per queue, the
   * finished history per queue and state), grouped by hashing. The pool's connections plan with
   * sequential scans disabled (pool.ts PLANNER_SETTINGS), which adds the same huge cost to every plan
   * of a read that has to scan, and within the planner's 1% fuzz such plans tie: the sorted one won,
   * and sorted the whole table to group it into a handful of queues (1,000,000 waiting jobs: an
   * external merge sort of 37 MB, ~1.5 s of the queue list's ~1.7 s). With sorting disabled for the
   * transaction, hashing wins: one pass, memory for the groups only. Sorts with no other way (the few
   * groups' ORDER BY) still run.
   */
  async groupedRows<R extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<R[]> {
    return withTransaction(this.pool, `${this.begin}; ${HASH_GROUPING}`, async (client) => {
      return (await client.query<R>({ text: statement.text, values })).rows;
    });
  }

  /** The rows of `result`. */
  async rows<R extends pg.QueryResultRow>(
    statement: Statement,
    values: unknown[],
    tx?: unknown,
  ): Promise<R[]> {
    return (await this.result<R>(statement, values, tx)).rows;
  }

  /** Emits a store event to this process's listeners. */
  emit<K extends keyof StoreEvents>(event: K, payload: StoreEvents[K]): void {
    this.events.emit(event, payload);
  }

  /** Events were committed: wakes this process's readers now and other processes' soon. */
  eventsWritten(): void {
    this.emit('event:written', {});
    this.eventLog.written();
  }

  /**
   * Emits what became of jobs a statement moved: `job:ready` per queue of jobs queued or scheduled (a
   * waiting worker's next claim learns when a scheduled one is due), `job:finished` per final job.
   */
  emitChanges(rows: Array<{ id: string; state: JobState; queue: string }>): void {
    const readyQueues = new Set<string>();
    for (const row of rows) {
      if (row.state === 'queued' || row.state === 'scheduled') readyQueues.add(row.queue);
      else if (row.state === 'completed' || row.state === 'failed' || row.state === 'cancelled') {
        this.emit('job:finished', { id: row.id, state: row.state });
      }
    }
    for (const queue of readyQueues) this.emit('job:ready', { queue });
  }
}

/** The caller's transaction handle as a client to query on. */
export function asQueryable(tx: unknown): Queryable {
  if (typeof tx === 'object' && tx !== null && typeof (tx as { query?: unknown }).query === 'function') {
    return tx as Queryable;
  }
  throw new NightshiftError('invalid_argument', 'tx must be a node-postgres client inside BEGIN');
}
