/**
 * Claiming under contention at the store level (reliability scenario 9): 4 processes x 8 concurrent
 * claim loops drain 10,000 ready jobs. The ledger records every attempt a claimer received, before it
 * finishes it, so a double hand-out cannot hide behind the second finish being refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { GROUPED_LEFT_CLAIM_MS } from '../../src/store/fair-turns.js';
import type { ClaimReport } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema, withAdmin } from '../support/postgres-harness.js';
import { runFixture } from './child-process.js';

const JOBS = 10_000;
const schema = uniqueSchema('contend');
let store: PostgresStore;

beforeAll(async () => {
  store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema });
  await store.migrate();
  await withAdmin((client) =>
    client.query(
      `CREATE TABLE "${schema}".ledger (job_id uuid NOT NULL, lease_token uuid NOT NULL, worker text NOT NULL)`,
    ),
  );
});

afterAll(async () => {
  await store.close();
  await dropSchema(schema);
});

describe('PostgreSQL claim contention', () => {
  it('4 processes x 8 claim loops on 10,000 jobs: each job claimed and finished exactly once', async () => {
    // Mixed priorities and queues so the claim's ordering and both ready indexes are exercised.
    const jobs = Array.from({ length: JOBS }, (_, i) => newJob({ priority: i % 3, queue: `q${i % 4}` }));
    for (let i = 0; i < JOBS; i += 1_000) await store.jobInsertMany({ jobs: jobs.slice(i, i + 1_000) });

    const children = await Promise.all(
      ['a', 'b', 'c', 'd'].map((worker) =>
        runFixture('claim-child.ts', [TEST_PG_URL, schema, worker, '8', '10']),
      ),
    );
    for (const child of children) expect(child.code, child.stderr).toBe(0);
    const handled = children.map((c) => (JSON.parse(c.stdout) as { handled: number }).handled);
    expect(handled.reduce((a, b) => a + b, 0)).toBe(JOBS);

    const stats = await withAdmin(async (client) => {
      const ledger = await client.query<{ rows: number; jobs: number; workers: number }>(
        `SELECT count(*)::int AS rows, count(DISTINCT job_id)::int AS jobs, count(DISTINCT worker)::int AS workers
         FROM "${schema}".ledger`,
      );
      const states = await client.query<{ state: string; attempt: number; n: number }>(
        `SELECT state, attempt, count(*)::int AS n FROM "${schema}".jobs GROUP BY state, attempt`,
      );
      const runs = await client.query<{ rows: number; jobs: number }>(
        `SELECT count(*)::int AS rows, count(DISTINCT job_id)::int AS jobs FROM "${schema}".job_run_history
         WHERE outcome = 'completed' AND attempt = 1`,
      );
      const mismatched = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".ledger l JOIN "${schema}".jobs j ON j.id = l.job_id
         WHERE j.worker_id <> l.worker OR j.result->>'by' <> l.worker`,
      );
      return {
        ledger: ledger.rows[0],
        states: states.rows,
        runs: runs.rows[0],
        mismatched: mismatched.rows[0],
      };
    });
    expect(stats.ledger).toEqual({ rows: JOBS, jobs: JOBS, workers: 32 });
    expect(stats.states).toEqual([{ state: 'completed', attempt: 1, n: JOBS }]);
    expect(stats.runs).toEqual({ rows: JOBS, jobs: JOBS });
    expect(stats.mismatched).toEqual({ n: 0 });
  }, 120_000);

  it('a grouped claim that finds its dealt jobs held by another claim reports ready jobs left, due now', async () => {
    // One job in each of 20 groups. Another claim holds the first 10 groups' jobs (a transaction
    // locking their queue rows, as a claim in flight does): the walk deals every group a turn, the 10
    // held are skipped, and the batch comes back short with jobs ready that the claimer must not wait
    // for new work to claim (a worker's second claim lane makes this race all the time).
    const jobs = Array.from({ length: 20 }, (_, i) => newJob({ queue: 'held', group: `g${i}` }));
    await store.jobInsertMany({ jobs });
    const reports: ClaimReport[] = [];
    const claim = () =>
      store.jobClaim({
        workerId: 'w',
        queues: ['held'],
        limit: 20,
        leaseMs: 60_000,
        report: (r) => reports.push(r),
      });
    await withAdmin(async (other) => {
      await other.query('BEGIN');
      try {
        await other.query(
          `SELECT id FROM "${schema}".job_queue WHERE queue = 'held'
           ORDER BY group_key COLLATE "C" LIMIT 10 FOR UPDATE`,
        );
        expect(await claim()).toHaveLength(10);
        expect(reports.at(-1)).toEqual({ limitsMet: false, nextDueInMs: GROUPED_LEFT_CLAIM_MS });
      } finally {
        await other.query('ROLLBACK');
      }
    });
    expect(await claim()).toHaveLength(10);
    expect(await claim()).toEqual([]);
    expect(reports.at(-1)).toEqual({ limitsMet: false, nextDueInMs: null });
  });
});
