/**
 * The lean claim's plan (sql/job-claim.ts `jobClaimLean`) with fresh statistics of one big backlog: the
 * ordered ready index, never a read of every queued row and a sort. Its own schema: the plan flipped
 * on exactly this table (20,000 jobs of one queue, just analyzed) and not on claim-plan.test.ts's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import { newJob } from '../support/jobs.js';
import { cte, explainClaim, sharedBuffers } from '../support/postgres-explain.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('plan_lean');
const sql = renderStatements(`"${db.schema}"`);

beforeAll(async () => {
  for (let i = 0; i < 20; i += 1) {
    await db.store.jobInsertMany({ jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'big' })) });
  }
  await withAdmin((client) => client.query(`ANALYZE "${db.schema}".jobs, "${db.schema}".job_queue`));
});

describe('PostgreSQL claim plans, lean and full, fresh statistics', () => {
  it.each([false, true])(
    'walks the ready index in claim order (store settings %s)',
    async (storeSettings) => {
      for (const [statement, values] of [
        [sql.jobClaimLean, ['w', 100, 30_000]],
        [sql.jobClaimLeanFromQueues, ['w', 100, 30_000, ['big']]],
        [sql.jobClaim, ['w', 100, 30_000]],
        [sql.jobClaimFromQueues, ['w', 100, 30_000, ['big']]],
      ] as const) {
        const plan = await explainClaim(statement.text, [...values], { storeSettings });
        expect(plan).toMatch(/Update on jobs j_1 \(actual rows=100 loops=1\)/);
        const ready = cte(plan, 'ready');
        expect(ready).toMatch(/Index Scan using job_queue_ready(_queue)?_idx/);
        expect(ready).not.toContain('Sort');
        expect(ready).not.toContain('Bitmap Heap Scan');
        // ~1,000-1,500: each rolled-back claim before this one leaves its job rows' versions behind for the
        // next to step over (1,535 seen in CI on the eighth). Reading the backlog costs thousands more.
        expect(sharedBuffers(plan)).toBeLessThan(2_500);
      }
    },
  );
});
