/**
 * One better-sqlite3 connection with what every store operation needs: the store's clock, a cache of
 * prepared statements per database handle, IMMEDIATE write transactions with asynchronous busy
 * retry, and the in-process event emitter. Every read and write fails with a `NightshiftError`
 * (`internal` for a driver error nothing maps), never with better-sqlite3's own error.
 */
import Database from 'better-sqlite3';
import { NightshiftError, unexpectedStoreError } from '../../errors.js';
import type { StoreEmitter } from '../store-emitter.js';
import type { StoreEvents } from '../store.js';
import { ConnectionInUseError, withBusyRetry } from './busy-retry.js';
import type { Checkpointer } from './checkpointer.js';
import { WakeFile } from './wake-file.js';

/**
 * The error of a call on a closed store, or on its transaction handle once it is closed:
 * `database_unavailable`, as PostgreSQL's calls fail when closing cuts their connections.
 */
export function storeClosedError(): NightshiftError {
  return new NightshiftError('database_unavailable', 'the store is closed');
}

/** The store's connection and the services shared by its operations. */
export class SqliteConnection {
  // Statements are cached per handle: the caller's own handle (transactional enqueue) needs its own.
  private readonly statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();
  // Raw mode is a setting of the statement, so raw ones are prepared and cached apart.
  private readonly rawStatements = new Map<string, Database.Statement>();
  /** Wakes workers in other processes on this file (wake-file.ts); none for an in-memory database. */
  private readonly wakeFile: WakeFile | null;

  constructor(
    readonly db: Database.Database,
    /** The store's clock in ms since the epoch; Date.now unless a test injects one. */
    readonly clock: () => number,
    /** Total asynchronous retry bound for a locked database. */
    readonly busyRetryMs: number,
    /** This store's in-process event listeners. */
    readonly events: StoreEmitter,
    /** Moves write-ahead-log checkpoints off the event loop once commits come fast; none in memory. */
    readonly checkpointer: Checkpointer | null = null,
  ) {
    this.wakeFile = db.memory ? null : new WakeFile(`${db.name}-wake`);
  }

  /** A prepared statement for `sql` on `handle` (the store's own connection by default). */
  stmt(sql: string, handle: Database.Database = this.db): Database.Statement {
    let cache = this.statements.get(handle);
    if (!cache) {
      cache = new Map();
      this.statements.set(handle, cache);
    }
    let statement = cache.get(sql);
    if (!statement) {
      statement = handle.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }

  /**
   * A prepared statement for `sql` on the store's connection that returns rows as arrays in column
   * order: no keyed object per row, which the hot path reads by position (job-row.ts, ClaimRow).
   */
  rawStmt(sql: string): Database.Statement {
    let statement = this.rawStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql).raw(true);
      this.rawStatements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `fn` in a BEGIN IMMEDIATE transaction, retried while another connection holds the write
   * lock. IMMEDIATE takes the lock up front, so a transaction that reads then writes can never fail
   * halfway on a lock upgrade, and concurrent claimers are serialised. While the application holds a
   * transaction open on this same connection, writes wait for it to end instead of nesting inside it.
   */
  async write<T>(fn: (now: number) => T): Promise<T> {
    try {
      return await withBusyRetry(
        () => {
          this.assertOpen();
          if (this.db.inTransaction) throw new ConnectionInUseError();
          const value = this.db.transaction(() => fn(this.clock())).immediate();
          this.checkpointer?.committed();
          this.wake();
          return value;
        },
        { limitMs: this.busyRetryMs },
      );
    } catch (error) {
      throw unexpectedStoreError(error, 'SQLite');
    }
  }

  /** Runs a read, retried on the rare SQLITE_BUSY a WAL reader can meet (e.g. during recovery). */
  async read<T>(fn: () => T): Promise<T> {
    try {
      return await withBusyRetry(
        () => {
          this.assertOpen();
          return fn();
        },
        { limitMs: this.busyRetryMs },
      );
    } catch (error) {
      throw unexpectedStoreError(error, 'SQLite');
    }
  }

  // A call racing close() (a renewal timer firing during shutdown, a retry still backing off) gets a
  // coded error instead of better-sqlite3's TypeError.
  private assertOpen(): void {
    if (!this.db.open) throw storeClosedError();
  }

  /**
   * Whether `handle` is this store's connection, closed: a caller's transaction handle (`tx`) of a
   * store closed mid-transaction, which rolled the transaction back.
   */
  isClosedHandle(handle: unknown): boolean {
    return handle === this.db && !this.db.open;
  }

  /**
   * `handle` as a caller's transaction to write in: any better-sqlite3 Database inside an open
   * transaction (the store's own from `transaction()`, or the application's). Throws
   * `database_unavailable` for this store's connection closed under the caller, `invalid_argument`
   * for anything else.
   */
  callerTransaction(handle: unknown): Database.Database {
    if (this.isClosedHandle(handle)) throw storeClosedError();
    if (!(handle instanceof Database) || !handle.inTransaction) {
      throw new NightshiftError(
        'invalid_argument',
        'tx must be a better-sqlite3 Database inside an open transaction',
      );
    }
    return handle;
  }

  /**
   * A write committed: wakes this process's event-log readers (`event:written`), if any. Any write may
   * have written events (the log's triggers fire inside job writes), and a reader finding nothing new
   * costs one indexed read, so no write is checked for them.
   */
  wake(): void {
    if (this.events.has('event:written')) this.events.emit('event:written', {});
  }

  /**
   * Emits a store event to this process's listeners; `job:ready` and `job:capacity` also reach other
   * processes, as a `job:ready` of any queue there (the wake file carries no more).
   */
  emit<K extends keyof StoreEvents>(event: K, payload: StoreEvents[K]): void {
    if (event === 'job:ready' || event === 'job:capacity') this.wakeFile?.touch();
    this.events.emit(event, payload);
  }

  /** From now on, another process's `job:ready` is emitted here too (without a queue: it names none). */
  watchOtherProcesses(): void {
    this.wakeFile?.watch(() => this.events.emit('job:ready', { queue: null }));
  }

  /** Stops watching for other processes and releases the wake file. */
  closeWakeFile(): void {
    this.wakeFile?.close();
  }
}
