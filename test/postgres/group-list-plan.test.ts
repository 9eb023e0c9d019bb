/**
 * The plan of the group list (`ns.groups`, `GET /api/v1/limits/groups`, the dashboard's Limits page)
 * on PostgreSQL with no statistics (autovacuum off, never analysed, as a fresh database is), with the
 * store's planner settings and without them (a connection through a pooler): its ready jobs come from
 * job_queue through the grouped ready indexes and the due end of job_queue_scheduled_idx, never from
 * `jobs` (the history) and never from the jobs due later, however many wait.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PLANNER_SETTINGS } from '../../src/store/postgres/pool.js';
import { groupList } from '../../src/store/postgres/sql/job-groups.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('groupplan');
const s = `"${db.schema}"`;
const DUE = 40;

beforeAll(async () => {
  const { store } = db;
  // History: 3,000 finished grouped jobs.
  for (let round = 0; round < 3; round += 1) {
    await store.jobInsertMany({
      jobs: Array.from({ length: 1_000 }, (_, i) => newJob({ queue: 'done', group: `t${i % 100}` })),
    });
    const claimed = await store.jobClaim({ workerId: 'w', queues: ['done'], limit: 1_000, leaseMs: 60_000 });
    await store.jobFinishMany({
      finishes: claimed.map((job) => ({ id: job.id, leaseToken: job.leaseToken, outcome: 'completed' })),
    });
  }
  // Waiting: 1,000 queued in 100 groups (a fifth requiring labels), 5,000 due in an hour.
  await store.jobInsertMany({
    jobs: Array.from({ length: 1_000 }, (_, i) =>
      newJob({ queue: 'ready', group: `t${i % 100}`, requires: i % 5 === 0 ? ['gpu'] : null }),
    ),
  });
  const later = new Date(Date.now() + 3_600_000);
  for (let round = 0; round < 5; round += 1) {
    await store.jobInsertMany({
      jobs: Array.from({ length: 1_000 }, (_, i) =>
        newJob({ queue: 'later', group: `t${i % 100}`, runAt: later }),
      ),
    });
  }
  // Due now, not yet promoted by a claim: retries whose backoff ended, delayed jobs whose time came.
  const due = Array.from({ length: DUE }, () => newJob({ queue: 'due', group: 'due', runAt: later }));
  await store.jobInsertMany({ jobs: due });
  await withAdmin(async (client) => {
    for (const table of ['jobs', 'job_queue']) {
      await client.query(`UPDATE ${s}.${table} SET run_at = now() - interval '1 minute' WHERE id = ANY($1)`, [
        due.map((job) => job.id),
      ]);
    }
  });
});

/** The plan of the group list as it runs, under `settings` when given. */
async function plan(settings: string): Promise<string> {
  return withAdmin(async (client) => {
    if (settings !== '') await client.query(settings);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${groupList(s)}`,
      ['', 50, false],
    );
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describe('PostgreSQL group list plan without statistics', () => {
  it('counts ready jobs, due scheduled ones included, from job_queue by its indexes, never the jobs due later', async () => {
    for (const settings of ['', PLANNER_SETTINGS]) {
      const text = await plan(settings);
      expect(text).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
      expect(text).toMatch(/job_queue_ready_group_idx/);
      expect(text).toMatch(/job_queue_ready_group_labels_idx/);
      // The due jobs are the range of the scheduled index up to now: 40 rows, not the 5,000 later ones.
      expect(text).toMatch(
        new RegExp(`Index Scan (using|on) job_queue_scheduled_idx\\b[^\\n]*\\(actual rows=${DUE} loops=1\\)`),
      );
    }
    const groups = await db.store.groupList({ limit: 200 });
    expect(groups.find((g) => g.group === 'due')).toEqual({
      group: 'due',
      weight: 1,
      queued: DUE,
      running: 0,
    });
    expect(groups.find((g) => g.group === 't0')).toEqual({ group: 't0', weight: 1, queued: 10, running: 0 });
    expect(groups.reduce((n, g) => n + g.queued, 0)).toBe(1_000 + DUE);
  });
});
