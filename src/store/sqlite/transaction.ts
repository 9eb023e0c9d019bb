/**
 * Application transactions on the store's own connection (`store.transaction(fn)`): BEGIN IMMEDIATE,
 * the caller's async work, then COMMIT or ROLLBACK.
 *
 * IMMEDIATE takes the database's write lock up front, so nothing else (no other process, no rescuer,
 * no claimer) can change a job row between a fence check inside the transaction and its COMMIT.
 * The price: while `fn` runs, every other writer on the file waits. Keep `fn` short and free of
 * network calls. Store writes of this same process wait too (connection.ts refuses to nest them
 * inside an application transaction and retries them), bounded by `busyRetryMs`.
 *
 * One transaction at a time per connection: a second `transaction` call waits for the first like for
 * a lock. Events caused inside are held back and emitted only after COMMIT (dropped on ROLLBACK).
 */
import type Database from 'better-sqlite3';
import { NightshiftError, unexpectedStoreError } from '../../errors.js';
import { ConnectionInUseError, withBusyRetry } from './busy-retry.js';
import { storeClosedError, type SqliteConnection } from './connection.js';

/** Opens and ends application transactions and holds their after-commit events. */
export class SqliteTransactions {
  /** Callbacks to run after the open transaction commits; null when none is open. */
  private pending: Array<() => void> | null = null;

  constructor(private readonly conn: SqliteConnection) {}

  /** True when `tx` is the store's connection inside a transaction opened by `run`. */
  isOpen(tx: unknown): boolean {
    return tx === this.conn.db && this.pending !== null && this.conn.db.inTransaction;
  }

  /** Runs `emit` after the open transaction commits, or at once when none is open. */
  afterCommit(emit: () => void): void {
    if (this.pending) this.pending.push(emit);
    else emit();
  }

  /** Runs `write` on the caller's open transaction `tx`, which must come from `run`. */
  writeIn<T>(tx: unknown, write: (now: number) => T): Promise<T> {
    if (!this.isOpen(tx)) {
      return Promise.reject(
        this.conn.isClosedHandle(tx)
          ? storeClosedError()
          : new NightshiftError('invalid_argument', "tx must be a handle from this store's transaction()"),
      );
    }
    try {
      return Promise.resolve(write(this.conn.clock()));
    } catch (error) {
      return Promise.reject(unexpectedStoreError(error, 'SQLite'));
    }
  }

  /** Runs `fn` with the connection inside BEGIN IMMEDIATE; commits on resolve, rolls back on reject. */
  async run<T>(fn: (tx: Database.Database) => Promise<T>): Promise<T> {
    const { db } = this.conn;
    await withBusyRetry(
      () => {
        if (db.inTransaction) throw new ConnectionInUseError();
        db.exec('BEGIN IMMEDIATE');
      },
      { limitMs: this.conn.busyRetryMs },
    ).catch((error: unknown) => {
      throw unexpectedStoreError(error, 'SQLite');
    });
    const pending: Array<() => void> = [];
    this.pending = pending;
    let value: T;
    try {
      try {
        value = await fn(db);
      } catch (error) {
        // An error SQLite already rolled back for leaves nothing to roll back. The caller's own
        // failure goes back to it as it is.
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
      // Closing the store while fn ran rolled the transaction back (SQLite does on close).
      if (!db.open) {
        throw new NightshiftError(
          'database_unavailable',
          'the store was closed during the transaction; nothing of it was committed',
        );
      }
      try {
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw unexpectedStoreError(error, 'SQLite');
      }
    } finally {
      this.pending = null;
    }
    for (const emit of pending) emit();
    this.conn.wake();
    return value;
  }
}
