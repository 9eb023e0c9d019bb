/**
 * job_dead (PostgreSQL migration 028): the ids of exactly the failed and cancelled jobs, kept by
 * triggers on `jobs` through every statement that moves a job into or out of those states (a failure,
 * a lapse with no attempt left, a cancel of a waiting or a running job, a retry one by one or in bulk,
 * a delete, retention, a truncate), filled from the jobs already there by the migration; and the failed
 * list read from it page by page. Its plan is pinned in claim-plan.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/store/postgres/migrator.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { claimOne, failOne } from '../conformance/helpers.js';
import { newJob } from '../support/jobs.js';
import {
  dropSchema,
  migratedStore,
  TEST_PG_URL,
  uniqueSchema,
  withAdmin,
} from '../support/postgres-harness.js';

const db = migratedStore('deadjobs');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** job_dead's ids and the failed or cancelled jobs' ids, each sorted. */
async function deadIds(schema: string): Promise<{ tracked: string[]; jobs: string[] }> {
  return withAdmin(async (client) => {
    const ids = async (text: string) =>
      (await client.query<{ id: string }>(text)).rows.map((r) => r.id).sort();
    return {
      tracked: await ids(`SELECT id FROM "${schema}".job_dead`),
      jobs: await ids(`SELECT id FROM "${schema}".jobs WHERE state IN ('failed', 'cancelled')`),
    };
  });
}

async function expectTracked(expected: string[]): Promise<void> {
  const { tracked, jobs } = await deadIds(db.schema);
  expect(jobs).toEqual([...expected].sort());
  expect(tracked).toEqual(jobs);
}

describe('job_dead on PostgreSQL', () => {
  it('holds exactly the failed and cancelled jobs through every way in and out', async () => {
    const { store } = db;
    const failed = await failOne(store);
    await expectTracked([failed.id]);

    const [waiting] = await store.jobInsertMany({ jobs: [newJob()] });
    await store.jobCancel({ id: waiting?.job.id ?? '' });
    const running = await claimOne(store);
    await store.jobCancel({ id: running.id });
    await store.jobFinishMany({
      finishes: [{ id: running.id, leaseToken: running.leaseToken, outcome: 'cancelled' }],
    });
    await expectTracked([failed.id, waiting?.job.id ?? '', running.id]);

    const lapsed = await claimOne(store, { maxAttempts: 1 }, { leaseMs: 1 });
    await sleep(20);
    expect((await store.jobRescueLapsed({ limit: 10 })).failed).toEqual([lapsed.id]);
    await expectTracked([failed.id, waiting?.job.id ?? '', running.id, lapsed.id]);

    await store.jobRetry({ id: failed.id });
    expect(await store.jobRetryMatching({ match: { state: 'cancelled' }, limit: 10 })).toEqual({
      retried: 2,
    });
    await expectTracked([lapsed.id]);

    await store.jobDelete({ id: lapsed.id });
    await expectTracked([]);

    const old = await failOne(store);
    await expectTracked([old.id]);
    expect((await store.jobPrune({ olderThanMs: 0, limit: 100 })).deleted).toBeGreaterThan(0);
    await expectTracked([]);

    const again = await failOne(store);
    await expectTracked([again.id]);
    await withAdmin((client) => client.query(`TRUNCATE "${db.schema}".jobs`));
    await expectTracked([]);
  });

  it('lists the failed jobs newest first, a page at a time, with filters', async () => {
    const { store } = db;
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1)
      ids.push((await failOne(store, { task: 'listed', queue: i % 2 === 0 ? 'even' : 'odd' })).id);
    await claimOne(store);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.jobList({
        state: 'failed',
        limit: 2,
        ...(cursor !== undefined && { cursor }),
      });
      expect(page.jobs.every((job) => job.state === 'failed')).toBe(true);
      seen.push(...page.jobs.map((job) => job.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual([...ids].reverse());
    const odd = await store.jobList({ state: 'failed', task: 'listed', queue: 'odd', limit: 10 });
    expect(odd.jobs.map((job) => job.id)).toEqual([ids[3], ids[1]]);
    expect((await store.jobList({ state: 'cancelled', task: 'listed', limit: 10 })).jobs).toEqual([]);
  });

  it('is filled from the failed and cancelled jobs already there when the migration runs', async () => {
    const schema = uniqueSchema('deadupgrade');
    cleanups.push(() => dropSchema(schema));
    const migrations = loadMigrations();
    const added = migrations.find((migration) => migration.name === 'dead_jobs');
    if (added === undefined) throw new Error('no dead_jobs migration');
    await withAdmin(async (client) => {
      await migrate(client, schema, `"${schema}"`, migrations.slice(0, added.version - 1));
      await client.query(
        `INSERT INTO "${schema}".jobs (id, task, queue, payload, state, max_attempts, run_at)
         SELECT gen_random_uuid(), 't', 'q', 'null', s::"${schema}".job_state, 1, now()
         FROM unnest(ARRAY['failed', 'cancelled', 'completed', 'failed']) AS s`,
      );
    });
    const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 2 });
    cleanups.push(() => store.close());
    await store.migrate();
    const { tracked, jobs } = await deadIds(schema);
    expect(jobs).toHaveLength(3);
    expect(tracked).toEqual(jobs);
    expect((await store.jobList({ state: 'failed', limit: 10 })).jobs).toHaveLength(2);
  });
});
