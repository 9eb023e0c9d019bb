/**
 * The conformance harness for PostgresStore: one schema per opened store in the real `test` database
 * (127.0.0.1:5432, user postgres), dropped on close, or emptied for a later test of the file when it is
 * still exactly a fresh migration's (postgres-schema-pool.ts). Rows are placed with PostgreSQL's own SQL; the
 * clock of a schema's stores is moved by replacing its `nightshift_now()` (postgres-test-clock.ts).
 *
 * Route `pgbouncer` (NIGHTSHIFT_TEST_BACKEND=pgbouncer by default) opens the stores under test through
 * a PgBouncer in transaction mode started by this process (`pooler=transaction`, LISTEN direct via
 * `listen_url`); setup and cleanup still go straight to the server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import type { JobFields, StoreHarness } from './store-harness.js';
import { startPgbouncer, type Pgbouncer } from './pgbouncer.js';
import { PostgresTestClock } from './postgres-test-clock.js';
import { giveBackSchema, noteFresh, takeIdleSchema } from './postgres-schema-pool.js';

/** The test database; NIGHTSHIFT_TEST_PG overrides it. */
export const TEST_PG_URL = process.env['NIGHTSHIFT_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** How stores under test reach the server. */
export type PostgresRoute = 'direct' | 'pgbouncer';

/** The route NIGHTSHIFT_TEST_BACKEND asks for (`pgbouncer`, else direct). */
export const TEST_PG_ROUTE: PostgresRoute =
  process.env['NIGHTSHIFT_TEST_BACKEND'] === 'pgbouncer' ? 'pgbouncer' : 'direct';

// One PgBouncer per test process, started on first use; its exit hook stops it with the process.
let bouncer: Promise<Pgbouncer> | undefined;

/** The URL a store under test opens on `route`. */
export async function testStoreUrl(route: PostgresRoute): Promise<string> {
  if (route === 'direct') return TEST_PG_URL;
  const target = new URL(TEST_PG_URL);
  bouncer ??= startPgbouncer({ host: target.hostname, port: Number(target.port || 5432) });
  return (await bouncer).url(target.pathname.slice(1), TEST_PG_URL);
}

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

/**
 * After a direct write to a job's row, puts the tables that index it (migration 005) in line, as the
 * store's own statements would have: its queue row matches its state, priority and due time; its
 * claim's lease row ends no later than its lease; a final job given a finish time is logged at it.
 * $1 job id, $2 whether the finish time was written.
 */
export function resyncIndexTables(schema: string): string {
  const s = `"${schema}"`;
  return `
    WITH job AS (SELECT * FROM ${s}.jobs WHERE id = $1),
    dequeued AS (DELETE FROM ${s}.job_queue WHERE id = $1),
    queued AS (
      INSERT INTO ${s}.job_queue (id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key)
      SELECT id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key FROM job
      WHERE state IN ('queued', 'scheduled')
    ),
    leased AS (
      UPDATE ${s}.job_leases l SET expires_at = least(l.expires_at, j.lease_expires_at)
      FROM job j WHERE l.token = j.lease_token AND j.state = 'running' AND j.lease_expires_at IS NOT NULL
    ),
    logged AS (
      INSERT INTO ${s}.job_finish_log (finished_at, job_ids)
      SELECT finished_at, ARRAY[id] FROM job
      WHERE $2 AND state IN ('completed', 'failed', 'cancelled') AND finished_at IS NOT NULL
    )
    SELECT 1`;
}

/** A schema name no other test file uses: prefix, pid and randomness. */
export function uniqueSchema(prefix: string): string {
  return `t_${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Runs `fn` with a short-lived admin client on the test database. */
export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await withAdmin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** A migrated store of a test file or describe block, open during its tests (see `migratedStore`). */
export interface MigratedStore {
  readonly schema: string;
  readonly store: PostgresStore;
}

/**
 * Opens and migrates a PostgresStore in a schema of its own before the surrounding block's tests (its
 * own beforeAll hooks run after this one), and closes it and drops the schema after them.
 */
export function migratedStore(prefix: string, options: { poolSize?: number } = {}): MigratedStore {
  const schema = uniqueSchema(prefix);
  let opened: PostgresStore | undefined;
  beforeAll(async () => {
    opened = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, ...options });
    await opened.migrate();
  });
  afterAll(async () => {
    await opened?.close();
    await dropSchema(schema);
  });
  return {
    schema,
    get store() {
      if (!opened) throw new Error(`store of schema ${schema} used outside its tests`);
      return opened;
    },
  };
}

function postgresOf(store: Store): PostgresStore {
  if (!(store instanceof PostgresStore)) throw new Error('postgres harness given a store it did not open');
  return store;
}

/** A harness whose stores are PostgresStores, each in its own schema of the test database. */
export function postgresHarness(prefix = 'conf', route: PostgresRoute = TEST_PG_ROUTE): StoreHarness {
  const opened: PostgresStore[] = [];
  const schemas = new Set<string>();
  // The schemas `open` handed out (migrated), which close may give back for reuse.
  const migrated = new Set<string>();
  // One clock per schema: it keeps the shift or frozen time that later moves build on.
  const clocks = new Map<string, PostgresTestClock>();

  function clockOf(store: Store): PostgresTestClock {
    const { schema } = postgresOf(store);
    let clock = clocks.get(schema);
    if (!clock) clocks.set(schema, (clock = new PostgresTestClock(schema)));
    return clock;
  }

  async function openIn(schema: string, logger?: Logger): Promise<PostgresStore> {
    schemas.add(schema);
    const connectionString = await testStoreUrl(route);
    const store = await PostgresStore.open({
      connectionString,
      schema,
      poolSize: 4,
      ...(logger && { logger }),
    });
    opened.push(store);
    return store;
  }

  return {
    async open(options = {}) {
      const reused = takeIdleSchema(prefix);
      const store = await openIn(reused ?? uniqueSchema(prefix), options.logger);
      // On a reused schema too: the store's own migrate (a no-op there) runs as on a fresh one.
      await store.migrate();
      if (reused === undefined) await noteFresh(TEST_PG_URL, store.schema);
      migrated.add(store.schema);
      return store;
    },
    openPeer(store) {
      return openIn(postgresOf(store).schema);
    },
    openEmpty() {
      return openIn(uniqueSchema(prefix));
    },
    advanceClock(store, ms) {
      return clockOf(store).advance(ms);
    },
    freezeClock(store, at) {
      return clockOf(store).freeze(at);
    },
    async setJobFields(store, id, fields) {
      const entries = Object.entries(fields) as Array<[keyof JobFields, unknown]>;
      if (entries.length === 0) return;
      const sets = entries.map(([key], index) => `${COLUMNS[key]} = $${index + 1}`).join(', ');
      const { schema } = postgresOf(store);
      await withAdmin(async (client) => {
        await client.query('BEGIN');
        const result = await client.query(
          `UPDATE "${schema}".jobs SET ${sets} WHERE id = $${entries.length + 1}`,
          [...entries.map(([, value]) => value), id],
        );
        if (result.rowCount !== 1) throw new Error(`setJobFields: no job ${id}`);
        await client.query(resyncIndexTables(schema), [id, 'finishedAt' in fields]);
        await client.query('COMMIT');
      });
    },
    async setSchemaVersion(store, version) {
      const { schema } = postgresOf(store);
      await withAdmin((client) =>
        client.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, 'future')`, [
          version,
        ]),
      );
    },
    async close() {
      for (const store of opened.splice(0)) await store.close();
      for (const schema of schemas) {
        if (migrated.has(schema)) await giveBackSchema(TEST_PG_URL, prefix, schema, clocks.has(schema));
        else await dropSchema(schema);
      }
      schemas.clear();
      migrated.clear();
      clocks.clear();
    },
  };
}
