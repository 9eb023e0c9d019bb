/**
 * Migration 004: `jobs.state` from text with a CHECK to an enum. A database already at version 3 keeps
 * every job in its state, its partial indexes (recreated over the enum) and the run-history view, and
 * the store reads and writes the same state words as before.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { JOB_STATES, type JobState } from '../../src/job.js';
import { loadMigrations, migrate } from '../../src/store/postgres/migrator.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import {
  dropSchema,
  resyncIndexTables,
  TEST_PG_URL,
  uniqueSchema,
  withAdmin,
} from '../support/postgres-harness.js';

const schemas: string[] = [];
const stores: PostgresStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

async function openStore(schema: string): Promise<PostgresStore> {
  const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
  stores.push(store);
  return store;
}

describe('jobs.state as an enum (migration 004)', () => {
  it('converts a version-3 database: every state kept, indexes and the run-history view rebuilt', async () => {
    const schema = uniqueSchema('enum');
    schemas.push(schema);
    await withAdmin((client) => migrate(client, schema, `"${schema}"`, loadMigrations().slice(0, 3)));
    const ids = Object.fromEntries(JOB_STATES.map((state) => [state, uuidv7()])) as Record<JobState, string>;
    await withAdmin((client) =>
      client.query(
        `INSERT INTO "${schema}".jobs (id, task, queue, payload, state, max_attempts, run_at, attempt,
                                       worker_id, started_at, finished_at)
         SELECT id, 't', 'q', 'null', state, 3,
                now() + CASE state WHEN 'scheduled' THEN interval '1 hour' ELSE interval '-1 minute' END,
                1, 'w', now(), now()
         FROM unnest($1::uuid[], $2::text[]) AS i(id, state)`,
        [Object.values(ids), Object.keys(ids)],
      ),
    );

    // Migration 004 alone; the catalog below is its result (005 then moves the partial indexes out).
    await withAdmin((client) => migrate(client, schema, `"${schema}"`, loadMigrations().slice(0, 4)));
    const store = await openStore(schema);

    // Read from the row: the store's reads need the store's clock, which a later migration (016) adds.
    const kept = await withAdmin((client) =>
      client.query<{ id: string; state: JobState }>(`SELECT id, state FROM "${schema}".jobs`),
    );
    expect(Object.fromEntries(kept.rows.map((row) => [row.state, row.id]))).toEqual(ids);
    const catalog = await withAdmin(async (client) => {
      const column = await client.query<{ type: string }>(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
         WHERE attrelid = '"${schema}".jobs'::regclass AND attname = 'state'`,
      );
      const checks = await client.query(
        `SELECT 1 FROM pg_constraint WHERE conrelid = '"${schema}".jobs'::regclass AND contype = 'c'`,
      );
      const indexes = await client.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs' ORDER BY indexname`,
        [schema],
      );
      return {
        type: column.rows[0]?.type,
        checks: checks.rowCount,
        indexes: indexes.rows.map((r) => r.indexname),
      };
    });
    expect(catalog).toEqual({
      type: `${schema}.job_state`,
      checks: 0,
      indexes: [
        'jobs_finished_idx',
        'jobs_idempotency_key_idx',
        'jobs_lease_idx',
        'jobs_pkey',
        'jobs_ready_idx',
        'jobs_ready_queue_idx',
        'jobs_scheduled_idx',
      ],
    });
    // The view's implied run of a completed job, read through the store.
    expect((await store.jobRunList({ jobId: ids.completed })).map((r) => r.outcome)).toEqual(['completed']);
    // And the store, migrated the rest of the way, claims the one queued job.
    expect(await store.migrate()).toEqual({ from: 4, to: loadMigrations().length });
    const claimed = await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 });
    expect(claimed.map((j) => j.id)).toEqual([ids.queued]);
    expect((await store.jobList({ limit: 10, state: 'running' })).jobs.map((j) => j.id).sort()).toEqual(
      [ids.queued, ids.running].sort(),
    );
  });

  it('admits only the six states, and a filter on a word that is no state lists nothing', async () => {
    const schema = uniqueSchema('enum');
    schemas.push(schema);
    const store = await openStore(schema);
    await store.migrate();
    const id = uuidv7();
    await withAdmin(async (client) => {
      await client.query(
        `INSERT INTO "${schema}".jobs (id, task, queue, payload, state, max_attempts, run_at)
         VALUES ($1, 't', 'q', 'null', 'queued', 3, now())`,
        [id],
      );
      await client.query(resyncIndexTables(schema), [id, false]);
    });
    await expect(
      withAdmin((client) => client.query(`UPDATE "${schema}".jobs SET state = 'paused' WHERE id = $1`, [id])),
    ).rejects.toMatchObject({ code: '22P02' });
    expect((await store.jobList({ limit: 10, state: 'paused' as JobState })).jobs).toEqual([]);
    expect((await store.jobList({ limit: 10, state: 'queued' })).jobs.map((j) => j.id)).toEqual([id]);
  });
});
