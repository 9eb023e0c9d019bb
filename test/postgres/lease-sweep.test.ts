/**
 * The rescue's sweep of ended claims on PostgreSQL (`jobLeaseSweep`, sql/job-maintenance.ts): a
 * claim's job_leases row goes once none of its jobs runs under it any more, at the next rescue pass,
 * not at its lease end. Reads that find running jobs through these rows (queue load, running jobs,
 * alerts) then probe the ids of the claims still running, not those of every claim within a lease.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { migratedStore, TEST_PG_URL, withAdmin } from '../support/postgres-harness.js';

const LEASE_MS = 600_000;

describe('PostgreSQL lease sweep', () => {
  const db = migratedStore('leasesweep', { poolSize: 8 });
  const s = () => `"${db.schema}"`;

  const leaseTokens = async (): Promise<string[]> =>
    withAdmin(async (admin) =>
      (await admin.query<{ token: string }>(`SELECT token FROM ${s()}.job_leases ORDER BY token`)).rows.map(
        (row) => row.token,
      ),
    );

  async function claim(queue: string, limit: number, leaseMs = LEASE_MS): Promise<ClaimedJob[]> {
    const claimed = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit, leaseMs });
    expect(claimed).toHaveLength(limit);
    return claimed;
  }

  const complete = (jobs: ClaimedJob[]) =>
    db.store.jobFinishMany({
      finishes: jobs.map((job) => ({
        id: job.id,
        leaseToken: job.leaseToken,
        outcome: 'completed' as const,
        result: null,
      })),
    });

  it('drops a claim once all its jobs ended, keeps one with a job still running, rescues nothing', async () => {
    await db.store.jobInsertMany({ jobs: Array.from({ length: 5 }, () => newJob({ queue: 'a' })) });
    const ended = await claim('a', 3);
    const partly = await claim('a', 2);
    await complete(ended);
    await complete(partly.slice(1));
    expect(await leaseTokens()).toHaveLength(2);

    expect(await db.store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [], failed: [] });
    expect(await leaseTokens()).toEqual([partly[0]?.leaseToken]);
    // The job still running is still found, and still renewed through its claim's row.
    expect((await db.store.jobRunningList({ limit: 10 })).map((job) => job.id)).toEqual([partly[0]?.id]);
    const renewed = await db.store.jobLeaseRenew({
      leases: [{ id: partly[0]?.id ?? '', leaseToken: partly[0]?.leaseToken ?? '' }],
      leaseMs: LEASE_MS,
    });
    expect(renewed.renewed.map((entry) => entry.id)).toEqual([partly[0]?.id]);

    await complete(partly.slice(0, 1));
    await db.store.jobRescueLapsed({ limit: 100 });
    expect(await leaseTokens()).toEqual([]);
    expect(await db.store.jobIdleCheck()).toBe(true);
  });

  it('finds ended claims behind more than a page of claims still running', async () => {
    // 1,001 claims of one job each, running, whose leases end before that of the claim that ended.
    const running = 1_001;
    await db.store.jobInsertMany({ jobs: Array.from({ length: running }, () => newJob({ queue: 'b' })) });
    const claims = Array.from({ length: running }, () => claim('b', 1, LEASE_MS / 2));
    await Promise.all(claims);
    await db.store.jobInsertMany({ jobs: [newJob({ queue: 'c' })] });
    const last = await claim('c', 1);
    await complete(last);
    expect(await leaseTokens()).toHaveLength(running + 1);

    await db.store.jobRescueLapsed({ limit: 100 });
    const left = await leaseTokens();
    expect(left).toHaveLength(running);
    expect(left).not.toContain(last[0]?.leaseToken);
  }, 60_000);

  it('sweeps in the store that ended the jobs: a pass of a store that ended none issues no sweep', async () => {
    const peer = await PostgresStore.open({ connectionString: TEST_PG_URL, schema: db.schema });
    try {
      await db.store.jobRescueLapsed({ limit: 100 });
      const before = await leaseTokens();
      await db.store.jobInsertMany({ jobs: [newJob({ queue: 'd' })] });
      const ended = await claim('d', 1);
      await peer.jobFinishMany({
        finishes: ended.map((job) => ({
          id: job.id,
          leaseToken: job.leaseToken,
          outcome: 'completed',
          result: null,
        })),
      });
      await db.store.jobRescueLapsed({ limit: 100 });
      expect(await leaseTokens()).toEqual([...before, ended[0]?.leaseToken].sort());
      await peer.jobRescueLapsed({ limit: 100 });
      expect(await leaseTokens()).toEqual(before);
    } finally {
      await peer.close();
    }
  });
});
