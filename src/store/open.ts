/**
 * Opening a store from a database URL: `sqlite:./path`, `sqlite:/abs/path`, `sqlite::memory:`, or
 * `postgres://...` / `postgresql://...` (which may carry `pooler=transaction` and `listen_url`, see
 * postgres/connection-url.ts). The PostgreSQL backend is loaded only when asked for, so SQLite users
 * never load node-postgres.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NightshiftError } from '../errors.js';
import type { Logger } from '../logger.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';
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
  /** Both: where a store event listener that throws is reported. Default: nightshift's default logger. */
  logger?: Logger;
  /** PostgreSQL: the schema holding nightshift's tables. */
  schema?: string;
  /** PostgreSQL: the most connections the pool opens (over the URL's `pool_size`). */
  poolSize?: number;
  /**
   * PostgreSQL: the server-side timeout of every statement on the store's connections, a handler's
   * `ctx.transaction` included, in ms. Default 60,000; 0 leaves the server's (or role's) setting alone.
   */
  statementTimeoutMs?: number;
  /**
   * False refuses, with `not_found`, a database that does not exist yet (an SQLite file that is not
   * there, or one without nightshift's tables; a PostgreSQL schema without them) instead of creating
   * it, so a mistyped URL is an error rather than a new empty database. Default true.
   */
  create?: boolean;
}

const OPTION_NAMES = keyNames<OpenStoreOptions>({
  clock: true,
  busyTimeoutMs: true,
  busyRetryMs: true,
  logger: true,
  schema: true,
  poolSize: true,
  statementTimeoutMs: true,
  create: true,
});

/** Opens the store a database URL names; does not migrate. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  // A misspelt `craete: false` would create the database it was meant to refuse.
  refuseUnknownKeys(options, OPTION_NAMES, 'openStore option');
  const store = await openBackend(url, options);
  if (options.create !== false) return store;
  try {
    if ((await store.schemaVersion()).current === 0) throw noDatabase(url);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** The refusal of a database without nightshift's tables when the caller may not create them. */
function noDatabase(url: string): NightshiftError {
  const shown = withoutPassword(url);
  return new NightshiftError(
    'not_found',
    `no nightshift database at ${shown}; \`nightshift migrate --db ${shown}\` creates one`,
  );
}

/** The URL as it may be shown in a message: a password in it is replaced with `***`. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL `URL` can read: hide whatever stands between `user:` and `@`.
    return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
  }
}

async function openBackend(url: string, options: OpenStoreOptions): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename === '') throw new NightshiftError('invalid_argument', `database URL ${url} names no file`);
    // Read as a path, `sqlite://./x.db` named /x.db at the file system's root, and other tools read
    // `sqlite:///x.db` as relative: a URL with an authority part is refused rather than guessed at.
    if (filename.startsWith('//')) {
      throw new NightshiftError(
        'invalid_argument',
        `database URL ${url} has "//" after "sqlite:": write the path straight after it, such as sqlite:./nightshift.db (relative) or sqlite:/var/lib/nightshift.db (absolute)`,
      );
    }
    if (options.create === false && filename === ':memory:') {
      // Offering `nightshift migrate` here would create a database that is gone when it exits.
      throw new NightshiftError(
        'not_found',
        `no nightshift database at ${url}: an in-memory database is new and empty in each process that opens it, so this one holds nothing; give a file, such as sqlite:./nightshift.db`,
      );
    }
    const { SqliteStore } = await import('./sqlite/sqlite-store.js');
    if (options.create === false) {
      if (!existsSync(filename)) {
        throw new NightshiftError(
          'not_found',
          `no nightshift database at ${url}: ${resolve(filename)} does not exist; \`nightshift migrate --db ${url}\` creates it`,
        );
      }
      const { mayHoldNightshift } = await import('./sqlite/file-peek.js');
      if (!mayHoldNightshift(filename)) throw noDatabase(url);
    }
    return SqliteStore.open({
      filename,
      ...(options.create === false && { fileMustExist: true }),
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.busyTimeoutMs !== undefined && { busyTimeoutMs: options.busyTimeoutMs }),
      ...(options.busyRetryMs !== undefined && { busyRetryMs: options.busyRetryMs }),
      ...(options.logger !== undefined && { logger: options.logger }),
    });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    // node-postgres reports an unreadable URL (a port that is no number) as an unexpected error.
    if (!URL.canParse(url)) {
      throw new NightshiftError(
        'invalid_argument',
        `malformed database URL ${JSON.stringify(withoutPassword(url))}: use postgres://user@host:port/db`,
      );
    }
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open({
      connectionString: url,
      ...(options.schema !== undefined && { schema: options.schema }),
      ...(options.poolSize !== undefined && { poolSize: options.poolSize }),
      ...(options.statementTimeoutMs !== undefined && { statementTimeoutMs: options.statementTimeoutMs }),
      ...(options.logger !== undefined && { logger: options.logger }),
    });
  }
  throw new NightshiftError(
    'invalid_argument',
    `unsupported database URL ${JSON.stringify(url)}: use sqlite:./file.db, sqlite::memory: or postgres://user@host:port/db`,
  );
}
