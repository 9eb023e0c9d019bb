/** Reads for metrics, alerts and the dashboard's charts (see ObserveStore in ../../store.ts). */
import { rateFree } from './rate-limits.js';
import { workerLive } from './worker-liveness.js';

/** Running jobs, the earliest lease end first (jobs_lease). */
export const jobRunningList = `
SELECT id, task, queue, attempt, started_at, lease_expires_at, worker_id
FROM jobs INDEXED BY jobs_lease WHERE state = 'running'
ORDER BY lease_expires_at LIMIT @limit`;

/** Missed and skipped ledger rows per schedule recorded since @since (schedule_slots_recorded). */
export const scheduleSlotLapseList = `
SELECT schedule_id,
       sum(CASE WHEN status = 'missed' THEN coalesce(slot_count, 1) ELSE 0 END) AS missed,
       sum(CASE WHEN status = 'skipped' THEN coalesce(slot_count, 1) ELSE 0 END) AS skipped,
       min(recorded_at) AS since
FROM schedule_slots INDEXED BY schedule_slots_recorded
WHERE recorded_at >= @since AND status IN ('missed', 'skipped')
GROUP BY schedule_id ORDER BY schedule_id`;

/**
 * Every attempt that ended since @since, with its wait (due to start) and run time: completed jobs by
 * jobs_finished (a plain completion has no run row), failed, timed-out and lapsed runs by
 * job_runs_finished. A failure is final (`failed`) when it is its job's last attempt and the job ended
 * failed; otherwise the job was tried again (`retried`).
 */
export const jobRunStats = `
SELECT finished_at, 'completed' AS kind,
       max(0, coalesce(started_at, finished_at) - run_at) AS wait_ms,
       max(0, finished_at - coalesce(started_at, finished_at)) AS run_ms
FROM jobs INDEXED BY jobs_finished
WHERE finished_at >= @since AND finished_at IS NOT NULL AND state = 'completed'
UNION ALL
SELECT r.finished_at,
       CASE WHEN j.state = 'failed' AND j.attempt = r.attempt THEN 'failed' ELSE 'retried' END,
       max(0, r.run_lag_ms), max(0, r.duration_ms)
FROM job_runs r INDEXED BY job_runs_finished LEFT JOIN jobs j ON j.id = r.job_id
WHERE r.finished_at >= @since AND r.outcome IN ('failed', 'timeout', 'lease_lapsed')`;

/**
 * The reason a ready job's key holds it back now, for a row of `jobs` named `j` joined to its key's
 * row `k` (LEFT JOIN concurrency_keys k ON k.key = j.concurrency_key): 1 at its limit, 2 out of
 * starts (rate at @now), NULL free or without a key. The join probes the key once per job; the
 * expression, written into each sum that reads it, only compares that row's columns.
 */
const KEY_HELD = `CASE WHEN k.key IS NULL THEN NULL
  WHEN k.in_use >= coalesce(k.max, j.concurrency_limit) THEN 1 WHEN ${rateFree('k')} < 1 THEN 2 END`;

/** What the backlog read sums over ready jobs: how many, how many their keys hold back, the oldest due time. */
const READY_SUMS = `count(*) AS ready, total((${KEY_HELD}) = 1) AS key_limit, total((${KEY_HELD}) = 2) AS key_rate,
  min(j.run_at) AS oldest`;

/**
 * A covering index of queued jobs as the backlog read walks it (backlog-read.ts): the jobs its partial
 * WHERE holds (`where`, on `jobs j`), in the order of its columns, the `prefix` ones (which hold a
 * group's queue and requirement set) then `priority DESC, run_at, id`.
 */
export interface ReadyIndex {
  name: string;
  where: string;
  prefix: readonly ('queue' | 'requires' | 'group_key')[];
}

/** The four ready indexes: every queued job is in exactly one (migrations 014 and 015). */
export const READY_INDEXES: readonly ReadyIndex[] = [
  {
    name: 'jobs_ready_queue',
    where: "j.state = 'queued' AND j.requires IS NULL AND j.group_key IS NULL",
    prefix: ['queue'],
  },
  {
    name: 'jobs_ready_labels_queue',
    where: "j.state = 'queued' AND j.requires IS NOT NULL AND j.group_key IS NULL",
    prefix: ['queue', 'requires'],
  },
  {
    name: 'jobs_ready_group',
    where: "j.state = 'queued' AND j.group_key IS NOT NULL AND j.requires IS NULL",
    prefix: ['queue', 'group_key'],
  },
  {
    name: 'jobs_ready_group_labels',
    where: "j.state = 'queued' AND j.group_key IS NOT NULL AND j.requires IS NOT NULL",
    prefix: ['requires', 'queue', 'group_key'],
  },
];

/**
 * The statements that walk a ready index in ranges of its order, each one range seek. A run is the
 * jobs of one prefix value and priority (@queue, @requires, @group_key as the prefix holds them,
 * @priority), read by (run_at, id) after (@afterRunAt, @afterId): `end` is the @rows-th job of the
 * run after the cursor (none: fewer are left), `sums` the ready jobs up to (@upToRunAt, @upToId) with
 * the reasons their keys hold them back at @now. SQLite seeks a row value only over columns of one
 * direction, so the walk steps from run to run: `first`, then `nextPriority` within a prefix value.
 * Past a prefix value, whole prefix values are summed at once (thousands of fair groups of a few jobs
 * each would cost thousands of runs): `prefixesEnd` is the @rows-th job past it, `prefixSums` sums the
 * prefix values before that job's (before @upTo_queue, @upTo_requires, @upTo_group_key), per queue
 * and requirement set, and `prefixSumsRest` all the rest; the walk goes on run by run in that job's.
 */
export function readyIndexWalk(index: ReadyIndex): {
  first: string;
  nextPriority: string;
  end: string;
  sums: string;
  prefixesEnd: string;
  prefixSums: string;
  prefixSumsRest: string;
} {
  const { name, where, prefix } = index;
  const columns = prefix.map((column) => `j.${column}`).join(', ');
  const prefixIs = prefix.map((column) => `j.${column} = @${column}`).join(' AND ');
  const pastPrefix = `(${columns}) > (${prefix.map((column) => `@${column}`).join(', ')})`;
  const run = `${where} AND ${prefixIs} AND j.priority = @priority`;
  const after = '(j.run_at, j.id) > (@afterRunAt, @afterId)';
  const from = `FROM jobs j INDEXED BY ${name} LEFT JOIN concurrency_keys k ON k.key = j.concurrency_key`;
  // Grouped in the index's order: the prefix's queue and requirement set (requires is NULL in every
  // row of an index without it).
  const prefixSums = (condition: string) => `
SELECT j.queue AS queue, j.requires AS requires, ${READY_SUMS} ${from}
WHERE ${where} AND ${condition}
GROUP BY ${prefix
    .filter((column) => column !== 'group_key')
    .map((column) => `j.${column}`)
    .join(', ')}`;
  return {
    first: `
SELECT ${columns}, j.priority FROM jobs j INDEXED BY ${name} WHERE ${where}
ORDER BY ${columns}, j.priority DESC LIMIT 1`,
    nextPriority: `
SELECT ${columns}, j.priority FROM jobs j INDEXED BY ${name} WHERE ${where} AND ${prefixIs} AND j.priority < @priority
ORDER BY j.priority DESC LIMIT 1`,
    end: `
SELECT j.run_at, j.id FROM jobs j INDEXED BY ${name} WHERE ${run} AND ${after}
ORDER BY j.run_at, j.id LIMIT 1 OFFSET @rows - 1`,
    sums: `
SELECT ${READY_SUMS} ${from}
WHERE ${run} AND ${after} AND (j.run_at, j.id) <= (@upToRunAt, @upToId)`,
    prefixesEnd: `
SELECT ${columns} FROM jobs j INDEXED BY ${name} WHERE ${where} AND ${pastPrefix}
ORDER BY ${columns}, j.priority DESC, j.run_at, j.id LIMIT 1 OFFSET @rows - 1`,
    prefixSums: prefixSums(
      `${pastPrefix} AND (${columns}) < (${prefix.map((column) => `@upTo_${column}`).join(', ')})`,
    ),
    prefixSumsRest: prefixSums(pastPrefix),
  };
}

/**
 * The statements that walk scheduled jobs (jobs_scheduled: run_at, then rowid) in ranges, each one
 * range seek: SQLite seeks (run_at, rowid) as a row value by run_at alone, so a range is the rest of
 * one due time's jobs after a rowid (`tie`: run_at = @runAt, rowid in (@afterRow, @upToRow]) or the
 * jobs strictly between two due times (`span`: run_at in (@after, @before)). `tieEnd` and `spanEnd`
 * find the @rows-th job of such a range (none: fewer are there); `select` (with `groupBy`) is what a
 * range sums.
 */
function scheduledWalk(
  select: string,
  groupBy: string,
): {
  tieEnd: string;
  spanEnd: string;
  tie: string;
  span: string;
} {
  const from = `FROM jobs j INDEXED BY jobs_scheduled LEFT JOIN concurrency_keys k ON k.key = j.concurrency_key`;
  const tie = "j.state = 'scheduled' AND j.run_at = @runAt";
  const span = "j.state = 'scheduled' AND j.run_at > @after AND j.run_at < @before";
  return {
    tieEnd: `
SELECT j.rowid AS row FROM jobs j INDEXED BY jobs_scheduled WHERE ${tie} AND j.rowid > @afterRow
ORDER BY j.rowid LIMIT 1 OFFSET @rows - 1`,
    spanEnd: `
SELECT j.run_at, j.rowid AS row FROM jobs j INDEXED BY jobs_scheduled WHERE ${span}
ORDER BY j.run_at, j.rowid LIMIT 1 OFFSET @rows - 1`,
    tie: `SELECT ${select} ${from} WHERE ${tie} AND j.rowid > @afterRow AND j.rowid <= @upToRow GROUP BY ${groupBy}`,
    span: `SELECT ${select} ${from} WHERE ${span} GROUP BY ${groupBy}`,
  };
}

/**
 * Scheduled jobs due at @now are ready: per queue and requirement set, what READY_SUMS sums, read
 * by the backlog walk over the due range of jobs_scheduled.
 */
export const scheduledDueWalk = scheduledWalk(
  'j.queue AS queue, j.requires AS requires, ' + READY_SUMS,
  'j.queue, j.requires',
);

/**
 * Scheduled jobs not due at @now, per queue: how many, and the soonest due time (the queue list's
 * `nextDueInMs`), read by the backlog walk past @now in jobs_scheduled.
 */
export const scheduledLaterWalk = scheduledWalk(
  'j.queue AS queue, count(*) AS count, min(j.run_at) AS next_due_at',
  'j.queue',
);

/**
 * Running jobs per queue (jobs_lease): at most the fleet's concurrency, read in one statement by the
 * backlog read.
 */
export const queueRunningList = `
SELECT queue, count(*) AS count FROM jobs INDEXED BY jobs_lease WHERE state = 'running' GROUP BY queue`;

/**
 * For each queue of @queues (a JSON list), whether it is paused, full (at its running limit) or out of
 * starts at @now (its rate): what holds all its ready jobs back (queue-throttle.ts).
 */
export const queueThrottleHolds = `
SELECT q.value AS queue,
       EXISTS (SELECT 1 FROM paused_queues p WHERE p.queue = q.value) AS paused,
       coalesce((SELECT l.max IS NOT NULL AND l.in_use >= l.max FROM queue_limits l WHERE l.queue = q.value), 0)
         AS queue_full,
       coalesce((SELECT ${rateFree('l')} < 1 FROM queue_limits l WHERE l.queue = q.value), 0) AS queue_rate_out
FROM json_each(@queues) q`;

/** The queues (null: all) and labels (null: none) of the live workers (workerLive, @staleMs). */
export const queueThrottleListLive = `SELECT queues, labels FROM workers WHERE ${workerLive}`;
