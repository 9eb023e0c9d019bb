/**
 * The conformance harness for SqliteStore: a fresh database file per store, rows placed by SQL. Each
 * database has one MovableClock its stores run on (SQLite's clock is the host's), which advanceClock
 * and freezeClock move.
 */
import type { Logger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import type { JobFields, StoreHarness } from './store-harness.js';
import { tempSqliteFile, type TempSqliteFile } from './temp-sqlite.js';
import { MovableClock } from './test-clock.js';

// Test setup writes rows the state machine would take minutes to reach; column names are SQLite's.
const COLUMNS: Record<keyof JobFields, string> = {
  state: 'state',
  priority: 'priority',
  attempt: 'attempt',
  maxAttempts: 'max_attempts',
  runAt: 'run_at',
  createdAt: 'created_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  leaseToken: 'lease_token',
  leaseExpiresAt: 'lease_expires_at',
  workerId: 'worker_id',
  cancelRequested: 'cancel_requested',
};

function toSqlValue(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

function sqliteOf(store: Store): SqliteStore {
  if (!(store instanceof SqliteStore)) throw new Error('sqlite harness given a store it did not open');
  return store;
}

interface Opened {
  store: SqliteStore;
  path: string;
  /** The database's clock, shared by every store opened on it. */
  clock: MovableClock;
}

/** A harness whose stores are SqliteStores on temporary files, each database on its own clock. */
export function sqliteHarness(): StoreHarness & { pathOf(store: Store): string } {
  const opened: Opened[] = [];
  const files: TempSqliteFile[] = [];

  async function openAt(path: string, clock: MovableClock, logger?: Logger): Promise<SqliteStore> {
    const store = await SqliteStore.open({
      filename: path,
      clock: clock.now,
      ...(logger && { logger }),
    });
    opened.push({ store, path, clock });
    return store;
  }

  function entry(store: Store): Opened {
    const found = opened.find((o) => o.store === store);
    if (!found) throw new Error('sqlite harness given a store it did not open');
    return found;
  }

  return {
    async open(options = {}) {
      const file = tempSqliteFile();
      files.push(file);
      const store = await openAt(file.path, new MovableClock(), options.logger);
      await store.migrate();
      return store;
    },
    async openPeer(store) {
      const { path, clock } = entry(store);
      return openAt(path, clock);
    },
    async openEmpty() {
      const file = tempSqliteFile();
      files.push(file);
      return openAt(file.path, new MovableClock());
    },
    // Through a promise, so a bad step rejects as it does on PostgreSQL rather than throwing.
    advanceClock(store, ms) {
      return Promise.resolve().then(() => entry(store).clock.advance(ms));
    },
    freezeClock(store, at) {
      return Promise.resolve().then(() => entry(store).clock.freeze(at));
    },
    setJobFields(store, id, fields) {
      const entries = Object.entries(fields) as Array<[keyof JobFields, unknown]>;
      if (entries.length === 0) return Promise.resolve();
      const sets = entries.map(([key]) => `${COLUMNS[key]} = ?`).join(', ');
      const info = sqliteOf(store)
        .database.prepare(`UPDATE jobs SET ${sets} WHERE id = ?`)
        .run(...entries.map(([, value]) => toSqlValue(value)), id);
      if (info.changes !== 1) return Promise.reject(new Error(`setJobFields: no job ${id}`));
      return Promise.resolve();
    },
    setSchemaVersion(store, version) {
      sqliteOf(store)
        .database.prepare(`INSERT INTO nightshift_schema (version, name, applied_at) VALUES (?, 'future', ?)`)
        .run(version, Date.now());
      return Promise.resolve();
    },
    async close() {
      for (const { store } of opened.splice(0)) await store.close();
      for (const file of files.splice(0)) file.remove();
    },
    pathOf(store) {
      return entry(store).path;
    },
  };
}
