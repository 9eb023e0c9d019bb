/** Reads for metrics, alerts and the dashboard's charts (see ObserveStore in ../../store.ts). */

/**
 * Waiting and running jobs per queue. Each branch reads one partial index (queued: jobs_ready_queue
 * and jobs_ready_group, both in queue order; scheduled: jobs_scheduled; running: jobs_lease), so the
 * cost follows the backlog and the running jobs, never the finished history. @now: the store's clock.
 */
export const queueLoadList = `
SELECT queue, 'queued' AS state, sum(count) AS count, min(oldest_ready_at) AS oldest_ready_at FROM (
  SELECT queue, count(*) AS count, min(run_at) AS oldest_ready_at
  FROM jobs INDEXED BY jobs_ready_queue WHERE state = 'queued' AND group_key IS NULL GROUP BY queue
  UNION ALL
  SELECT queue, count(*), min(run_at)
  FROM jobs INDEXED BY jobs_ready_group WHERE state = 'queued' AND group_key IS NOT NULL GROUP BY queue)
GROUP BY queue
UNION ALL
SELECT queue, 'scheduled', count(*), min(CASE WHEN run_at <= @now THEN run_at END)
FROM jobs INDEXED BY jobs_scheduled WHERE state = 'scheduled' GROUP BY queue
UNION ALL
SELECT queue, 'running', count(*), NULL
FROM jobs INDEXED BY jobs_lease WHERE state = 'running' GROUP BY queue`;

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
