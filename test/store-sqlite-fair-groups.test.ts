/**
 * Fair claiming by group on SqliteStore (docs/TENANCY.md): a group's backlog does not starve another
 * group, weights share the turns, priority orders jobs within a group, and the queued counts follow
 * every way a job enters or leaves the ready set. PostgreSQL refuses grouped jobs so far
 * (test/postgres/fair-groups-refused.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_READY_SELECT } from '../src/store/sqlite/sql/job-claim.js';
import { GROUP_READY_SELECT, GROUPS_READY } from '../src/store/sqlite/sql/job-groups.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { ClaimedJob, Store } from '../src/store/store.js';
import { newJob } from './support/jobs.js';
import { sqliteHarness } from './support/sqlite-harness.js';

const h = sqliteHarness();
const LEASE = { leaseMs: 30_000 };
const ROUND = 10;

afterEach(() => h.close());

async function insertMany(store: Store, count: number, group: string): Promise<void> {
  for (let done = 0; done < count; done += 5_000) {
    const n = Math.min(5_000, count - done);
    await store.jobInsertMany({ jobs: Array.from({ length: n }, () => newJob({ group, payload: null })) });
  }
}

async function claimGroups(store: Store, ids: Map<string, string>, limit = ROUND): Promise<string[]> {
  const claimed = await store.jobClaim({ workerId: 'w', limit, ...LEASE });
  return claimed.map((job) => ids.get(job.id) ?? 'none');
}

/** Inserts `count` jobs of `group`, remembering each job's group by id. */
async function insertTracked(store: Store, ids: Map<string, string>, count: number, group: string) {
  const jobs = Array.from({ length: count }, () => newJob({ group }));
  for (const job of jobs) ids.set(job.id, group);
  await store.jobInsertMany({ jobs });
}

describe('fair claiming by group (SQLite)', () => {
  it('starts all 100 of B’s jobs within 20 claims of 10 behind A’s 100,000 (bound: 40)', async () => {
    const store = await h.open();
    await insertMany(store, 100_000, 'A');
    const ids = new Map<string, string>();
    await insertTracked(store, ids, 100, 'B');
    let rounds = 0;
    let startedB = 0;
    while (startedB < 100 && rounds < 1_000) {
      const groups = await claimGroups(store, ids);
      expect(groups).toHaveLength(ROUND);
      startedB += groups.filter((g) => g === 'B').length;
      rounds += 1;
    }
    expect(startedB).toBe(100);
    // Equal weights: each claim of 10 deals B 5 turns, so 20 claims; the test allows twice that.
    expect(rounds).toBeLessThanOrEqual(40);
    expect(await store.groupList({ limit: 10 })).toEqual([
      { group: 'A', weight: 1, queued: 100_000 - (rounds * ROUND - 100) },
      { group: 'B', weight: 1, queued: 0 },
    ]);
  }, 120_000);

  it('shares the turns by weight: 2:1 weights give 2:1 starts', async () => {
    const store = await h.open();
    await store.groupSetWeight({ group: 'X', weight: 2 });
    const ids = new Map<string, string>();
    await insertTracked(store, ids, 500, 'X');
    await insertTracked(store, ids, 500, 'Y');
    const counts = { X: 0, Y: 0 };
    for (let round = 0; round < 30; round += 1) {
      for (const g of await claimGroups(store, ids)) counts[g as 'X' | 'Y'] += 1;
    }
    expect(counts.X + counts.Y).toBe(300);
    expect(counts.X).toBeGreaterThanOrEqual(190);
    expect(counts.X).toBeLessThanOrEqual(210);
    await store.groupSetWeight({ group: 'X', weight: null });
    expect((await store.groupList({ limit: 10 }))[0]).toEqual({ group: 'X', weight: 1, queued: 300 });
  });

  it('orders a group’s jobs by priority, and claims ungrouped jobs first as before', async () => {
    const store = await h.open();
    const low = newJob({ group: 'G', priority: 1 });
    const high = newJob({ group: 'G', priority: 9 });
    const plain = newJob({ priority: -5 });
    await store.jobInsertMany({ jobs: [low, high, plain] });
    const claimed = await store.jobClaim({ workerId: 'w', limit: 2, ...LEASE });
    expect(claimed.map((j) => j.id)).toEqual([plain.id, high.id]);
    expect((await store.jobClaim({ workerId: 'w', limit: 5, ...LEASE })).map((j) => j.id)).toEqual([low.id]);
  });

  it('counts a group’s queued jobs back when a job returns to the ready set or is cancelled', async () => {
    const store = await h.open();
    const jobs = [newJob({ group: 'G' }), newJob({ group: 'G' })];
    await store.jobInsertMany({ jobs });
    const [first] = (await store.jobClaim({ workerId: 'w', limit: 1, ...LEASE })) as [ClaimedJob];
    expect(await store.groupList({ limit: 10 })).toEqual([{ group: 'G', weight: 1, queued: 1 }]);
    await store.jobFinishMany({
      finishes: [{ id: first.id, leaseToken: first.leaseToken, outcome: 'released' }],
    });
    expect(await store.groupList({ limit: 10 })).toEqual([{ group: 'G', weight: 1, queued: 2 }]);
    await store.jobCancel({ id: (jobs[1] as { id: string }).id });
    expect(await store.groupList({ limit: 10 })).toEqual([{ group: 'G', weight: 1, queued: 1 }]);
  });

  it('a claimer of one queue skips groups whose jobs wait on other queues, without starving', async () => {
    const store = await h.open();
    const ids = new Map<string, string>();
    const other = Array.from({ length: 20 }, () => newJob({ group: 'O', queue: 'other' }));
    await store.jobInsertMany({ jobs: other });
    await insertTracked(store, ids, 20, 'M');
    let started = 0;
    for (let round = 0; round < 4; round += 1) {
      started += (await store.jobClaim({ workerId: 'w', queues: ['default'], limit: ROUND, ...LEASE }))
        .length;
    }
    expect(started).toBe(20);
  });
});

describe('fair claiming plans (SQLite), with one huge group', () => {
  it('reads ready groups by job_groups_ready and a group’s jobs by jobs_ready_group, without a sort', async () => {
    const store = (await h.open()) as SqliteStore;
    await insertMany(store, 20_000, 'huge');
    await store.jobInsertMany({ jobs: [newJob({ group: 'small' }), newJob()] });
    store.database.exec('ANALYZE');
    const plan = (sql: string, params: Record<string, unknown>): string =>
      (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>)
        .map((row) => row.detail)
        .join('\n');
    const groups = plan(GROUPS_READY, { limit: 10 });
    expect(groups).toMatch(/SCAN job_groups USING INDEX job_groups_ready/);
    expect(groups).not.toMatch(/TEMP B-TREE/);
    const jobs = plan(GROUP_READY_SELECT, { group: 'huge', now: 0, queues: null, limit: 10 });
    expect(jobs).toMatch(/SEARCH jobs USING INDEX jobs_ready_group \(group_key=\?\)/);
    expect(jobs).not.toMatch(/TEMP B-TREE|SCAN jobs\b/);
    // The ungrouped walk no longer holds the huge group's rows.
    const plain = plan(JOB_READY_SELECT, { now: Date.now() + 1_000, limit: 10 });
    expect(plain).toMatch(/SCAN jobs USING INDEX jobs_ready\b/);
    expect(store.database.prepare(JOB_READY_SELECT).all({ now: Date.now() + 1_000, limit: 10 }).length).toBe(
      1,
    );
  }, 60_000);
});
