/**
 * SQLite migration 019 rebuilds concurrency_keys (job_limit may be NULL). A database at version 18 with a key holding a slot, an operator's limit and a rate keeps
 * every row and count through the upgrade, and the slot still comes back in the trigger the rebuild
 * dropped and made again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyMigration, loadMigrations } from '../src/store/sqlite/migrator.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { newJob } from './support/jobs.js';
import { tempSqliteFile, type TempSqliteFile } from './support/temp-sqlite.js';

const LEASE = { leaseMs: 30_000 };
const opened: Array<{ store: SqliteStore; file: TempSqliteFile }> = [];

afterEach(async () => {
  for (const { store, file } of opened.splice(0)) {
    await store.close();
    file.remove();
  }
});

describe('SQLite migration 019: key rows without a claimed limit', () => {
  it('upgrades a version-18 database keeping every key row and count, and gives slots back as before', async () => {
    const file = tempSqliteFile();
    const store = await SqliteStore.open({ filename: file.path });
    opened.push({ store, file });
    const db = store.database;
    for (const migration of loadMigrations().slice(0, 18)) {
      db.transaction(() => applyMigration(db, migration, Date.now())).immediate();
    }
    const rate = { limit: 5, periodMs: 60_000 };
    await store.jobInsertMany({
      jobs: [1, 2, 3].map(() => newJob({ concurrencyKey: 'busy', concurrencyLimit: 2 })),
    });
    const claimed = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
    expect(claimed).toHaveLength(2);
    // Rows as version 18's settings made them: job_limit 1, whatever the key's jobs carry. The
    // migration keeps it ('paced' lists 1): nothing in the row tells it apart from a 1 a claim wrote.
    db.exec(`INSERT INTO concurrency_keys (key, in_use, max, job_limit) VALUES ('ruled', 0, 7, 1);
             INSERT INTO concurrency_keys (key, in_use, job_limit, rate_limit, rate_period_ms)
             VALUES ('paced', 0, 1, 5, 60000)`);

    expect(await store.migrate()).toEqual({ from: 18, to: loadMigrations().length });
    expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
      { key: 'busy', running: 2, limit: 2, operatorLimit: null, rate: null },
      { key: 'paced', running: 0, limit: 1, operatorLimit: null, rate },
      { key: 'ruled', running: 0, limit: 7, operatorLimit: 7, rate: null },
    ]);
    expect(
      db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'concurrency_keys_rated'").get(),
    ).toEqual({ n: 1 });

    const [done] = claimed;
    await store.jobFinishMany({
      finishes: [{ id: done!.id, leaseToken: done!.leaseToken, outcome: 'completed' }],
    });
    expect((await store.concurrencyKeyList({ limit: 1 }))[0]?.running).toBe(1);
    expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
    await store.concurrencyKeySetLimit({ key: 'fresh', limit: 3 });
    expect(db.prepare("SELECT job_limit FROM concurrency_keys WHERE key = 'fresh'").get()).toEqual({
      job_limit: null,
    });
  });
});
