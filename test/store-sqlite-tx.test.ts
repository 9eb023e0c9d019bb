/** Transactional enqueue on SQLite: jobs inserted on the caller's own transaction handle. */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { NightshiftError } from '../src/errors.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { newJob } from './support/jobs.js';
import { sqliteHarness } from './support/sqlite-harness.js';

const harness = sqliteHarness();
const handles: Database.Database[] = [];

async function setup(): Promise<{ store: SqliteStore; app: Database.Database }> {
  const store = (await harness.open()) as SqliteStore;
  // The application's own connection, with its own table, on the same file.
  const app = new Database(harness.pathOf(store));
  app.pragma('busy_timeout = 1000');
  app.exec('CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)');
  handles.push(app);
  return { store, app };
}

afterEach(async () => {
  for (const handle of handles.splice(0)) handle.close();
  await harness.close();
});

describe('jobInsertMany with tx', () => {
  it('makes the job exist iff the caller commits', async () => {
    const { store, app } = await setup();
    const rolledBack = newJob();
    app.exec('BEGIN IMMEDIATE');
    app.prepare('INSERT INTO orders (total) VALUES (?)').run(10);
    const [result] = await store.jobInsertMany({ jobs: [rolledBack], tx: app });
    expect(result?.created).toBe(true);
    // Not visible outside the caller's transaction before it commits.
    expect(await store.jobGet({ id: rolledBack.id })).toBeUndefined();
    app.exec('ROLLBACK');
    expect(await store.jobGet({ id: rolledBack.id })).toBeUndefined();
    expect(await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 1_000 })).toEqual([]);

    const committed = newJob();
    app.exec('BEGIN IMMEDIATE');
    app.prepare('INSERT INTO orders (total) VALUES (?)').run(20);
    await store.jobInsertMany({ jobs: [committed], tx: app });
    app.exec('COMMIT');
    expect((await store.jobGet({ id: committed.id }))?.state).toBe('queued');
    expect(app.prepare('SELECT total FROM orders').all()).toEqual([{ total: 20 }]);
  });

  it('runs synchronously inside a better-sqlite3 transaction function on the store connection', async () => {
    const { store } = await setup();
    const db = store.database;
    db.exec('CREATE TABLE IF NOT EXISTS audit (note TEXT NOT NULL)');
    const job = newJob({ idempotencyKey: 'audit-1' });
    let pending: Promise<unknown> = Promise.resolve();
    db.transaction(() => {
      db.prepare('INSERT INTO audit (note) VALUES (?)').run('enqueued');
      pending = store.jobInsertMany({ jobs: [job, newJob({ idempotencyKey: 'audit-1' })], tx: db });
    })();
    const results = (await pending) as Array<{ created: boolean; job: { id: string } }>;
    expect(results.map((r) => [r.created, r.job.id])).toEqual([
      [true, job.id],
      [false, job.id],
    ]);
    expect((await store.jobGet({ id: job.id }))?.idempotencyKey).toBe('audit-1');

    const failing = newJob();
    expect(() =>
      db.transaction(() => {
        void store.jobInsertMany({ jobs: [failing], tx: db });
        throw new Error('application failed after enqueue');
      })(),
    ).toThrow('application failed');
    expect(await store.jobGet({ id: failing.id })).toBeUndefined();
  });

  it('keeps other store writes out of an application transaction open on the store connection', async () => {
    const { store } = await setup();
    const db = store.database;
    const waiting = newJob();
    await store.jobInsertMany({ jobs: [waiting] });
    db.exec('BEGIN IMMEDIATE');
    const enqueued = newJob();
    await store.jobInsertMany({ jobs: [enqueued], tx: db });
    // A worker's claim on the same connection while the application awaits between BEGIN and COMMIT:
    // it must not run inside that transaction, or the rollback below would undo a claim already returned.
    let claimDone = false;
    const claim = store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 }).then((jobs) => {
      claimDone = true;
      return jobs;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(claimDone).toBe(false);
    db.exec('ROLLBACK');
    const claimed = await claim;
    expect(claimed.map((job) => job.id)).toEqual([waiting.id]);
    expect((await store.jobGet({ id: waiting.id }))?.state).toBe('running');
    expect(await store.jobGet({ id: enqueued.id })).toBeUndefined();
  });

  it('refuses a handle that is not inside a transaction', async () => {
    const { store, app } = await setup();
    // Typed as the engine sees any store: a JavaScript caller may pass anything as `tx`.
    const anyStore: Store = store;
    for (const tx of [app, {}, 'db']) {
      const error: unknown = await anyStore.jobInsertMany({ jobs: [newJob()], tx }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NightshiftError);
      expect((error as NightshiftError).code).toBe('invalid_argument');
    }
    expect(await store.jobList({ limit: 10 })).toEqual({ jobs: [], nextCursor: null });
  });
});
