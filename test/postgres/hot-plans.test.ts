/**
 * Every hot statement on PostgreSQL reaches `jobs` and the tables that index it through an index, with
 * statistics never gathered, stale (taken on a small table that then grew) or fresh (autovacuum is off).
 *
 * The store's connections plan with its settings (PLANNER_SETTINGS). Its named statements are planned
 * once per connection and the plan kept: here that generic plan is made while the tables are empty or
 * small, as on a worker that starts before the backlog arrives, and then run against the grown tables
 * (issue 18: such plans read all of `jobs` on every claim and completion). The other statements are
 * planned per call, so they are explained as they run.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANNER_SETTINGS } from '../../src/store/postgres/pool.js';
import * as events from '../../src/store/postgres/sql/events.js';
import * as fleet from '../../src/store/postgres/sql/fleet.js';
import { renderStatements, type Statement } from '../../src/store/postgres/sql/statements.js';
import { groupCursorKey } from '../../src/store/fair-turns.js';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import {
  cte,
  explainClaim,
  logNestedPlans,
  nestedPlans,
  sharedBuffers,
} from '../support/postgres-explain.js';
import { migratedStore, TEST_PG_URL, withAdmin } from '../support/postgres-harness.js';

type Statistics = 'never gathered' | 'stale' | 'fresh';

/**
 * Grows the store's tables: 20,000 queued in `big`, 5 in `rare`, 4,000 running, 2,000 completed,
 * 5,000 queued in `big` requiring `gpu` and 5 in `rare` requiring `region:eu` (worker labels); in
 * `tenants`, one huge group of 10,000 queued jobs and a small one of 60; in `many`, 1,000 groups of 2;
 * in `labelled`, 1,000 groups of one job requiring `gpu`, the first 150 of them with 20 jobs ahead (by
 * priority) requiring `region:us`, which the walk's worker does not offer.
 */
async function grow(store: ReturnType<typeof migratedStore>['store']): Promise<ClaimedJob[]> {
  for (let i = 0; i < 20; i += 1) {
    await store.jobInsertMany({ jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'big' })) });
  }
  await store.jobInsertMany({ jobs: Array.from({ length: 5 }, () => newJob({ queue: 'rare' })) });
  for (let i = 0; i < 5; i += 1) {
    await store.jobInsertMany({
      jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'big', priority: 9, requires: ['gpu'] })),
    });
  }
  await store.jobInsertMany({
    jobs: Array.from({ length: 5 }, () => newJob({ queue: 'rare', requires: ['region:eu'] })),
  });
  const running: ClaimedJob[] = [];
  for (let i = 0; i < 6; i += 1) {
    running.push(
      ...(await store.jobClaim({ workerId: 'w', queues: ['big'], limit: 1_000, leaseMs: 600_000 })),
    );
  }
  const done = running.splice(0, 2_000);
  for (let i = 0; i < done.length; i += 100) {
    await store.jobFinishMany({
      finishes: done
        .slice(i, i + 100)
        .map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const, result: 1 })),
    });
  }
  await store.jobInsertMany({ jobs: Array.from({ length: 20 }, () => newJob({ queue: 'lapsing' })) });
  await store.jobClaim({ workerId: 'w', queues: ['lapsing'], limit: 20, leaseMs: 1 });
  await store.workerRegister({
    id: 'w',
    host: 'h',
    pid: 1,
    queues: null,
    labels: [],
    tasks: [],
    concurrency: 10,
    running: 0,
    staleMs: 30_000,
  });
  for (let i = 0; i < 10; i += 1) {
    await store.jobInsertMany({
      jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'tenants', group: 'huge' })),
    });
  }
  await store.jobInsertMany({
    jobs: Array.from({ length: 60 }, () => newJob({ queue: 'tenants', group: 'small' })),
  });
  for (let i = 0; i < 2; i += 1) {
    await store.jobInsertMany({
      jobs: Array.from({ length: 1_000 }, (_, n) => newJob({ queue: 'many', group: `g${n}` })),
    });
  }
  await store.jobInsertMany({
    jobs: Array.from({ length: 1_000 }, (_, n) =>
      newJob({ queue: 'labelled', group: `g${n}`, requires: ['gpu'] }),
    ),
  });
  // The first pairs of the walk in (queue, group) order, each with 20 jobs it may not take ahead of it.
  const first = Array.from({ length: 1_000 }, (_, n) => `g${n}`)
    .sort()
    .slice(0, 150);
  await store.jobInsertMany({
    jobs: first.flatMap((group) =>
      Array.from({ length: 20 }, () =>
        newJob({ queue: 'labelled', group, requires: ['region:us'], priority: 5 }),
      ),
    ),
  });
  return running;
}

describe.each<Statistics>(['never gathered', 'stale', 'fresh'])(
  'PostgreSQL hot statements, statistics %s',
  (statistics) => {
    const db = migratedStore(`hot_${statistics.split(' ')[0] ?? ''}`);
    const s = `"${db.schema}"`;
    const sql = renderStatements(s);
    // Planned once, kept: the store's named statements.
    const named: Record<string, Statement> = {
      jobClaimLean: sql.jobClaimLean,
      jobClaimLeanFromQueues: sql.jobClaimLeanFromQueues,
      jobClaim: sql.jobClaim,
      jobClaimFromQueues: sql.jobClaimFromQueues,
      jobClaimLabeled: sql.jobClaimLabeled,
      jobClaimFromQueuesLabeled: sql.jobClaimFromQueuesLabeled,
      jobClaimGrouped: sql.jobClaimGrouped,
      jobClaimGroupedFromQueues: sql.jobClaimGroupedFromQueues,
      jobClaimGroupedLean: sql.jobClaimGroupedLean,
      jobClaimGroupedLeanFromQueues: sql.jobClaimGroupedLeanFromQueues,
      jobClaimGroupedLabeled: sql.jobClaimGroupedLabeled,
      jobClaimGroupedFromQueuesLabeled: sql.jobClaimGroupedFromQueuesLabeled,
      jobFinishManyComplete: sql.jobFinishManyComplete,
      jobFinishManyCompleteNoLimits: sql.jobFinishManyCompleteNoLimits,
      jobInsertMany: sql.jobInsertMany,
      jobInsertManyFenced: sql.jobInsertManyFenced,
      jobGet: sql.jobGet,
      jobCheckpointSave: sql.jobCheckpointSave,
      jobRescueLapsed: sql.jobRescueLapsed,
      jobIdleCheck: sql.jobIdleCheck,
      jobLeaseSweep: sql.jobLeaseSweep,
    };
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    let running: ClaimedJob[] = [];
    let queuedId = '';
    let groupedId = '';
    let labelledGroupedId = '';

    /** EXPLAIN ANALYZE of `text`, or of the kept plan of a named statement, in a rolled-back transaction. */
    async function explain(key: string, text: string, values: unknown[]): Promise<string> {
      const options = 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)';
      await client.query('BEGIN');
      try {
        let query = `${options} ${text}`;
        let parameters = values;
        if (key in named && values.length === 0) {
          query = `${options} EXECUTE hot_${key}`;
        } else if (key in named) {
          // EXECUTE takes its arguments as SQL literals, not as bind parameters.
          const { rows } = await client.query<{ sql: string }>(
            `SELECT format('${options} EXECUTE hot_${key}(%s)', string_agg(quote_nullable(v), ', ' ORDER BY n)) AS sql
             FROM unnest($1::text[]) WITH ORDINALITY AS a(v, n)`,
            [values.map(literal)],
          );
          query = rows[0]?.sql ?? '';
          parameters = [];
        }
        const nested = await logNestedPlans(client);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(query, parameters);
        return [rows.map((r) => r['QUERY PLAN']).join('\n'), ...nested()].join('\n');
      } finally {
        await client.query('ROLLBACK');
      }
    }

    beforeAll(async () => {
      await client.connect();
      await client.query(PLANNER_SETTINGS);
      // A named statement's plan is made at one of its first runs and kept (plan_cache_mode auto
      // switches to it after five): made here at the first.
      await client.query('SET plan_cache_mode = force_generic_plan');
      if (statistics === 'stale') {
        await db.store.jobInsertMany({ jobs: Array.from({ length: 20 }, () => newJob({ queue: 'big' })) });
        await withAdmin((admin) => admin.query(`ANALYZE ${s}.jobs, ${s}.job_queue, ${s}.job_leases`));
      }
      for (const [key, statement] of Object.entries(named)) {
        await client.query(`PREPARE hot_${key} AS ${statement.text}`);
        await explain(key, statement.text, emptyArguments(key));
      }
      running = await grow(db.store);
      const [queued] = await db.store.jobInsertMany({ jobs: [newJob({ queue: 'big' })] });
      queuedId = queued?.job.id ?? '';
      const [grouped] = await db.store.jobInsertMany({
        jobs: [newJob({ queue: 'tenants', group: 'small' })],
      });
      groupedId = grouped?.job.id ?? '';
      const [labelledGrouped] = await db.store.jobInsertMany({
        jobs: [newJob({ queue: 'labelled', group: 'g7', requires: ['gpu'] })],
      });
      labelledGroupedId = labelledGrouped?.job.id ?? '';
      if (statistics === 'fresh') {
        // ANALYZE drops the kept plans: they are made again, on the grown tables.
        await withAdmin((admin) => admin.query(`ANALYZE ${s}.jobs, ${s}.job_queue, ${s}.job_leases`));
      }
    });

    afterAll(async () => {
      await client.end();
    });

    /** Arguments of a run on empty tables: no jobs named. */
    function emptyArguments(key: string): unknown[] {
      const none: string[] = [];
      const args: Record<string, unknown[]> = {
        jobClaimLean: ['w', 100, 30_000],
        jobClaimLeanFromQueues: ['w', 100, 30_000, ['rare']],
        jobClaim: ['w', 100, 30_000],
        jobClaimFromQueues: ['w', 100, 30_000, ['rare']],
        jobClaimLabeled: ['w', 100, 30_000, ['gpu']],
        jobClaimFromQueuesLabeled: ['w', 100, 30_000, ['rare'], ['gpu']],
        jobClaimGrouped: ['w', 100, 30_000],
        jobClaimGroupedFromQueues: ['w', 100, 30_000, ['rare'], groupCursorKey(['rare'])],
        jobClaimGroupedLean: ['w', 100, 30_000],
        jobClaimGroupedLeanFromQueues: ['w', 100, 30_000, ['rare'], groupCursorKey(['rare'])],
        jobClaimGroupedLabeled: ['w', 100, 30_000, ['gpu']],
        jobClaimGroupedFromQueuesLabeled: ['w', 100, 30_000, ['rare'], ['gpu'], groupCursorKey(['rare'])],
        jobFinishManyComplete: [none, none, none, 'ch', 'o'],
        jobFinishManyCompleteNoLimits: [none, none, none, 'ch', 'o'],
        jobInsertMany: insertArguments([]),
        jobInsertManyFenced: [...insertArguments([]), NO_JOB, NO_JOB],
        jobGet: [NO_JOB],
        jobCheckpointSave: [NO_JOB, NO_JOB, '1'],
        jobRescueLapsed: [100, 'ch', 'o'],
        jobLeaseSweep: [1_000, null],
      };
      return args[key] ?? [];
    }

    /**
     * A walk of the distinct requirement sets (sql/worker-labels.ts): every probe, run inside
     * nightshift_next_requirement_set (so a nested plan), a descent of `index` that lands on at most
     * one row, nothing sorted, a few buffers per set.
     */
    function expectSetWalk(plan: string, name: string, grouped: boolean, index: string): void {
      const part = cte(plan, name);
      expect(part).not.toMatch(/Sort|Bitmap Heap Scan/);
      expect(sharedBuffers(part)).toBeLessThan(50);
      const probes = nestedPlans(plan).filter(
        (nested) =>
          nested.includes('q.requires > after') && nested.includes('group_key IS NOT NULL') === grouped,
      );
      expect(probes.length).toBeGreaterThan(0);
      for (const probe of probes) {
        expect(probe).toMatch(
          new RegExp(`Index (Only )?Scan using ${index} on job_queue q .*actual rows=[01] loops`),
        );
        expect(probe).not.toMatch(/Sort|Bitmap/);
        expect(sharedBuffers(probe)).toBeLessThan(20);
      }
    }

    /** The plan must not read a table of the job system sequentially, and stay within `pages`. */
    function expectIndexed(plan: string, pages: number): void {
      expect(plan).not.toMatch(/Seq Scan on (jobs|job_queue|job_leases|job_finish_log|events|job_runs)\b/);
      // Thousands of pages hold the grown tables: a full index walk would show here too.
      expect(sharedBuffers(plan)).toBeLessThan(pages);
    }

    it('claims from all queues and from named ones', async () => {
      // The lean statements, as the full ones: the ready index in claim order, a few pages. A claim of
      // 100 touched 850-1,560 buffers here (more after the earlier rolled-back claims' row versions);
      // a walk of the big queue's 20,000 jobs would touch over 20,000.
      const lean = await explain('jobClaimLean', '', ['w', 100, 30_000]);
      expect(lean).toMatch(/Update on jobs j_1 \(actual rows=100 loops=1\)/);
      expectIndexed(lean, 2_000);
      const leanSome = await explain('jobClaimLeanFromQueues', '', ['w', 100, 30_000, ['rare']]);
      expect(leanSome).toMatch(/Update on jobs j_1 \(actual rows=5 loops=1\)/);
      expectIndexed(leanSome, 300);
      expectIndexed(await explain('jobClaim', '', ['w', 100, 30_000]), 2_000);
      const plan = await explain('jobClaimFromQueues', '', ['w', 100, 30_000, ['rare']]);
      expect(plan).toMatch(/Update on jobs j_1 \(actual rows=5 loops=1\)/);
      expectIndexed(plan, 300);
      // The grouped statements, full and lean, where jobs without a group fill the batch, as cheaply.
      const rare = ['w', 100, 30_000, ['rare'], groupCursorKey(['rare'])];
      for (const name of ['jobClaimGrouped', 'jobClaimGroupedLean']) {
        expectIndexed(await explain(name, '', ['w', 100, 30_000]), 2_000);
        expectIndexed(await explain(`${name}FromQueues`, '', rare), 300);
      }
    });

    it.each(['jobClaimGroupedFromQueues', 'jobClaimGroupedLeanFromQueues'])(
      'claims grouped jobs by walking the ready pairs, one index descent each, with one huge group (%s)',
      async (name) => {
        const tenants = ['tenants'];
        const plan = await explain(name, '', ['w', 100, 30_000, tenants, groupCursorKey(tenants)]);
        expect(plan).toMatch(/Update on jobs j_1 \(actual rows=100 loops=1\)/);
        // The walk and each pair's jobs: the group index in claim order, never the huge group's backlog.
        expect(plan).toMatch(/Index (Only )?Scan using job_queue_ready_group_idx/);
        expect(plan).not.toMatch(/Sort Key: job_queue\S*\.priority/);
        expectIndexed(plan, 1_500);
      },
    );

    it.each(['jobClaimGroupedFromQueues', 'jobClaimGroupedLeanFromQueues'])(
      'walks 1,000 groups one index descent per step, never reading the grouped backlog per step (%s)',
      async (name) => {
        const many = ['many'];
        const plan = await explain(name, '', ['w', 100, 30_000, many, groupCursorKey(many)]);
        expect(plan).toMatch(/Update on jobs j_1 \(actual rows=100 loops=1\)/);
        // A step that reads every grouped row after the cursor shows as a bitmap scan and a sort per loop.
        expect(plan).not.toMatch(/Bitmap Heap Scan on job_queue/);
        expect(plan).not.toMatch(/Sort[^\n]*loops=(?:[2-9]|\d{2,})\)/);
        // The walk's 100 steps, a few index pages each (~500 here); reading the 2,000 grouped rows after
        // the cursor at each step would touch thousands. The whole claim grows with the row versions
        // the earlier rolled-back claims left in the same pages.
        expect(sharedBuffers(cte(plan, 'group_walk'))).toBeLessThan(1_000);
        expectIndexed(plan, 2_500);
      },
    );

    it('claims grouped jobs for a worker with labels by the same walk', async () => {
      const tenants = ['tenants'];
      const plan = await explain('jobClaimGroupedFromQueuesLabeled', '', [
        'w',
        100,
        30_000,
        tenants,
        ['gpu'],
        groupCursorKey(tenants),
      ]);
      expect(plan).toMatch(/Update on jobs j_1 \(actual rows=100 loops=1\)/);
      expect(plan).toMatch(/Index (Only )?Scan using job_queue_ready_group_idx/);
      expect(plan).not.toMatch(/Sort Key: job_queue\S*\.priority/);
      expectIndexed(plan, 1_500);
      expectIndexed(await explain('jobClaimGroupedLabeled', '', ['w', 100, 30_000, ['gpu']]), 1_500);
    });

    it('walks 1,000 labelled groups for a worker with labels, one descent per stream and step', async () => {
      const labelled = ['labelled'];
      const labels = ['gpu', 'region:eu'];
      const plan = await explain('jobClaimGroupedFromQueuesLabeled', '', [
        'w',
        100,
        30_000,
        labelled,
        labels,
        groupCursorKey(labelled),
      ]);
      expect(plan).toMatch(/Update on jobs j_1 \(actual rows=100 loops=1\)/);
      const walk = cte(plan, 'group_walk');
      // Each step: one descent of the plain grouped index and one of the labelled one per offered set,
      // each landing on one row; the first of them kept by a sort of those few rows.
      expect(walk).toMatch(
        /Index Scan using job_queue_ready_group_labels_idx[^\n]*\(actual rows=1 loops=\d{2,}\)/,
      );
      for (const scan of walk.match(/Index (Only )?Scan using job_queue_ready_group\S* [^\n]*/g) ?? []) {
        expect(scan).toMatch(/actual rows=[01] loops|never executed/);
      }
      expect(walk).not.toMatch(/Rows Removed by Filter: [1-9]/);
      expectSetWalk(plan, 'group_label_sets', true, 'job_queue_ready_group_labels_idx');
      // A step that reads the grouped rows after the cursor (or the region:us rows before each pair's
      // gpu ones) shows as a bitmap scan, a sort of many rows, or thousands of buffers.
      for (const name of ['group_label_sets', 'group_start', 'group_walk', 'group_heads', 'grouped']) {
        const part = cte(plan, name);
        expect(part).not.toMatch(/Bitmap Heap Scan on job_queue/);
        for (const sort of part.matchAll(/Sort \(actual rows=(\d+) loops=(\d+)\)/g)) {
          if (Number(sort[2]) > 1) expect(Number(sort[1])).toBeLessThanOrEqual(2);
        }
      }
      // ~820 buffers for the walk's 100 steps (~1,750 for the whole claim). A walk that tested the labels
      // as a filter would read the 20 region:us jobs ahead in each of these pairs: 2,000 more.
      expect(sharedBuffers(walk)).toBeLessThan(1_200);
      expectIndexed(plan, 2_500);
      // The same walk from every queue, and the sets a labelled worker meets among grouped rows.
      // As the labelled claim without groups (below): ~1,000-1,550 buffers as statistics go.
      expectIndexed(await explain('jobClaimGroupedLabeled', '', ['w', 100, 30_000, labels]), 2_500);
      const none = await explain('jobClaimGroupedFromQueues', '', [
        'w',
        100,
        30_000,
        labelled,
        groupCursorKey(labelled),
      ]);
      expect(none).toMatch(/Update on jobs j_1 \(actual rows=0 loops=1\)/);
      expect(none).not.toContain('job_queue_ready_group_labels_idx');
      expectIndexed(none, 100);
    });

    it('claims for a worker with labels without walking the jobs of labels it lacks', async () => {
      // The 5,000 gpu jobs sort first (priority 9); this worker offers only region:eu.
      const all = await explain('jobClaimLabeled', '', ['w', 100, 30_000, ['region:eu']]);
      // The requirement sets: one descent per distinct set, each landing on one row. A first probe
      // planned without a range read all 5,005 labelled rows and sorted them (stale statistics).
      expectSetWalk(all, 'label_sets', false, 'job_queue_ready_labels_idx');
      for (const walk of ['ready', 'ready_labeled']) {
        expect(cte(all, walk)).not.toMatch(/Rows Removed by Filter: \d{3,}/);
      }
      // ~900 buffers here; with fresh (sampled) statistics one CI run's plan read 1,500. A walk of the
      // 5,000 gpu jobs is what the filter check above pins; this bound catches a scan of the tables.
      expectIndexed(all, 2_500);
      const some = await explain('jobClaimFromQueuesLabeled', '', [
        'w',
        100,
        30_000,
        ['rare'],
        ['region:eu'],
      ]);
      expect(some).toMatch(/Update on jobs j_1 \(actual rows=10 loops=1\)/);
      expect(some).toContain('job_queue_ready_labels_queue_idx');
      expectIndexed(some, 300);
    });

    it('completes, finishes, renews and checks for cancellation by primary key', async () => {
      const batch = running.slice(0, 50);
      const ids = batch.map((j) => j.id);
      const tokens = batch.map((j) => j.leaseToken);
      const complete = await explain('jobFinishManyComplete', '', [
        ids,
        tokens,
        batch.map(() => '1'),
        'ch',
        'o',
      ]);
      expect(complete).toMatch(/Update on jobs j \(actual rows=50 loops=1\)/);
      // The batch's ids are the index condition; no input joined (nor re-read per job).
      expect(complete).toContain('Index Cond: (id = ANY');
      expect(complete).not.toContain('Function Scan');
      expectIndexed(complete, 800);
      const lean = await explain('jobFinishManyCompleteNoLimits', '', [
        ids,
        tokens,
        batch.map(() => '1'),
        'ch',
        'o',
      ]);
      expect(lean).toMatch(/Update on jobs j \(actual rows=50 loops=1\)/);
      expect(lean).toContain('Index Cond: (id = ANY');
      expect(lean).not.toContain('Function Scan');
      expectIndexed(lean, 800);
      const finish = await explain('', sql.jobFinishMany.text, [
        ids,
        tokens,
        batch.map(() => 'failed'),
        batch.map(() => null),
        batch.map(() => '{"message":"x"}'),
        batch.map(() => 1_000),
        batch.map(() => false),
        batch.map(() => null),
        batch.map(() => false),
        'ch',
        'o',
      ]);
      expect(finish).toMatch(/Update on jobs j \(actual rows=50 loops=1\)/);
      expectIndexed(finish, 1_200);
      expectIndexed(await explain('', sql.jobLeaseRenew.text, [ids, tokens, 30_000]), 800);
      expectIndexed(await explain('', sql.jobCancelCheck.text, [ids, tokens]), 400);
      expectIndexed(await explain('jobCheckpointSave', '', [batch[0]?.id, batch[0]?.leaseToken, '1']), 50);
      expectIndexed(await explain('jobGet', '', [batch[0]?.id]), 50);
    });

    it('inserts, cancels, rescues and prunes without reading the tables', async () => {
      const jobs = Array.from({ length: 20 }, () => newJob({ queue: 'big', idempotencyKey: null }));
      expectIndexed(await explain('jobInsertMany', '', insertArguments(jobs.map((j) => j.id))), 400);
      // A child insert: its fence finds the parent's row by primary key and locks it before any row
      // goes in, as the store's named statement (planned on empty tables) and as a pooler's custom plan
      // without the store's planner settings.
      const parent = running[100];
      const fencedArguments = [...insertArguments(jobs.map((j) => j.id)), parent?.id, parent?.leaseToken];
      for (const fenced of [
        await explain('jobInsertManyFenced', '', fencedArguments),
        await explainClaim(sql.jobInsertManyFenced.text, fencedArguments),
      ]) {
        expect(cte(fenced, 'fence')).toMatch(
          /LockRows \(actual rows=1 loops=1\)\n.*\n?\s*-> {2}Index Scan using jobs_pkey on jobs \(actual rows=1 loops=1\)\n\s*Index Cond: \(id = /,
        );
        expect(fenced).toMatch(/Insert on jobs jobs_1 \(actual rows=20 loops=1\)/);
        expectIndexed(fenced, 400);
      }
      expectIndexed(await explain('', sql.jobCancel.text, [queuedId, 'ch', 'o']), 300);
      expectIndexed(await explain('', sql.jobCancel.text, [groupedId, 'ch', 'o']), 300);
      const cancelled = await explain('', sql.jobCancel.text, [labelledGroupedId, 'ch', 'o']);
      expect(cancelled).toMatch(/Delete on job_queue q \(actual rows=1 loops=1\)/);
      expectIndexed(cancelled, 300);
      // The claim of `lapsing` lapsed: the rescue finds it through the lease index, its jobs by key,
      // read as they are (`running`), then locked by key again, those free (`members`, SKIP LOCKED).
      const plan = await explain('jobRescueLapsed', '', [100, 'ch', 'o']);
      expect(plan).toMatch(/Update on jobs j_2 \(actual rows=20 loops=1\)/);
      for (const name of ['running', 'members']) {
        const part = cte(plan, name);
        expect(part).toMatch(/Scan (using jobs_pkey )?on jobs j\S* \(actual rows=20 loops=1\)/);
        expect(part).toMatch(/jobs_pkey[^\n]*\n\s*Index Cond: \(id = ANY/);
      }
      expect(cte(plan, 'members')).toMatch(/^\s*-> {2}LockRows/m);
      // ~230 buffers (~175 before the jobs were read twice; a claim whose jobs all ended reads them once).
      expectIndexed(plan, 400);
      // The sweep reads the claims in lease-end order by their index, a page at a time, and looks up
      // their jobs by key: the two claims of 1,000 jobs all finished go, the others stay.
      for (const cursor of [null, '-infinity']) {
        const sweep = await explain('jobLeaseSweep', '', [1_000, cursor]);
        expect(sweep).toMatch(/Index Scan (Backward )?using job_leases_expiry_idx on job_leases\b/);
        expect(sweep).toMatch(/Index Cond: \(expires_at > COALESCE\(\$2/);
        expect(sweep).toMatch(
          /Delete on job_leases l[^\n]*\n(.*\n)*?\s*-> {2}Tid Scan on job_leases l \(actual rows=2 loops=1\)/,
        );
        expect(sweep).toMatch(/jobs_pkey[^\n]*\n\s*Index Cond: \(id = ANY/);
        expectIndexed(sweep, 20_000);
      }
      // ~1,500 buffers for 100 jobs, a few more for those failed or cancelled: their job_dead rows go
      // with them (migration 028's delete trigger, a primary-key probe each).
      expectIndexed(await explain('', sql.jobPrune.text, [0, 100]), 1_600);
    });

    it('checks that the cluster is idle by one index probe per kind of waiting job, whatever the backlog', async () => {
      const plan = await explain('jobIdleCheck', '', []);
      // The leases, the scheduled jobs, and the queued jobs of each partial ready index.
      expect(plan.match(/Index (Only )?Scan using \w+ on job_(leases|queue)\b/g)).toHaveLength(6);
      // The plan is remade whenever its cache entry is invalidated (an ANALYZE, or a cache reset on a
      // busy server), and either of the two ready indexes of queued jobs without requirements or group
      // may then serve the third probe.
      for (const part of [
        'job_leases',
        'scheduled',
        'ready(?:_queue)?_idx',
        'ready_labels',
        'ready_group_idx',
        'ready_group_labels',
      ]) {
        expect(plan).toMatch(new RegExp(`Scan using \\w*${part}\\w* on`));
      }
      expectIndexed(plan, 60);
    });

    it('appends, reads and prunes events, and beats the worker heartbeat', async () => {
      // The first 100 event rows are the growth's bulk inserts, each carrying its jobs' arrays (TOASTed):
      // ~200 and ~610 buffers, growing with the jobs \`grow\` inserts.
      expectIndexed(await explain('', events.eventRead(s), ['0', 0, 0, null, null, null, 100]), 250);
      expectIndexed(await explain('', events.eventPrune(s), [0, 100]), 700);
      expectIndexed(
        await explain('', events.eventAppend(s), [
          ['queue:paused'],
          [null],
          [null],
          ['big'],
          [null],
          [null],
          [null],
          [null],
          [null],
        ]),
        50,
      );
      const heartbeat = await explain('', fleet.workerHeartbeat(s), ['w', 3]);
      expect(heartbeat).toContain('Index Scan using workers_pkey');
    });
  },
);

/** An id no job has. */
const NO_JOB = '00000000-0000-0000-0000-000000000000';

/** Text of an argument for EXECUTE: arrays as array literals. */
function literal(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return `{${value.map((v: unknown) => JSON.stringify(v)).join(',')}}`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The insert's arguments for jobs of these ids in queue `big` (see job-inserter.ts). */
function insertArguments(ids: string[]): unknown[] {
  const each = <T>(value: T): T[] => ids.map(() => value);
  return [
    ids,
    each('test.task'),
    each('big'),
    each('{"n":1}'),
    each(0),
    each(null),
    each(null),
    each(3),
    each(null),
    each(null),
    each(null),
    each(null),
    each(null),
    each(null),
    each(null),
    'ch',
    'o',
    each(null),
    each(null),
    each(null),
    each(null),
  ];
}
