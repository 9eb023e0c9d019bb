/**
 * Opening a store from a database URL: `sqlite:./path`, `sqlite:/abs/path`, `sqlite::memory:`, or
 * `postgres://...` / `postgresql://...`. The PostgreSQL backend is loaded only when asked for, so
 * SQLite users never load node-postgres.
 */
import { NightshiftError } from '../errors.js';
import type { Store } from './store.js';

/** The database used when none is configured. */
export const DEFAULT_DATABASE_URL = 'sqlite:./nightshift.db';

/** Options for `openStore`; each applies to the backends that understand it. */
export interface OpenStoreOptions {
  /** SQLite: the store's clock (tests). */
  clock?: () => number;
  /** SQLite: synchronous lock wait per call. */
  busyTimeoutMs?: number;
  /** SQLite: total asynchronous lock retry before `database_unavailable`. */
  busyRetryMs?: number;
  /** PostgreSQL: the schema holding nightshift's tables. */
  schema?: string;
}

/** Opens the store a database URL names; does not migrate. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename === '') throw new NightshiftError('invalid_argument', `database URL ${url} names no file`);
    const { SqliteStore } = await import('./sqlite/sqlite-store.js');
    return SqliteStore.open({
      filename,
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.busyTimeoutMs !== undefined && { busyTimeoutMs: options.busyTimeoutMs }),
      ...(options.busyRetryMs !== undefined && { busyRetryMs: options.busyRetryMs }),
    });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open({
      connectionString: url,
      ...(options.schema !== undefined && { schema: options.schema }),
    });
  }
  throw new NightshiftError(
    'invalid_argument',
    `unsupported database URL ${JSON.stringify(url)}: use sqlite:./file.db, sqlite::memory: or postgres://user@host:port/db`,
  );
}
