/**
 * The claim with concurrency keys (and rates) on PostgreSQL, on tables never analyzed (autovacuum is off): the
 * locking scans stay ordered index scans with one huge key, its key is probed by primary key, the
 * cost of a full key's rows ahead of the claimable ones is what the docs state, and the re-check of a
 * key whose jobs share a limit reads nothing more than the key's row.
 */
import { describe, expect, it } from 'vitest';
import { concurrencyKeySetLimit } from '../../src/store/postgres/sql/concurrency-limits.js';
import { concurrencyKeySetRate } from '../../src/store/postgres/sql/rate-limits.js';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import type { ClaimReport } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { cte, explainClaim, sharedBuffers } from '../support/postgres-explain.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('plan_keys');
const sql = renderStatements(`"${db.schema}"`);
const LEASE = { leaseMs: 30_000 };

function expectIndexPlans(all: string, some: string): void {
  expect(cte(all, 'ready')).toContain('Index Scan using job_queue_ready_idx');
  expect(cte(some, 'ready')).toContain('Index Scan using job_queue_ready_queue_idx');
  for (const plan of [all, some]) {
    const ready = cte(plan, 'ready');
    // A keyed row's key is one probe of concurrency_keys' primary key.
    expect(ready).toContain('Index Scan using concurrency_keys_pkey');
    expect(ready).not.toMatch(/Seq Scan|Bitmap|Sort Key: job_queue/);
    expect(cte(plan, 'slots')).not.toMatch(/Seq Scan on concurrency_keys/);
  }
}

describe('PostgreSQL claim with concurrency keys, no statistics', () => {
  it('keeps the ordered index scans on an empty table', async () => {
    expectIndexPlans(
      await explainClaim(sql.jobClaim.text, ['w', 100, 30_000]),
      await explainClaim(sql.jobClaimFromQueues.text, ['w', 100, 30_000, ['q']]),
    );
  });

  it('with one huge full key ahead of the rest: same plans, one of its jobs runs, the rest are claimed', async () => {
    for (let i = 0; i < 20; i += 1) {
      await db.store.jobInsertMany({
        jobs: Array.from({ length: 1_000 }, () =>
          newJob({ queue: 'q', priority: 9, concurrencyKey: 'whale' }),
        ),
      });
    }
    await db.store.jobInsertMany({ jobs: Array.from({ length: 50 }, () => newJob({ queue: 'q' })) });

    // The key is not full yet when the scan runs: its first 20 rows fill the batch, one fits.
    const first = await db.store.jobClaim({ workerId: 'w', queues: ['q'], limit: 20, ...LEASE });
    expect(first.map((j) => j.concurrencyKey)).toEqual(['whale']);

    const all = await explainClaim(sql.jobClaim.text, ['w', 20, 30_000]);
    const some = await explainClaim(sql.jobClaimFromQueues.text, ['w', 20, 30_000, ['q']]);
    expectIndexPlans(all, some);
    // The caveat the docs state: the full key's 19,999 rows ahead of the others are walked past (its
    // key probed for each), at every claim while the key stays full.
    expect(cte(some, 'ready')).toMatch(/Rows Removed by Filter: 19999/);
    expect(sharedBuffers(some)).toBeGreaterThan(100);

    const next = await db.store.jobClaim({ workerId: 'w', queues: ['q'], limit: 100, ...LEASE });
    expect(next.map((j) => j.concurrencyKey)).toEqual(Array.from({ length: 50 }, () => null));
    expect(await db.store.concurrencyKeyList({ limit: 10, running: true })).toEqual([
      { key: 'whale', running: 1, limit: 1, operatorLimit: null, rate: null },
    ]);
  });

  it('with a rated key and a rated queue out of starts: same plans, their rows skipped, the rest claimed', async () => {
    const rate = { limit: 1, periodMs: 600_000 };
    await db.store.concurrencyKeySetRate({ key: 'paced', rate });
    await db.store.queueSetRate({ queue: 'slow', rate });
    await db.store.jobInsertMany({
      jobs: [
        ...Array.from({ length: 500 }, () =>
          newJob({ queue: 'r', priority: 9, concurrencyKey: 'paced', concurrencyLimit: 1_000 }),
        ),
        ...Array.from({ length: 500 }, () => newJob({ queue: 'slow', priority: 9 })),
        ...Array.from({ length: 10 }, () => newJob({ queue: 'r' })),
      ],
    });
    // Each rate allows one start, then its rows are skipped.
    const first = await db.store.jobClaim({ workerId: 'w', queues: ['r', 'slow'], limit: 2, ...LEASE });
    expect(first.map((j) => j.queue).sort()).toEqual(['r', 'slow']);

    const all = await explainClaim(sql.jobClaim.text, ['w', 20, 30_000]);
    const some = await explainClaim(sql.jobClaimFromQueues.text, ['w', 20, 30_000, ['r', 'slow']]);
    expectIndexPlans(all, some);

    const next = await db.store.jobClaim({ workerId: 'w', queues: ['r', 'slow'], limit: 100, ...LEASE });
    expect(next.map((j) => j.queue)).toEqual(Array.from({ length: 10 }, () => 'r'));

    // A short claim reports when the rates allow starts again: the rated keys are found through their
    // own index, not by reading the row of every key (5,000 more here), on every claim statement. With
    // the store's planner settings: without them (a pooler whose role lacks them, which the store
    // warns about) a never-analyzed keys table is read whole, the planner taking most keys for rated.
    await withAdmin((admin) =>
      admin.query(
        `INSERT INTO "${db.schema}".concurrency_keys (key, in_use, job_limit)
         SELECT 'tenant:' || n, 0, 1 FROM generate_series(1, 5000) AS n`,
      ),
    );
    for (const [statement, values] of [
      [sql.jobClaim, ['w', 100, 30_000]],
      [sql.jobClaimFromQueues, ['w', 100, 30_000, ['r', 'slow']]],
      [sql.jobClaimLean, ['w', 100, 30_000]],
      [sql.jobClaimLeanFromQueues, ['w', 100, 30_000, ['r', 'slow']]],
    ] as const) {
      const plan = await explainClaim(statement.text, [...values], { storeSettings: true });
      expect(plan).toContain('concurrency_keys_rated_idx');
      expect(plan).not.toMatch(/Seq Scan on concurrency_keys/);
    }
    const reports: ClaimReport[] = [];
    await db.store.jobClaim({ workerId: 'w', limit: 100, ...LEASE, report: (r) => reports.push(r) });
    // The next start either rate allows: 600 s after its first.
    expect(reports[0]?.nextDueInMs).toBeGreaterThan(590_000);
    expect(reports[0]?.nextDueInMs).toBeLessThanOrEqual(600_000);
  });

  it('re-checks keys whose jobs share a limit without reading the claimed jobs again; jobs of different limits once per key', async () => {
    const keyed = (key: string, concurrencyLimit: number, queue = 'u') =>
      newJob({ queue, concurrencyKey: key, concurrencyLimit });
    await db.store.jobInsertMany({
      jobs: Array.from({ length: 200 }, (_, i) => keyed(`shared:${i % 100}`, 3)),
    });
    // The keys' rows exist once a claim took one of their jobs: the next claim's slots are updates.
    expect(await db.store.jobClaim({ workerId: 'w', queues: ['u'], limit: 100, ...LEASE })).toHaveLength(100);
    const shared = cte(await explainClaim(sql.jobClaimFromQueues.text, ['w', 100, 30_000, ['u']]), 'slots');
    expect(shared).toContain('Conflicting Tuples: 100');
    expect(shared).toMatch(/SubPlan \d+\n\s+-> {2}Aggregate \(never executed\)/);

    // A row without an operator's limit: the slots' re-check reads the jobs' own limits.
    await db.store.concurrencyKeySetLimit({ key: 'mixed', limit: 5 });
    await db.store.concurrencyKeySetLimit({ key: 'mixed', limit: null });
    await db.store.jobInsertMany({ jobs: [1, 3, 3].map((limit) => keyed('mixed', limit, 'v')) });
    const mixed = cte(await explainClaim(sql.jobClaimFromQueues.text, ['w', 100, 30_000, ['v']]), 'slots');
    expect(mixed).toContain('Conflicting Tuples: 1');
    expect(mixed).toMatch(/SubPlan \d+\n\s+-> {2}Aggregate \(actual rows=1 loops=1\)/);
  });

  it("an operator's limit or rate on a key reads no job", async () => {
    // Setting a limit looked up a queued job of the key for the row's limit, reading job_queue
    // sequentially (every waiting row) at each call.
    const s = `"${db.schema}"`;
    for (const storeSettings of [false, true]) {
      for (const [text, values] of [
        [concurrencyKeySetLimit(s), ['fresh', 5]],
        [concurrencyKeySetRate(s), ['fresh', 5, 1_000]],
      ] as const) {
        expect(await explainClaim(text, [...values], { storeSettings })).not.toContain('job_queue');
      }
    }
  });
});
