/**
 * The plans of the observe reads on PostgreSQL with no statistics (autovacuum off, never analysed, as a
 * fresh database is): each must reach its rows through an index or the small tables that index jobs,
 * never by reading `jobs` (the whole history) from end to end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { HASH_GROUPING } from '../../src/store/postgres/connection.js';
import { PLANNER_SETTINGS } from '../../src/store/postgres/pool.js';
import { queueList } from '../../src/store/postgres/sql/fleet.js';
import { jobFinishedCountByQueue } from '../../src/store/postgres/sql/job-read.js';
import * as sql from '../../src/store/postgres/sql/observe.js';
import { scheduleList } from '../../src/store/postgres/sql/schedules.js';
import { ScheduleService } from '../../src/scheduler/schedule-service.js';
import { TaskRegistry } from '../../src/task-registry.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('obsplan');
const s = `"${db.schema}"`;

beforeAll(async () => {
  // History: 3,000 finished jobs (completed and failed with runs), 500 waiting, a few running.
  for (let round = 0; round < 3; round += 1) {
    await db.store.jobInsertMany({
      jobs: Array.from({ length: 1_000 }, (_, i) => newJob({ queue: `q${i % 50}`, maxAttempts: 1 })),
    });
    const claimed = await db.store.jobClaim({ workerId: 'w', limit: 1_000, leaseMs: 60_000 });
    await db.store.jobFinishMany({
      finishes: claimed.map((job, i) =>
        i % 10 === 0
          ? {
              id: job.id,
              leaseToken: job.leaseToken,
              outcome: 'failed',
              error: { message: 'x', reason: 'failed' },
            }
          : { id: job.id, leaseToken: job.leaseToken, outcome: 'completed', result: null },
      ),
    });
  }
  await db.store.jobInsertMany({
    jobs: Array.from({ length: 500 }, (_, i) => newJob({ queue: `q${i % 50}` })),
  });
  await db.store.jobClaim({ workerId: 'w', limit: 5, leaseMs: 60_000 });
  // A week of ledger: 20,000 slots of one schedule, a few missed in the last hour.
  const schedules = new ScheduleService(db.store, new TaskRegistry({ tick: () => 1 }));
  await schedules.create({ id: 'tick', task: 'tick', everyMs: 30_000 });
  // 5,000 per-tenant schedules, ten for each of 500 tenants.
  await schedules.upsertMany(
    Array.from({ length: 5_000 }, (_, i) => ({
      id: `tenant-${i % 500}:s${i}`,
      task: 'tick',
      everyMs: 60_000,
      paused: i % 2 === 0,
    })),
  );
  await withAdmin((client) =>
    client.query(
      `INSERT INTO ${s}.schedule_slots (schedule_id, slot_key, slot_at, kind, status, recorded_at)
       SELECT 'tick', 'k' || i, now() - i * interval '30 seconds', 'slot',
              CASE WHEN i % 100 = 0 THEN 'missed' ELSE 'enqueued' END, now() - i * interval '30 seconds'
       FROM generate_series(1, 20000) AS i`,
    ),
  );
});

/** The plan of a read, under `settings` when given, then run (ANALYZE: JIT shows only when it runs, and only with costs). */
async function plan(text: string, values: unknown[], settings = ''): Promise<string> {
  return withAdmin(async (client) => {
    if (settings !== '') await client.query(settings);
    const options = settings === '' ? 'COSTS OFF' : 'ANALYZE, TIMING OFF';
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (${options}) ${text}`, values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

/**
 * The plan of a read the store groups by hashing (PostgresConnection.groupedRows), run under the
 * store's settings as that read is: its planner settings and the transaction's hash grouping.
 */
async function groupedPlan(
  text: string,
  values: unknown[],
  options: { analyze?: boolean } = {},
): Promise<string> {
  return withAdmin(async (client) => {
    await client.query('BEGIN');
    try {
      if (options.analyze === true) await client.query(`ANALYZE ${s}.job_queue; ANALYZE ${s}.jobs`);
      await client.query(`${PLANNER_SETTINGS.replaceAll('SET ', 'SET LOCAL ')}; ${HASH_GROUPING}`);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, TIMING OFF) ${text}`,
        values,
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      await client.query('ROLLBACK');
    }
  });
}

/** The grouping steps of a plan, which must hash: a sort below one sorted the whole table it groups. */
function groupings(plan: string): string[] {
  return [...plan.matchAll(/(HashAggregate|GroupAggregate|Sort Method: \S+)/g)].map((m) => m[1] ?? '');
}

describe('PostgreSQL observe plans without statistics', () => {
  it('counts the queues from job_queue and the running jobs through job_leases', async () => {
    const text = await plan(sql.queueLoadList(s), []);
    expect(text).not.toMatch(/Seq Scan on jobs\b/);
    expect(text).toMatch(/jobs_pkey/);
    expect((await db.store.queueLoadList()).reduce((n, r) => n + r.count, 0)).toBe(500);
  });

  it('reads the throttled counts (and the queue list) from job_queue once, keys by primary key, not jobs', async () => {
    for (const settings of ['', PLANNER_SETTINGS]) {
      const text = await plan(sql.queueThrottleList(s), [30_000], settings);
      // Only the waiting jobs (job_queue, read once), never the history in jobs; no JIT.
      expect(text).not.toMatch(/ on jobs\b/);
      expect(text.match(/ on job_queue r\b/g)).toHaveLength(1);
      if (settings !== '') expect(text).not.toMatch(/Seq Scan on concurrency_keys|JIT/);
    }
    // The listing made with the store's own settings (sequential scans off, JIT off) answers: with no
    // live worker every ready job waits for one, with one claiming from every queue none is held.
    const unserved = (await db.store.queueBacklog({ workerStaleMs: 30_000 })).throttled;
    expect(unserved.map((t) => t.reason)).toEqual(unserved.map(() => 'unserved'));
    expect(unserved.reduce((n, t) => n + t.count, 0)).toBe(495);
    const worker = {
      host: 'h',
      pid: 1,
      queues: null,
      labels: [],
      tasks: [],
      concurrency: 1,
      running: 0,
      staleMs: 30_000,
    };
    await db.store.workerRegister({ id: 'w-all', ...worker });
    try {
      expect((await db.store.queueBacklog({ workerStaleMs: 30_000 })).throttled).toEqual([]);
      const listed = await db.store.queueList({
        workerStaleMs: 30_000,
        finishedCounts: [],
        finishedCountsAgeMs: 0,
      });
      expect(listed.reduce((n, q) => n + q.counts.queued, 0)).toBe(495);
      expect(listed.every((q) => q.oldestReadyAgeMs !== null || q.counts.queued === 0)).toBe(true);
    } finally {
      await db.store.workerDelete({ id: 'w-all' });
    }
  });

  it('lists the queues from job_queue and job_leases, reading jobs only by primary key', async () => {
    for (const settings of ['', PLANNER_SETTINGS]) {
      const text = await plan(queueList(s), [30_000], settings);
      expect(text).not.toMatch(/Seq Scan on jobs\b/);
      expect(text).toMatch(/jobs_pkey/);
      expect(text).toMatch(/job_queue/);
    }
    const listed = await db.store.queueList({
      workerStaleMs: 30_000,
      finishedCounts: [],
      finishedCountsAgeMs: 0,
    });
    expect(listed.every((q) => q.nextDueInMs === null)).toBe(true);
    expect(listed.reduce((n, q) => n + q.counts.running, 0)).toBe(5);
    // The history (3,000 finished jobs) is not read: its counts are the caller's.
    expect(listed.reduce((n, q) => n + q.counts.completed + q.counts.failed, 0)).toBe(0);
    const finished = await db.store.jobFinishedCountByQueue();
    expect(finished.reduce((n, c) => n + c.count, 0)).toBe(3_000);
  });

  it('lists running jobs by primary key from their claims', async () => {
    const text = await plan(sql.jobRunningList(s), [100]);
    expect(text).not.toMatch(/Seq Scan on jobs\b/);
    expect(await db.store.jobRunningList({ limit: 100 })).toHaveLength(5);
  });

  it('reads a stats window by the finish-log and run-history time indexes', async () => {
    for (const bucketMs of [60_000, 10_000]) {
      const buckets = 3_600_000 / bucketMs;
      const text = await plan(sql.jobRunStats(s), [buckets, bucketMs]);
      expect(text).toMatch(/job_finish_log_time_idx/);
      expect(text).toMatch(/job_runs_finished_idx/);
      expect(text).not.toMatch(/Seq Scan on (jobs|job_runs|job_finish_log)\b/);
      const found = await db.store.jobRunStats({ buckets, bucketMs });
      expect(found.every((b) => b.at.getTime() % bucketMs === 0)).toBe(true);
      const total = found.reduce((n, m) => ({ c: n.c + m.completed, f: n.f + m.failed }), { c: 0, f: 0 });
      expect(total).toEqual({ c: 2_700, f: 300 });
    }
  });

  it('reads recent ledger lapses by the recorded-time index', async () => {
    const text = await plan(sql.scheduleSlotLapseList(s), [3_600_000]);
    expect(text).toMatch(/schedule_slots_recorded_idx/);
    expect(text).not.toMatch(/Seq Scan on schedule_slots\b/);
    // i = 100 is 50 minutes ago; i = 200 is 100 minutes ago, outside the hour.
    expect(await db.store.scheduleSlotLapseList({ windowMs: 3_600_000 })).toMatchObject([
      { scheduleId: 'tick', missed: 1, skipped: 0 },
    ]);
  });

  it('lists one tenant’s schedules by a range of the prefix index, the unfiltered list by primary key', async () => {
    for (const settings of ['', PLANNER_SETTINGS]) {
      // $1 after id, $2 limit, $3 task, $4 condition, $5 id prefix.
      const prefixed = await plan(scheduleList(s), ['', 51, 'tick', 'paused', 'tenant-42:'], settings);
      expect(prefixed).toMatch(
        /Index Cond: \(\(id ~>=~ 'tenant-42:'::text\) AND \(id ~<~ 'tenant-42;'::text\)\)/,
      );
      expect(prefixed).not.toMatch(/Seq Scan on schedules\b/);
    }
    const all = await plan(scheduleList(s), ['tenant-42:', 51, null, null, null], PLANNER_SETTINGS);
    expect(all).toMatch(
      /Index Scan using schedules_pkey on schedules sc .*\n\s+Index Cond: \(id > 'tenant-42:'::text\)\n/,
    );
    const page = await db.store.scheduleList({ limit: 51, idPrefix: 'tenant-42:', condition: 'paused' });
    // Ids in string order: s1042 before s42.
    const ids = [42, 542, 1042, 1542, 2042, 2542, 3042, 3542, 4042, 4542].map((n) => `tenant-42:s${n}`);
    expect(page.map((schedule) => schedule.id)).toEqual(ids.sort());
  });

  it('groups the whole backlog and the finished history by hashing, with and without statistics', async () => {
    // Under the pool's settings alone every plan scanning job_queue costs the same disabled-scan
    // surcharge and the planner, within its 1% fuzz, took the sorted grouping: a sort of every row.
    const sorted = await plan(queueList(s), [30_000], PLANNER_SETTINGS);
    expect(sorted).toMatch(/GroupAggregate/);
    for (const analyze of [false, true]) {
      const reads: Array<[string, string, unknown[]]> = [
        ['queue list', queueList(s), [30_000]],
        ['queue load', sql.queueLoadList(s), []],
        ['throttled counts', sql.queueThrottleList(s), [30_000]],
        ['backlog', sql.queueBacklog(s), [30_000]],
      ];
      for (const [name, text, values] of reads) {
        const found = groupings(await groupedPlan(text, values, { analyze }));
        expect(found, `${name}${analyze ? ', analysed' : ''}`).toContain('HashAggregate');
        expect(found, `${name}${analyze ? ', analysed' : ''}`).not.toContain('GroupAggregate');
        expect(
          found.filter((step) => step.startsWith('Sort')),
          name,
        ).toEqual([]);
      }
      // The finished counts end with ORDER BY: the only sort is of the few groups the hash made.
      const finished = await groupedPlan(jobFinishedCountByQueue(s), [], { analyze });
      expect(groupings(finished)).toEqual(['Sort Method: quicksort', 'HashAggregate']);
      expect(finished).toMatch(/Sort[^\n]*rows=50 loops=1\)\n[^\n]*Sort Key[\s\S]*HashAggregate/);
    }
    // The queue list reads the backlog once: ready jobs in one pass, the not yet due ones by index.
    const list = await groupedPlan(queueList(s), [30_000]);
    expect(list.match(/Seq Scan on job_queue/g)).toHaveLength(1);
    expect(list).toMatch(/Index (Only )?Scan using job_queue_scheduled(_queue)?_idx/);
    const listed = await db.store.queueList({
      workerStaleMs: 30_000,
      finishedCounts: [],
      finishedCountsAgeMs: 0,
    });
    expect(listed.reduce((n, q) => n + q.counts.queued, 0)).toBe(495);
    expect(listed.reduce((n, q) => n + q.counts.running, 0)).toBe(5);
    // So does the backlog a metrics scrape reads: the load and the throttled counts from one pass.
    const backlog = await groupedPlan(sql.queueBacklog(s), [30_000]);
    expect(backlog.match(/Seq Scan on job_queue/g)).toHaveLength(1);
    expect(backlog).not.toMatch(/Seq Scan on jobs\b/);
    const { load } = await db.store.queueBacklog({ workerStaleMs: 30_000 });
    const total = (state: string): number =>
      load.filter((row) => row.state === state).reduce((n, row) => n + row.count, 0);
    expect([total('queued'), total('running')]).toEqual([495, 5]);
  });
});
