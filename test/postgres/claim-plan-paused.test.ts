/**
 * The claim with paused queues on PostgreSQL, on a table never analyzed (autovacuum is off): the plan
 * stays the ordered index scan, empty and grown, and paused queues give nothing while their due rows
 * are promoted (not claimed) and their running jobs are left alone.
 */
import { describe, expect, it } from 'vitest';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import { newJob } from '../support/jobs.js';
import { cte, explainClaim, sharedBuffers } from '../support/postgres-explain.js';
import { migratedStore } from '../support/postgres-harness.js';

const db = migratedStore('plan_paused');
const sql = renderStatements(`"${db.schema}"`);

/** The locking scans walk their index in claim order: no table scan, no sort under the lock. */
function expectIndexPlans(all: string, some: string): void {
  expect(cte(all, 'ready')).toContain('Index Scan using job_queue_ready_idx');
  expect(cte(all, 'ready')).toMatch(/Filter: .*queue <> ALL/);
  expect(cte(all, 'due')).toContain('Index Scan using job_queue_scheduled_idx');
  expect(cte(some, 'ready')).toContain('Index Scan using job_queue_ready_queue_idx');
  expect(cte(some, 'due')).toContain('Index Scan using job_queue_scheduled_queue_idx');
  for (const section of [cte(all, 'ready'), cte(all, 'due'), cte(some, 'ready'), cte(some, 'due')]) {
    expect(section).not.toMatch(/Seq Scan|Bitmap|Sort Key: job_queue/);
  }
}

describe('PostgreSQL claim with paused queues, no statistics', () => {
  it('keeps the ordered index scans on an empty table', async () => {
    await db.store.queuePause({ queue: 'big' });
    expectIndexPlans(
      await explainClaim(sql.jobClaim.text, ['w', 100, 30_000]),
      await explainClaim(sql.jobClaimFromQueues.text, ['w', 100, 30_000, ['big', 'open']]),
    );
    await db.store.queueResume({ queue: 'big' });
  });

  it('on a grown table claims only unpaused queues, by the same plans, and resumes', async () => {
    for (let i = 0; i < 5; i += 1) {
      await db.store.jobInsertMany({ jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'big' })) });
    }
    await db.store.jobInsertMany({ jobs: Array.from({ length: 5 }, () => newJob({ queue: 'open' })) });
    expect(await db.store.queuePause({ queue: 'big' })).toBe(true);
    expect(await db.store.queuePause({ queue: 'big' })).toBe(false);

    const some = await explainClaim(sql.jobClaimFromQueues.text, ['w', 100, 30_000, ['big', 'open']]);
    expectIndexPlans(await explainClaim(sql.jobClaim.text, ['w', 100, 30_000]), some);
    // The paused queue is dropped before its scan: a few pages, not its 5,000-row backlog.
    expect(sharedBuffers(some)).toBeLessThan(100);

    const fromAll = await db.store.jobClaim({ workerId: 'w', limit: 100, leaseMs: 30_000 });
    expect(fromAll.map((j) => j.queue)).toEqual(['open', 'open', 'open', 'open', 'open']);
    expect(await db.store.jobClaim({ workerId: 'w', queues: ['big'], limit: 10, leaseMs: 30_000 })).toEqual(
      [],
    );

    expect(await db.store.queueResume({ queue: 'big' })).toBe(true);
    expect(await db.store.queueResume({ queue: 'big' })).toBe(false);
    const resumed = await db.store.jobClaim({ workerId: 'w', queues: ['big'], limit: 10, leaseMs: 30_000 });
    expect(resumed).toHaveLength(10);
  });

  it('promotes the due jobs of a paused queue without claiming them', async () => {
    await db.store.queuePause({ queue: 'later' });
    const [due] = await db.store.jobInsertMany({ jobs: [newJob({ queue: 'later', delayMs: 1 })] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await db.store.jobClaim({ workerId: 'w', queues: ['later'], limit: 5, leaseMs: 30_000 })).toEqual(
      [],
    );
    const others = await db.store.jobClaim({ workerId: 'w', queues: ['none'], limit: 5, leaseMs: 30_000 });
    expect(others).toEqual([]);
    // A claim from all queues locks the due row, leaves it out, and promotes it.
    const claimed = await db.store.jobClaim({ workerId: 'w', limit: 500, leaseMs: 30_000 });
    expect(claimed.filter((j) => j.queue === 'later')).toEqual([]);
    expect((await db.store.jobGet({ id: due?.job.id ?? '' }))?.state).toBe('queued');
    await db.store.queueResume({ queue: 'later' });
    const after = await db.store.jobClaim({ workerId: 'w', queues: ['later'], limit: 5, leaseMs: 30_000 });
    expect(after.map((j) => j.id)).toEqual([due?.job.id]);
  });
});
