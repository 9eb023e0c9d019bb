/**
 * Both backends for the long-job tests, side by side: a fresh database per test (an SQLite file, or
 * a PostgreSQL schema in the `test` database), addressable by URL so child processes and lease-keeper
 * threads can open it too, and an `effects` table standing for the application's own data, written
 * on the transaction handle `ctx.transaction` hands out.
 */
import Database from 'better-sqlite3';
import type pg from 'pg';
import { afterEach } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift, type ConnectOptions } from '../../src/nightshift.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';

/** The backends every long-job test runs on. */
export const BACKENDS = ['sqlite', 'postgres'] as const;
/** One of them. */
export type BackendName = (typeof BACKENDS)[number];

/** One isolated database. */
export interface TestDb {
  backend: BackendName;
  /** A URL `openStore` accepts, and the PostgreSQL schema (empty for SQLite). */
  url: string;
  schema: string;
  /** Command-line arguments naming this database for a child process: `--db URL [--schema S]`. */
  args: string[];
  /** Opens another store on it (migrated once by `freshDb`). */
  openStore(): Promise<Store>;
  /** A Nightshift instance on its own store, closed after the test. */
  connect(options?: Omit<ConnectOptions, 'db'>): Promise<Nightshift>;
  /** Inserts an effect row on a `ctx.transaction` handle. */
  insertEffect(tx: unknown, jobId: string, key: string): Promise<void>;
  /** All effect rows, read on a connection of their own. */
  effects(): Promise<Array<{ jobId: string; key: string }>>;
}

/** Registers per-test cleanup and returns the factory of fresh databases. */
export function longJobEnv(): {
  freshDb(backend: BackendName): Promise<TestDb>;
  /** Runs `cleanup` after the test, before the cleanups registered earlier (a database's drop). */
  onCleanup(cleanup: () => Promise<void>): void;
} {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const logger = createLogger({ level: process.env['NIGHTSHIFT_TEST_LOG'] ?? 'silent' });

  async function freshDb(backend: BackendName): Promise<TestDb> {
    let url: string;
    let schema = '';
    if (backend === 'sqlite') {
      const file = tempSqliteFile();
      cleanups.push(() => Promise.resolve(file.remove()));
      url = `sqlite:${file.path}`;
    } else {
      schema = uniqueSchema('long');
      cleanups.push(() => dropSchema(schema));
      url = TEST_PG_URL;
    }
    const open = async (): Promise<Store> => {
      const store = await openStore(url, schema ? { schema } : {});
      cleanups.push(() => store.close());
      return store;
    };
    const first = await open();
    await first.migrate();
    const table = backend === 'sqlite' ? 'effects' : `"${schema}".effects`;
    const ddl = `CREATE TABLE ${table} (job_id TEXT NOT NULL, k TEXT NOT NULL)`;
    if (backend === 'sqlite') {
      const db = new Database(url.slice('sqlite:'.length));
      db.exec(ddl);
      db.close();
    } else {
      await withAdmin((client) => client.query(ddl));
    }
    return {
      backend,
      url,
      schema,
      args: schema ? ['--db', url, '--schema', schema] : ['--db', url],
      openStore: open,
      async connect(options = {}) {
        const ns = await Nightshift.connect({ logger, ...options, db: await open() });
        cleanups.push(() => ns.close({ force: true, graceMs: 0 }));
        return ns;
      },
      async insertEffect(tx, jobId, key) {
        if (backend === 'sqlite') {
          (tx as Database.Database).prepare(`INSERT INTO ${table} (job_id, k) VALUES (?, ?)`).run(jobId, key);
        } else {
          await (tx as pg.ClientBase).query(`INSERT INTO ${table} (job_id, k) VALUES ($1, $2)`, [jobId, key]);
        }
      },
      async effects() {
        const sql = `SELECT job_id AS "jobId", k AS "key" FROM ${table} ORDER BY job_id, k`;
        if (backend === 'sqlite') {
          const db = new Database(url.slice('sqlite:'.length), { readonly: true });
          try {
            return db.prepare(sql).all() as Array<{ jobId: string; key: string }>;
          } finally {
            db.close();
          }
        }
        return withAdmin(async (client) => (await client.query<{ jobId: string; key: string }>(sql)).rows);
      },
    };
  }

  return { freshDb, onCleanup: (cleanup) => void cleanups.push(cleanup) };
}
