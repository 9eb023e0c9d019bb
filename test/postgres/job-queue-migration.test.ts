/**
 * Migration 005: the ready set, the leases and the retention order move out of `jobs` into job_queue,
 * job_leases and job_finish_log. A database at version 4 with jobs in every state keeps working after
 * the upgrade: its waiting jobs are claimable or cancellable, a lapsed running attempt is rescued while
 * its claim-mate still holds its lease, and its old finished jobs are pruned.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { loadMigrations, migrate } from '../../src/store/postgres/migrator.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';

const schemas: string[] = [];
const stores: PostgresStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

describe('job_queue, job_leases and job_finish_log (migration 005)', () => {
  it('upgrades a version-4 database with jobs in every state', async () => {
    const schema = uniqueSchema('queue005');
    schemas.push(schema);
    await withAdmin((client) => migrate(client, schema, `"${schema}"`, loadMigrations().slice(0, 4)));
    const [queued, scheduled, lapsed, held, oldDone, newDone, failed] = [
      uuidv7(),
      uuidv7(),
      uuidv7(),
      uuidv7(),
      uuidv7(),
      uuidv7(),
      uuidv7(),
    ];
    const token = uuidv7();
    await withAdmin((client) =>
      client.query(
        `INSERT INTO "${schema}".jobs (id, task, queue, payload, state, max_attempts, run_at, attempt,
                                       worker_id, started_at, finished_at, lease_token, lease_expires_at)
         VALUES
           ($1, 't', 'q', 'null', 'queued', 3, now() - interval '1 minute', 0, NULL, NULL, NULL, NULL, NULL),
           ($2, 't', 'q', 'null', 'scheduled', 3, now() + interval '1 hour', 0, NULL, NULL, NULL, NULL, NULL),
           ($3, 't', 'q', 'null', 'running', 3, now() - interval '1 minute', 1, 'w', now(), NULL, $8,
            now() - interval '1 second'),
           ($4, 't', 'q', 'null', 'running', 3, now() - interval '1 minute', 1, 'w', now(), NULL, $8,
            now() + interval '1 hour'),
           ($5, 't', 'q', 'null', 'completed', 3, now() - interval '3 hours', 1, 'w', now(),
            now() - interval '2 hours', NULL, NULL),
           ($6, 't', 'q', 'null', 'completed', 3, now(), 1, 'w', now(), now(), NULL, NULL),
           ($7, 't', 'q', 'null', 'failed', 3, now() - interval '3 hours', 3, 'w', now(),
            now() - interval '2 hours', NULL, NULL)`,
        [queued, scheduled, lapsed, held, oldDone, newDone, failed, token],
      ),
    );

    const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
    stores.push(store);
    expect(await store.migrate()).toEqual({ from: 4, to: loadMigrations().length });

    const catalog = await withAdmin(async (client) => {
      const indexes = await client.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs' ORDER BY indexname`,
        [schema],
      );
      const options = await client.query<{ reloptions: string[] | null }>(
        `SELECT reloptions FROM pg_class WHERE oid = '"${schema}".jobs'::regclass`,
      );
      return { indexes: indexes.rows.map((r) => r.indexname), options: options.rows[0]?.reloptions };
    });
    // No index of jobs covers a column a claim or a finish writes.
    expect(catalog).toEqual({
      indexes: ['jobs_idempotency_key_idx', 'jobs_pkey'],
      options: ['fillfactor=40'],
    });

    const claimed = await store.jobClaim({ workerId: 'w2', limit: 10, leaseMs: 30_000 });
    expect(claimed.map((j) => j.id)).toEqual([queued]);
    expect(await store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [lapsed], failed: [] });
    expect((await store.jobGet({ id: held }))?.state).toBe('running');
    expect(await store.jobPrune({ olderThanMs: 3_600_000, limit: 10 })).toEqual({ deleted: 2 });
    expect(await store.jobGet({ id: oldDone })).toBeUndefined();
    expect(await store.jobGet({ id: failed })).toBeUndefined();
    expect((await store.jobGet({ id: newDone }))?.state).toBe('completed');
    expect((await store.jobCancel({ id: scheduled })).outcome).toBe('cancelled');
    // The rescued job is claimable again; the cancelled one is not.
    expect((await store.jobClaim({ workerId: 'w2', limit: 10, leaseMs: 30_000 })).map((j) => j.id)).toEqual([
      lapsed,
    ]);
  });

  it('claims, cancels and prunes in a database that publishes its tables for logical replication', async () => {
    const schema = uniqueSchema('queue005pub');
    schemas.push(schema);
    const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
    stores.push(store);
    await store.migrate();
    const publication = `pub_${schema}`;
    await withAdmin((client) =>
      client.query(
        `CREATE PUBLICATION "${publication}" FOR TABLE "${schema}".job_queue, "${schema}".job_finish_log, "${schema}".job_runs,
         "${schema}".jobs, "${schema}".job_steps`,
      ),
    );
    try {
      const [first, second] = await store.jobInsertMany({ jobs: [newJob(), newJob()] });
      expect((await store.jobCancel({ id: second?.job.id ?? '' })).outcome).toBe('cancelled');
      const [claimed] = await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 });
      expect(claimed?.id).toBe(first?.job.id);
      await store.jobFinishMany({
        finishes: [{ id: claimed?.id ?? '', leaseToken: claimed?.leaseToken ?? '', outcome: 'completed' }],
      });
      expect(await store.jobPrune({ olderThanMs: 0, limit: 10 })).toEqual({ deleted: 2 });
    } finally {
      await withAdmin((client) => client.query(`DROP PUBLICATION "${publication}"`));
    }
  });
});
