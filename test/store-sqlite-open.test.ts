/** Opening SQLite stores: database URLs, in-memory databases, and paths that cannot be opened. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NightshiftError } from '../src/errors.js';
import { DEFAULT_DATABASE_URL, openStore } from '../src/store/open.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { newJob } from './support/jobs.js';
import { tempSqliteFile, type TempSqliteFile } from './support/temp-sqlite.js';

const stores: Store[] = [];
const files: TempSqliteFile[] = [];

function tempFile(): TempSqliteFile {
  const file = tempSqliteFile();
  files.push(file);
  return file;
}

async function opened(url: string): Promise<Store> {
  const store = await openStore(url);
  stores.push(store);
  return store;
}

async function errorOf(promise: Promise<unknown>): Promise<NightshiftError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NightshiftError);
  return error as NightshiftError;
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const file of files.splice(0)) file.remove();
});

describe('openStore', () => {
  it('defaults to a nightshift.db file in the working directory', () => {
    expect(DEFAULT_DATABASE_URL).toBe('sqlite:./nightshift.db');
  });

  it('opens sqlite: URLs with absolute and relative paths onto the same file', async () => {
    const file = tempFile();
    const absolute = await opened(`sqlite:${file.path}`);
    expect(absolute.dialect).toBe('sqlite');
    await absolute.migrate();
    const job = newJob();
    await absolute.jobInsertMany({ jobs: [job] });
    const rel = relative(process.cwd(), file.path);
    const relativeStore = await opened(`sqlite:${rel.startsWith('.') ? rel : `./${rel}`}`);
    expect((await relativeStore.jobGet({ id: job.id }))?.id).toBe(job.id);
  });

  it('opens sqlite::memory: as a private, working database', async () => {
    const store = await opened('sqlite::memory:');
    const { to } = await store.migrate();
    expect(to).toBeGreaterThanOrEqual(1);
    const job = newJob();
    await store.jobInsertMany({ jobs: [job] });
    const [claimed] = await store.jobClaim({ workerId: 'w', limit: 1, leaseMs: 1_000 });
    expect(claimed?.id).toBe(job.id);
    const other = await opened('sqlite::memory:');
    expect((await other.schemaVersion()).current).toBe(0);
  });

  it('refuses unknown URLs with invalid_argument', async () => {
    for (const url of ['mysql://localhost/db', 'nightshift.db', '', 'sqlite:']) {
      expect((await errorOf(openStore(url))).code).toBe('invalid_argument');
    }
  });

  it('refuses sqlite:// (a path would be guessed at: sqlite://./x.db named /x.db), creating nothing', async () => {
    const file = tempFile();
    mkdirSync(dirname(file.path), { recursive: true });
    const name = `refused-${process.pid}.db`;
    for (const url of [`sqlite://./${name}`, `sqlite:///${name}`, `sqlite://${dirname(file.path)}/${name}`]) {
      const error = await errorOf(openStore(url));
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toContain('such as sqlite:./nightshift.db');
    }
    expect([`/${name}`, join(dirname(file.path), name)].filter((path) => existsSync(path))).toEqual([]);
  });
});

describe('SqliteStore.open on bad paths', () => {
  it('reports a missing directory as database_unavailable', async () => {
    const file = tempFile();
    const path = join(dirname(file.path), 'no', 'such', 'dir', 'x.db');
    const error = await errorOf(SqliteStore.open({ filename: path }));
    expect(error.code).toBe('database_unavailable');
    expect(error.message).toContain(path);
    expect((await errorOf(openStore(`sqlite:${path}`))).code).toBe('database_unavailable');
  });

  it('reports a file that is not a database as database_unavailable', async () => {
    const file = tempFile();
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(
      file.path,
      'this is not an SQLite database, just text that is long enough to have a header',
    );
    expect((await errorOf(SqliteStore.open({ filename: file.path }))).code).toBe('database_unavailable');
  });

  it('reports a directory given as the file as database_unavailable', async () => {
    const file = tempFile();
    expect((await errorOf(SqliteStore.open({ filename: dirname(file.path) }))).code).toBe(
      'database_unavailable',
    );
  });

  it('configures WAL, NORMAL sync, foreign keys and a short busy timeout', async () => {
    const file = tempFile();
    const store = await SqliteStore.open({ filename: file.path });
    stores.push(store);
    const db = store.database;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // 1 = NORMAL
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(50);
  });
});

describe('SqliteStore after close', () => {
  it('rejects calls with database_unavailable instead of throwing synchronously', async () => {
    const file = tempFile();
    const store = await SqliteStore.open({ filename: file.path });
    await store.migrate();
    await store.close();
    await store.close();
    const calls: Array<() => Promise<unknown>> = [
      () => store.jobGet({ id: 'x' }),
      () => store.jobClaim({ workerId: 'w', limit: 1, leaseMs: 1_000 }),
      () => store.jobInsertMany({ jobs: [newJob()] }),
      () => store.jobLeaseRenew({ leases: [{ id: 'x', leaseToken: 'y' }], leaseMs: 1_000 }),
    ];
    for (const call of calls) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      expect((await errorOf(promise ?? Promise.resolve())).code).toBe('database_unavailable');
    }
  });
});
