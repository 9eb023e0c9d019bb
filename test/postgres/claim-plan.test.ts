/**
 * The claim's shape on PostgreSQL: which index it walks (a regression here turns a 1 ms claim into a
 * scan of the backlog), and the in-statement promotion of due scheduled jobs that replaces a stager.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { renderStatements } from '../../src/store/postgres/sql/statements.js';
import { newJob } from '../support/jobs.js';
import { explainClaim, sharedBuffers } from '../support/postgres-explain.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';
import { PostgresTestClock } from '../support/postgres-test-clock.js';

const db = migratedStore('plan');
const { schema } = db;
const sql = renderStatements(`"${schema}"`);
const clock = new PostgresTestClock(schema);

beforeAll(async () => {
  // A big backlog in one queue and a handful of jobs in a rare one, then fresh statistics.
  for (let i = 0; i < 20; i += 1) {
    await db.store.jobInsertMany({ jobs: Array.from({ length: 1_000 }, () => newJob({ queue: 'big' })) });
  }
  await db.store.jobInsertMany({
    jobs: Array.from({ length: 5 }, () => newJob({ queue: 'rare', priority: -1 })),
  });
  await withAdmin((client) => client.query(`ANALYZE "${schema}".jobs, "${schema}".job_queue`));
});

describe('PostgreSQL claim plan', () => {
  it.each([
    ['jobClaim', false],
    ['jobClaim', true],
    ['jobClaimLean', false],
    ['jobClaimLean', true],
  ] as const)(
    'claims from all queues by walking the ready index under SKIP LOCKED, never scanning the table (%s, store settings %s)',
    async (statement, storeSettings) => {
      const plan = await explainClaim(sql[statement].text, ['w', 100, 30_000], { storeSettings });
      // Not a read of every queued row and a sort (the fresh statistics count the whole backlog).
      expect(plan).not.toContain('Bitmap Heap Scan on job_queue');
      expect(plan).toContain('Index Scan using job_queue_ready_idx');
      expect(plan).toContain('LockRows');
      // The picked queue rows are deleted by address, their jobs updated by primary key.
      expect(plan).toContain('Tid Scan on job_queue');
      expect(plan).toMatch(/Index Scan using jobs_pkey on jobs j\b/);
      expect(plan).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
    },
  );

  it('claims from a rare queue through the per-queue index without reading the other backlog', async () => {
    // Run it often enough for node-postgres's prepared statement to reach a generic plan, then look.
    for (let i = 0; i < 6; i += 1) {
      await withAdmin((client) =>
        client.query('BEGIN').then(async () => {
          await client.query(sql.jobClaimFromQueues.text, ['w', 10, 30_000, ['rare']]);
          await client.query('ROLLBACK');
        }),
      );
    }
    for (const statement of [sql.jobClaimFromQueues, sql.jobClaimLeanFromQueues]) {
      for (const storeSettings of [false, true]) {
        const plan = await explainClaim(statement.text, ['w', 10, 30_000, ['rare']], { storeSettings });
        expect(plan).toContain('Index Scan using job_queue_ready_queue_idx');
        expect(plan).not.toContain('Index Scan using job_queue_ready_idx');
        // The short batch's next-due probe too reads the per-queue index.
        expect(plan).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
        // 5 jobs claimed: a few index and heap pages, not the 20,000-row backlog of queue 'big'.
        expect(sharedBuffers(plan)).toBeLessThan(200);
      }
    }
    const claimed = await db.store.jobClaim({ workerId: 'w', queues: ['rare'], limit: 10, leaseMs: 30_000 });
    expect(claimed.map((j) => j.queue)).toEqual(['rare', 'rare', 'rare', 'rare', 'rare']);
  });

  it('claims due scheduled jobs in the same statement and promotes the due ones it did not take', async () => {
    const queue = 'promote';
    const jobs = [
      newJob({ queue, priority: 1 }),
      newJob({ queue, priority: 5 }),
      newJob({ queue, priority: 3 }),
    ];
    await db.store.jobInsertMany({ jobs: jobs.map((j) => ({ ...j, delayMs: 3_600_000 })) });
    const late = newJob({ queue, delayMs: 2 * 3_600_000 });
    await db.store.jobInsertMany({ jobs: [late] });
    // Three come due (their hour passed); `late` stays in the future.
    await clock.advance(3_600_000 + 1_000);
    const claimed = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 1, leaseMs: 30_000 });
    expect(claimed.map((j) => j.id)).toEqual([jobs[1]?.id]);
    const states = await Promise.all(
      [...jobs, late].map(async (j) => (await db.store.jobGet({ id: j.id }))?.state),
    );
    expect(states).toEqual(['queued', 'running', 'queued', 'scheduled']);
    const next = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 30_000 });
    expect(next.map((j) => j.id)).toEqual([jobs[2]?.id, jobs[0]?.id]);
  });

  it('finishes a batch among thousands of running jobs by primary key', async () => {
    const running = await db.store.jobClaim({
      workerId: 'w',
      queues: ['big'],
      limit: 2_000,
      leaseMs: 60_000,
    });
    expect(running).toHaveLength(2_000);
    await withAdmin((client) => client.query(`ANALYZE "${schema}".jobs`));
    const batch = running.slice(0, 50);
    const plan = await explainClaim(sql.jobFinishMany.text, [
      batch.map((j) => j.id),
      batch.map((j) => j.leaseToken),
      batch.map(() => 'completed'),
      batch.map(() => null),
      batch.map(() => null),
      batch.map(() => null),
      batch.map(() => false),
      batch.map(() => null),
      batch.map(() => false),
      'test-channel',
      'test-origin',
    ]);
    expect(plan).toMatch(/Index Scan using jobs_pkey on jobs j\b/);
    expect(plan).not.toMatch(/Seq Scan on jobs/);
    // The input is read once, not once per job row as a join filter (a quadratic plan seen before).
    expect(plan).toMatch(/Function Scan on i \(actual rows=50 loops=1\)/);
  });

  it('completes a batch by primary key under the generic plan its prepared statement settles on', async () => {
    const running = await db.store.jobClaim({ workerId: 'w', queues: ['big'], limit: 50, leaseMs: 60_000 });
    const literal = (values: string[]): string => `'{${values.join(',')}}'`;
    const plan = await withAdmin(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
        await client.query(`PREPARE complete_generic AS ${sql.jobFinishManyComplete.text}`);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE complete_generic(
             ${literal(running.map((j) => j.id))}, ${literal(running.map((j) => j.leaseToken))},
             ${literal(running.map(() => '1'))}, 'test-channel', 'test-origin')`,
        );
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      } finally {
        await client.query('ROLLBACK');
        await client.query('DEALLOCATE complete_generic');
      }
    });
    // No input to join: the batch's ids are the index condition, each job's token found by key.
    expect(plan).toMatch(
      /Index Scan using jobs_pkey on jobs j \(actual rows=50 loops=1\)\n\s+Index Cond: \(id = ANY/,
    );
    expect(plan).toMatch(/Update on jobs j \(actual rows=50 loops=1\)/);
    expect(plan).not.toMatch(/Seq Scan on jobs/);
  });

  it('rescues through the lease index of claims, oldest lease first', async () => {
    const plan = await explainClaim(sql.jobRescueLapsed.text, [100, 'test-channel', 'test-origin']);
    expect(plan).toContain('Index Scan using job_leases_expiry_idx');
    expect(plan).not.toMatch(/Seq Scan on (jobs|job_leases)\b/);
  });

  it('prunes through the retention index, oldest finished first, never scanning the table', async () => {
    // A log row per finishing statement: 200 of them, each of 10 jobs.
    const running = await db.store.jobClaim({
      workerId: 'w',
      queues: ['big'],
      limit: 2_000,
      leaseMs: 60_000,
    });
    for (let i = 0; i < running.length; i += 10) {
      const finishes = running
        .slice(i, i + 10)
        .map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const }));
      await db.store.jobFinishMany({ finishes });
    }
    await withAdmin((client) => client.query(`ANALYZE "${schema}".job_finish_log`));
    const plan = await explainClaim(sql.jobPrune.text, [0, 100]);
    expect(plan).toContain('Index Scan using job_finish_log_time_idx');
    expect(plan).not.toMatch(/Seq Scan on jobs\b/);
    // The first ten log rows hold the 100 jobs: only they are locked. (The log's own rows are then
    // fetched by address or, in a log this small, by a scan of its few pages.)
    expect(plan).toMatch(/CTE logs\n\s+-> {2}LockRows \(actual rows=10 loops=1\)/);
  });

  it('cancels a waiting job through the queue indexes, never scanning the queue', async () => {
    const [{ job: queued } = { job: undefined }] = await db.store.jobInsertMany({
      jobs: [newJob({ queue: 'big' })],
    });
    const plan = await explainClaim(sql.jobCancel.text, [queued?.id, 'test-channel', 'test-origin']);
    expect(plan).toMatch(/Index Cond: .*\bid = /);
    expect(plan).toContain('job_queue_ready_idx');
    expect(plan).toContain('job_queue_scheduled_idx');
    // Never the per-queue scheduled index without its leading column (a walk of the whole index).
    expect(plan).not.toMatch(/on job_queue_scheduled_queue_idx[^\n]*\n\s+Index Cond: \(\(run_at/);
    expect(plan).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
    expect(plan).toMatch(/Delete on job_queue q \(actual rows=1 loops=1\)/);
  });

  it('lists waiting and running jobs through the tables that index them, not the finished jobs', async () => {
    const queued = await explainClaim(sql.jobList.text, ['queued', null, null, null, 10, null, null, null]);
    // Every queued id is read (the page is by id, newest first), then ten jobs by primary key.
    expect(queued).toMatch(/Scan .*on job_queue/);
    expect(queued).toMatch(/Index Scan (Backward )?using jobs_pkey on jobs/);
    expect(queued).not.toMatch(/Seq Scan on jobs\b/);
    // A due scheduled job reads queued: both filters split the scheduled rows at the store's clock.
    expect(queued).toMatch(/Index (Only )?Scan using job_queue_scheduled(_queue)?_idx/);
    const scheduled = await explainClaim(sql.jobList.text, [
      'scheduled',
      null,
      null,
      null,
      10,
      null,
      null,
      null,
    ]);
    expect(scheduled).toMatch(/Index (Only )?Scan using job_queue_scheduled(_queue)?_idx on job_queue/);
    expect(scheduled).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
    const running = await explainClaim(sql.jobList.text, ['running', null, null, null, 10, null, null, null]);
    expect(running).toContain('Seq Scan on job_leases');
    expect(running).not.toMatch(/Seq Scan on jobs\b/);
  });

  it('lists every job or the completed ones by a bounded walk of the primary key, stopped when the page fills', async () => {
    // $9 is the walk's bound (JOB_LIST_WALK_MAX); 100 here, so that a filter matching nothing shows it.
    for (const state of [null, 'completed']) {
      const none = await explainClaim(sql.jobListWalk.text, [
        state,
        'no-such-queue',
        null,
        null,
        11,
        null,
        null,
        null,
        100,
      ]);
      expect(none).toMatch(/Index Scan Backward using jobs_pkey on jobs \(actual rows=100 loops=1\)/);
      expect(none).toMatch(/WindowAgg/);
      expect(none).not.toMatch(/Seq Scan on jobs\b|Sort\b/);
    }
    // Every job matches: the page's eleven rows and one more (the window reads a row ahead) are all
    // the walk reads, the window streaming.
    const all = await explainClaim(sql.jobListWalk.text, [null, null, null, null, 11, null, null, null, 100]);
    expect(all).toMatch(/Index Scan Backward using jobs_pkey on jobs \(actual rows=12 loops=1\)/);
  });

  it('lists and bulk-retries failed and cancelled jobs from job_dead, each by primary key, never the finished jobs', async () => {
    for (const state of ['failed', 'cancelled']) {
      // $9 the walk's bound (JOB_LIST_WALK_MAX): the dead ids walked in their index's order, each job
      // by primary key, numbered by a window that needs no sort, so a page that fills stops the walk.
      for (const queue of [null, 'no-such-queue']) {
        const plan = await explainClaim(sql.jobListDead.text, [
          state,
          queue,
          null,
          null,
          10,
          null,
          null,
          null,
          100,
        ]);
        expect(plan).toMatch(/Index (Only )?Scan Backward using job_dead_pkey on job_dead/);
        expect(plan).toMatch(/Index Scan using jobs_pkey on jobs/);
        expect(plan).toMatch(/WindowAgg/);
        expect(plan).not.toMatch(/Seq Scan on jobs\b|Sort\b/);
      }
      // Retrying them in bulk walks the same ids, oldest first.
      const retry = await explainClaim(sql.jobRetryMatching.text, [
        state,
        null,
        null,
        null,
        100,
        'test-channel',
        'test-origin',
        null,
        null,
        null,
      ]);
      expect(retry).toMatch(/Index (Only )?Scan using job_dead_pkey on job_dead/);
      expect(retry).toMatch(/Index Scan using jobs_pkey on jobs/);
      expect(retry).not.toMatch(/Seq Scan on jobs\b/);
    }
  });

  it('finds when the next job joins the queued list through the scheduled index past now, in due order', async () => {
    // A queue: its own range of job_queue_scheduled_queue_idx; a task: each row's job by primary key.
    for (const values of [
      ['rare', null, null, null, null],
      [null, 'test.task', null, null, null],
    ]) {
      const plan = await explainClaim(sql.jobNextDue.text, values);
      expect(plan).toMatch(/Index (Only )?Scan using job_queue_scheduled(_queue)?_idx on job_queue q\b/);
      expect(plan).toMatch(/Index Cond: .*run_at > \(?now\(\)/);
      expect(plan).not.toMatch(/Sort\b/);
      expect(plan).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
    }
  });

  it('bulk-cancels scheduled jobs due or not through a range of the scheduled index, never scanning the queue', async () => {
    for (const statement of [sql.jobCancelMatchingDue, sql.jobCancelMatchingLater]) {
      const plan = await explainClaim(statement.text, [null, null, 10, 'c', 'o', null, null, null]);
      // Either scheduled index (both hold only the scheduled rows), by the range on its due time.
      expect(plan).toMatch(/Index Scan using job_queue_scheduled(_queue)?_idx on job_queue q\b/);
      expect(plan).toMatch(/Index Cond: \(run_at [<>]=? \(?now\(\)/);
      expect(plan).not.toMatch(/Seq Scan on (jobs|job_queue)\b/);
    }
  });

  it('claims each job once when a queue is named twice', async () => {
    const jobs = Array.from({ length: 3 }, () => newJob({ queue: 'twice' }));
    await db.store.jobInsertMany({ jobs });
    const claimed = await db.store.jobClaim({
      workerId: 'w',
      queues: ['twice', 'twice'],
      limit: 10,
      leaseMs: 30_000,
    });
    expect(claimed.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
  });
});

describe('PostgreSQL claim plan without current statistics', () => {
  // Queue tables churn faster than ANALYZE follows them: the statistics may be missing (a new table,
  // autovacuum off) or describe an empty queue. The claim must still walk its index in order rather
  // than read the whole backlog and sort it.
  const staleDb = migratedStore('plan_stale');
  const stale = staleDb.schema;
  const staleSql = renderStatements(`"${stale}"`);

  beforeAll(async () => {
    // Statistics taken while the queue was empty, then a backlog arrives.
    await withAdmin((client) => client.query(`ANALYZE "${stale}".jobs, "${stale}".job_queue`));
    for (let i = 0; i < 10; i += 1) {
      await staleDb.store.jobInsertMany({
        jobs: Array.from({ length: 1_000 }, () => newJob({ queue: i % 2 === 0 ? 'a' : 'b' })),
      });
      // Half as many delayed ones, all due by the time of the claim.
      await staleDb.store.jobInsertMany({
        jobs: Array.from({ length: 500 }, () => newJob({ queue: 'a', delayMs: 1 })),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  });

  it('walks the ready and due indexes in order, reading a claim-sized share of the backlog', async () => {
    const plan = await explainClaim(staleSql.jobClaim.text, ['w', 200, 30_000]);
    expect(plan).toContain('Index Scan using job_queue_ready_idx');
    expect(plan).toContain('Index Scan using job_queue_scheduled_idx');
    expect(plan).not.toContain('Bitmap Heap Scan on job_queue');
    // 200 claimed plus 256 due locked: a few hundred pages, not the 15,000-row backlog sorted in memory.
    expect(plan).not.toMatch(/actual rows=(1\d{4}|[2-9]\d{4})/);
    expect(plan).toMatch(/Update on jobs j_1 \(actual rows=200 loops=1\)/);
  });

  it('walks the per-queue index in order when claiming from named queues', async () => {
    const plan = await explainClaim(staleSql.jobClaimFromQueues.text, ['w', 200, 30_000, ['a', 'b']]);
    expect(plan).toContain('Index Scan using job_queue_ready_queue_idx');
    // The 5,000 due jobs of queue 'a' are reached through its own due index, in order.
    expect(plan).toContain('Index Scan using job_queue_scheduled_queue_idx');
    expect(plan).not.toContain('Bitmap Heap Scan on job_queue');
    expect(plan).not.toMatch(/actual rows=\d{4,}/);
    expect(plan).toMatch(/Update on jobs j_1 \(actual rows=200 loops=1\)/);
  });
});
