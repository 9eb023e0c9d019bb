/**
 * The migration that gives worker rows their tasks (SQLite 020, PostgreSQL 026, both
 * `worker_tasks`): a row a worker wrote before it (one still running an older nightshift) keeps its
 * other columns and reads as implementing no task, and a registration afterwards writes its tasks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations as loadPostgresMigrations, migrate } from '../src/store/postgres/migrator.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { applyMigration, loadMigrations as loadSqliteMigrations } from '../src/store/sqlite/migrator.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from './support/postgres-harness.js';
import { tempSqliteFile } from './support/temp-sqlite.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The version before the migration that adds `workers.tasks`, found by its name on each backend. */
function versionBefore(migrations: ReadonlyArray<{ version: number; name: string }>): number {
  const added = migrations.find((migration) => migration.name === 'worker_tasks');
  if (added === undefined) throw new Error('no worker_tasks migration');
  return added.version - 1;
}

/** After the upgrade: the old row reads with no tasks, and a registration writes them. */
async function expectOldRowWithoutTasks(store: Store, from: number, latest: number): Promise<void> {
  expect(await store.migrate()).toEqual({ from, to: latest });
  expect(await store.workerList({ staleMs: 60_000 })).toMatchObject([
    { id: 'old', host: 'h', pid: 7, queues: ['q'], labels: ['gpu'], tasks: [], concurrency: 3, running: 1 },
  ]);
  await store.workerRegister({
    id: 'old',
    host: 'h',
    pid: 7,
    queues: ['q'],
    labels: ['gpu'],
    tasks: ['email.send'],
    concurrency: 3,
    running: 0,
    staleMs: 30_000,
  });
  expect((await store.workerList({ staleMs: 60_000 }))[0]?.tasks).toEqual(['email.send']);
}

describe('worker rows written before workers.tasks existed', () => {
  it('SQLite: read as implementing no task after the upgrade', async () => {
    const file = tempSqliteFile();
    const store = await SqliteStore.open({ filename: file.path });
    cleanups.push(async () => {
      await store.close();
      file.remove();
    });
    const migrations = loadSqliteMigrations();
    const before = versionBefore(migrations);
    const db = store.database;
    for (const migration of migrations.slice(0, before)) {
      db.transaction(() => applyMigration(db, migration, Date.now())).immediate();
    }
    // The row as the registration of that version wrote it.
    db.prepare(
      `INSERT INTO workers (id, host, pid, queues, concurrency, running, started_at, heartbeat_at, labels)
       VALUES ('old', 'h', 7, '["q"]', 3, 1, ?, ?, '["gpu"]')`,
    ).run(Date.now(), Date.now());
    await expectOldRowWithoutTasks(store, before, migrations.length);
  });

  it('PostgreSQL: read as implementing no task after the upgrade', async () => {
    const schema = uniqueSchema('workertasks');
    cleanups.push(() => dropSchema(schema));
    const migrations = loadPostgresMigrations();
    const before = versionBefore(migrations);
    await withAdmin(async (client) => {
      await migrate(client, schema, `"${schema}"`, migrations.slice(0, before));
      await client.query(
        `INSERT INTO "${schema}".workers (id, host, pid, queues, concurrency, running, labels)
         VALUES ('old', 'h', 7, '{q}', 3, 1, '{gpu}')`,
      );
    });
    const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
    cleanups.push(() => store.close());
    await expectOldRowWithoutTasks(store, before, migrations.length);
  });
});
