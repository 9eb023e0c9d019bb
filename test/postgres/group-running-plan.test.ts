/**
 * The group list's running counts on PostgreSQL (`ns.groups`, `GET /api/v1/limits/groups`, the
 * dashboard's Limits page) come through the job_leases rows of the claims that took a grouped job
 * (migration 025). A claim's row keeps every id it claimed while any of them runs, and until the
 * rescue's next pass after that: read whole, ten claims of 500 ungrouped jobs with one job each still
 * running cost the list 5,000 primary-key lookups with no grouped job running. The plan is checked with statistics never
 * gathered, stale (taken on small tables that then grew) and fresh (autovacuum is off), with the
 * store's planner settings and without them (a connection through a pooler).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { groupList } from '../../src/store/postgres/sql/job-groups.js';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { cte, explainClaim } from '../support/postgres-explain.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';

type Statistics = 'never gathered' | 'stale' | 'fresh';

const LEASE_MS = 600_000;
const GROUPED = 500;
const STILL_RUNNING = 5;

describe.each<Statistics>(['never gathered', 'stale', 'fresh'])(
  'PostgreSQL group list running counts, statistics %s',
  (statistics) => {
    const db = migratedStore(`grouprun_${statistics.split(' ')[0] ?? ''}`);
    const s = `"${db.schema}"`;
    let grouped: ClaimedJob[] = [];

    /** Claims `jobs` from `queue` in one claim and finishes all of them but the first `keep`. */
    async function claimAndFinish(queue: string, jobs: number, keep: number): Promise<ClaimedJob[]> {
      const claimed = await db.store.jobClaim({
        workerId: 'w',
        queues: [queue],
        limit: jobs,
        leaseMs: LEASE_MS,
      });
      expect(claimed).toHaveLength(jobs);
      await db.store.jobFinishMany({
        finishes: claimed
          .slice(keep)
          .map((job) => ({ id: job.id, leaseToken: job.leaseToken, outcome: 'completed', result: null })),
      });
      return claimed;
    }

    beforeAll(async () => {
      const { store } = db;
      if (statistics === 'stale') {
        await store.jobInsertMany({ jobs: Array.from({ length: 10 }, () => newJob({ queue: 'plain' })) });
        await store.jobInsertMany({
          jobs: Array.from({ length: 10 }, (_, i) => newJob({ queue: 'tenants', group: `t${i}` })),
        });
        await claimAndFinish('plain', 10, 0);
        await claimAndFinish('tenants', 10, 0);
        await withAdmin((admin) => admin.query(`ANALYZE ${s}.jobs, ${s}.job_queue, ${s}.job_leases`));
      }
      // Ungrouped work: 5,000 jobs in ten claims, each with one job still running.
      for (let round = 0; round < 10; round += 1) {
        await store.jobInsertMany({ jobs: Array.from({ length: 500 }, () => newJob({ queue: 'plain' })) });
        await claimAndFinish('plain', 500, 1);
      }
      // Grouped work: 500 jobs in 50 groups, one claim, five still running.
      await store.jobInsertMany({
        jobs: Array.from({ length: GROUPED }, (_, i) => newJob({ queue: 'tenants', group: `g${i % 50}` })),
      });
      grouped = await claimAndFinish('tenants', GROUPED, STILL_RUNNING);
      if (statistics === 'fresh') {
        await withAdmin((admin) => admin.query(`ANALYZE ${s}.jobs, ${s}.job_queue, ${s}.job_leases`));
      }
    }, 60_000);

    const running = async () =>
      (await db.store.groupList({ limit: 100, running: true })).map((g) => [g.group, g.running]);
    const expected = () =>
      grouped
        .slice(0, STILL_RUNNING)
        .map((job) => job.id)
        .map(async (id) => (await db.store.jobGet({ id }))?.group);

    it('looks up the jobs of the grouped claim only, by primary key, never reading jobs whole', async () => {
      for (const storeSettings of [false, true]) {
        const text = cte(await explainClaim(groupList(s), ['', 50, false], { storeSettings }), 'running');
        expect(text).not.toMatch(/Seq Scan on jobs\b/);
        expect(text).toMatch(/(Index Scan using|Bitmap Index Scan on) jobs_pkey\b/);
        // The ids looked up: those of the grouped claims (500, and the stale statistics' 10), not the
        // 5,500 (or 5,520) of every claim within the lease.
        expect(/ProjectSet \(actual rows=(\d+) /.exec(text)?.[1]).toBe(
          String(GROUPED + (statistics === 'stale' ? 10 : 0)),
        );
      }
      const groups = (await Promise.all(expected())).sort();
      expect(await running()).toEqual(groups.map((group) => [group, 1]));
    });

    it('counts the running jobs of a claim whose row does not say (written before migration 025)', async () => {
      const token = grouped[0]?.leaseToken;
      const before = await running();
      expect(before).toHaveLength(STILL_RUNNING);
      await withAdmin((admin) =>
        admin.query(`UPDATE ${s}.job_leases SET grouped = NULL WHERE token = $1`, [token]),
      );
      try {
        expect(await running()).toEqual(before);
      } finally {
        await withAdmin((admin) =>
          admin.query(`UPDATE ${s}.job_leases SET grouped = true WHERE token = $1`, [token]),
        );
      }
    });

    it('marks a claim grouped when any of its jobs has a group, and only then', async () => {
      await db.store.jobInsertMany({
        jobs: [
          newJob({ queue: 'mixed' }),
          newJob({ queue: 'mixed', group: 'm1' }),
          newJob({ queue: 'mixed', group: 'm2' }),
        ],
      });
      const claimed: ClaimedJob[] = [];
      for (let claim = 0; claim < 3 && claimed.length < 3; claim += 1) {
        claimed.push(
          ...(await db.store.jobClaim({ workerId: 'w', queues: ['mixed'], limit: 3, leaseMs: LEASE_MS })),
        );
      }
      expect(claimed).toHaveLength(3);
      const { rows } = await withAdmin((admin) =>
        admin.query<{ token: string; grouped: boolean | null; groups: number }>(
          `SELECT l.token, l.grouped, count(j.group_key)::integer AS groups
           FROM ${s}.job_leases l JOIN ${s}.jobs j ON j.id = ANY(l.job_ids)
           GROUP BY l.token, l.grouped`,
        ),
      );
      // Every claim of this file: the ten ungrouped ones say false, every one holding a grouped job true.
      expect(rows.every((row) => row.grouped === row.groups > 0)).toBe(true);
      expect(rows.filter((row) => row.grouped === false).length).toBeGreaterThanOrEqual(10);
      const mixedTokens = new Set(claimed.map((job) => job.leaseToken));
      expect(rows.filter((row) => mixedTokens.has(row.token)).some((row) => row.grouped === true)).toBe(true);
      await db.store.jobFinishMany({
        finishes: claimed.map((job) => ({
          id: job.id,
          leaseToken: job.leaseToken,
          outcome: 'completed',
          result: null,
        })),
      });
    });
  },
);
