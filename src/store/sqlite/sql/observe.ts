/** Reads for metrics, alerts and the dashboard's charts (see ObserveStore in ../../store.ts). */
import { rateFree } from './rate-limits.js';
import { workerLive } from './worker-liveness.js';

/**
 * Per queue, the scheduled jobs not yet due at @now (how many, and the soonest due time; jobs_scheduled
 * past @now) and the running jobs (jobs_lease): what the queue list reads besides the ready jobs
 * (queueThrottleList), each bounded by what it counts.
 */
export const queueLaterAndRunningList = `
SELECT queue, 'scheduled' AS state, count(*) AS count, NULL AS oldest_ready_at, min(run_at) AS next_due_at
FROM jobs INDEXED BY jobs_scheduled WHERE state = 'scheduled' AND run_at > @now GROUP BY queue
UNION ALL
SELECT queue, 'running', count(*), NULL, NULL
FROM jobs INDEXED BY jobs_lease WHERE state = 'running' GROUP BY queue`;

/**
 * Waiting and running jobs per queue, in the states they read at @now (the store's clock): a due
 * scheduled job counts as queued (README "Job states"). The queued ones from the partial indexes
 * (jobs_ready_queue and jobs_ready_labels_queue for jobs without a group, without or with required
 * labels, in queue order, and jobs_ready_group and jobs_ready_group_labels for grouped ones; due
 * scheduled ones through jobs_scheduled, split at @now), the others as queueLaterAndRunningList reads
 * them: the cost follows the backlog and the running jobs, never the finished history.
 */
export const queueLoadList = `
SELECT queue, 'queued' AS state, sum(count) AS count, min(oldest_ready_at) AS oldest_ready_at,
       NULL AS next_due_at FROM (
  SELECT queue, count(*) AS count, min(run_at) AS oldest_ready_at
  FROM jobs INDEXED BY jobs_ready_queue WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL
  GROUP BY queue
  UNION ALL
  SELECT queue, count(*), min(run_at)
  FROM jobs INDEXED BY jobs_ready_labels_queue
  WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL GROUP BY queue
  UNION ALL
  SELECT queue, count(*), min(run_at)
  FROM jobs INDEXED BY jobs_ready_group
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NULL GROUP BY queue
  UNION ALL
  SELECT queue, count(*), min(run_at)
  FROM jobs INDEXED BY jobs_ready_group_labels
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NOT NULL GROUP BY queue
  UNION ALL
  SELECT queue, count(*), min(run_at)
  FROM jobs INDEXED BY jobs_scheduled WHERE state = 'scheduled' AND run_at <= @now GROUP BY queue)
GROUP BY queue
UNION ALL
${queueLaterAndRunningList}`;

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

// The ready jobs of `index` that `where` picks, per queue and requirement set, with the reasons their
// keys hold them back and the due time of the oldest.
const readyBy = (index: string, where: string): string => `
  SELECT j.queue AS queue, j.requires AS requires, count(*) AS ready, total((${KEY_HELD}) = 1) AS key_limit,
         total((${KEY_HELD}) = 2) AS key_rate, min(j.run_at) AS oldest
  FROM jobs j INDEXED BY ${index} LEFT JOIN concurrency_keys k ON k.key = j.concurrency_key
  WHERE ${where}
  GROUP BY j.queue, j.requires`;

/**
 * Ready jobs (queued, or scheduled and due at @now) per queue and requirement set, with how many their
 * keys hold back, the due time of the oldest (the queue list's oldest age and, summed, its queued
 * count), and whether the queue is paused, full or out of starts (the store tests the labels,
 * queue-throttle.ts judges the reasons). Queued jobs are read from the covering ready indexes (grouped
 * ones too), due scheduled ones through jobs_scheduled; never the finished history. Each read is one
 * pass of its index grouped in SQLite's aggregate loop: as a subquery kept whole (so that the key
 * probe, then a correlated select, ran once per job rather than once per sum) it cost 0.76 s against
 * 0.35 for 1,000,000 queued jobs.
 */
export const queueThrottleList = `
SELECT g.queue, g.requires, sum(g.ready) AS ready, sum(g.key_limit) AS key_limit, sum(g.key_rate) AS key_rate,
       @now - min(g.oldest) AS age_ms,
       EXISTS (SELECT 1 FROM paused_queues p WHERE p.queue = g.queue) AS paused,
       coalesce((SELECT l.max IS NOT NULL AND l.in_use >= l.max FROM queue_limits l WHERE l.queue = g.queue), 0)
         AS queue_full,
       coalesce((SELECT ${rateFree('l')} < 1 FROM queue_limits l WHERE l.queue = g.queue), 0) AS queue_rate_out
FROM (${readyBy('jobs_ready_queue', "j.state = 'queued' AND j.requires IS NULL AND j.group_key IS NULL")}
  UNION ALL${readyBy('jobs_ready_labels_queue', "j.state = 'queued' AND j.requires IS NOT NULL AND j.group_key IS NULL")}
  UNION ALL${readyBy('jobs_ready_group', "j.state = 'queued' AND j.group_key IS NOT NULL AND j.requires IS NULL")}
  UNION ALL${readyBy('jobs_ready_group_labels', "j.state = 'queued' AND j.group_key IS NOT NULL AND j.requires IS NOT NULL")}
  UNION ALL${readyBy('jobs_scheduled', "j.state = 'scheduled' AND j.run_at <= @now")}
) g
GROUP BY g.queue, g.requires`;

/** The queues (null: all) and labels (null: none) of the live workers (workerLive, @staleMs). */
export const queueThrottleListLive = `SELECT queues, labels FROM workers WHERE ${workerLive}`;
