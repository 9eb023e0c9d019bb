/** Reads for metrics, alerts and the dashboard's charts (see ObserveStore in ../../store.ts). */
import { rateFree } from './rate-limits.js';
import { workerLive } from './worker-liveness.js';

/**
 * The running jobs, found through the claims that hold them (`job_leases`, one row per claim) and read
 * by primary key: `jobs` has no index on state (migration 005), and this never walks finished rows.
 * `id = ANY(ARRAY(...))` is what makes the primary key the path: as a join, the planner without
 * statistics hashed a sequential scan of `jobs` instead. A job a finish or a later claim took from a
 * claim's list is dropped by the state check (and read once however many lists still name it).
 */
const running = (s: string): string => `
  ${s}.jobs j
  WHERE j.id = ANY(ARRAY(SELECT unnest(job_ids) FROM ${s}.job_leases)) AND j.state = 'running'`;

/**
 * Per queue, the scheduled jobs not yet due (how many, and the soonest due time) and the running jobs:
 * what the queue list reads besides the ready jobs (queueThrottleList), each bounded by what it
 * counts. The scheduled ones through job_queue's scheduled index past now, the running ones through
 * the claims that hold them (`job_leases`).
 */
export const queueLaterAndRunningList = (s: string): string => `
  SELECT queue, 'scheduled' AS state, count(*)::int AS count,
         NULL::timestamptz AS oldest_ready_at, min(run_at) AS next_due_at
  FROM ${s}.job_queue WHERE state = 'scheduled' AND run_at > ${s}.nightshift_now()
  GROUP BY queue
  UNION ALL
  SELECT j.queue, 'running', count(*)::int, NULL, NULL
  FROM ${running(s)}
  GROUP BY j.queue`;

/**
 * Waiting and running jobs per queue, in the states they read now: a due scheduled job counts as
 * queued (README "Job states"). `job_queue` holds exactly the waiting jobs (one row each, deleted by the
 * claim), so reading it is bounded by the backlog: the ready ones in one pass, grouped by hashing
 * (PostgresConnection.groupedRows), the others as queueLaterAndRunningList reads them.
 */
export const queueLoadList = (s: string): string => `
  SELECT queue, 'queued' AS state, count(*)::int AS count, min(run_at) AS oldest_ready_at,
         NULL::timestamptz AS next_due_at
  FROM ${s}.job_queue WHERE state = 'queued' OR run_at <= ${s}.nightshift_now()
  GROUP BY queue
  UNION ALL
  ${queueLaterAndRunningList(s)}`;

/** Running jobs, the earliest lease end first. $1 limit. */
export const jobRunningList = (s: string): string => `
  SELECT j.id, j.task, j.queue, j.attempt, j.started_at, j.lease_expires_at, j.worker_id
  FROM ${running(s)}
  ORDER BY j.lease_expires_at LIMIT $1`;

/**
 * Missed and skipped ledger rows per schedule recorded in the last $1 ms, by schedule_slots_recorded_idx.
 * The upper bound excludes nothing (rows are recorded at the database's now); it makes the condition a
 * range, which a planner without statistics expects to be narrow (a one-sided bound it expects to match
 * a third of the table, and then reads all of it).
 */
export const scheduleSlotLapseList = (s: string): string => `
  SELECT schedule_id,
         sum(CASE WHEN status = 'missed' THEN coalesce(slot_count, 1) ELSE 0 END)::float8 AS missed,
         sum(CASE WHEN status = 'skipped' THEN coalesce(slot_count, 1) ELSE 0 END)::float8 AS skipped,
         min(recorded_at) AS since
  FROM ${s}.schedule_slots
  WHERE recorded_at >= ${s}.nightshift_now() - $1 * interval '1 millisecond'
    AND recorded_at <= ${s}.nightshift_now() + interval '1 hour'
    AND status IN ('missed', 'skipped')
  GROUP BY schedule_id ORDER BY schedule_id`;

/** Milliseconds from `a` to `b`, whole, never negative. */
const ms = (a: string, b: string): string => `greatest(0, round(extract(epoch FROM ${b} - ${a}) * 1000))`;

/**
 * Attempts ended per bucket of $2 ms over the last $1 buckets (the current one included; buckets start
 * at whole multiples of $2 ms since the epoch, as on SQLite), with nearest-rank
 * percentiles (`percentile_disc`, as the SQLite store computes them). Completed jobs come through
 * `job_finish_log` by its time index and then the primary key (a plain completion writes no run row,
 * and `jobs` has no index on finish time), failed, timed-out and lapsed runs by job_runs_finished_idx,
 * each run's job by primary key. The cost follows the attempts in the window. A failure is final
 * (`failed`) when it was its job's last attempt and the job ended failed; otherwise `retried`.
 */
export const jobRunStats = (s: string): string => `
  WITH since AS (
    SELECT to_timestamp((floor(extract(epoch FROM ${s}.nightshift_now()) * 1000 / $2::int) - ($1::int - 1))
                        * $2::int / 1000.0) AS at),
  ended AS (
    SELECT j.finished_at, 'completed' AS kind,
           ${ms('j.run_at', 'coalesce(j.started_at, j.finished_at)')} AS wait_ms,
           ${ms('coalesce(j.started_at, j.finished_at)', 'j.finished_at')} AS run_ms
    FROM ${s}.jobs j
    WHERE j.id = ANY(ARRAY(SELECT unnest(job_ids) FROM ${s}.job_finish_log
                           WHERE finished_at >= (SELECT at FROM since)))
      AND j.state = 'completed'
    UNION ALL
    SELECT r.finished_at,
           CASE WHEN (SELECT j.state = 'failed' AND j.attempt = r.attempt FROM ${s}.jobs j WHERE j.id = r.job_id)
                THEN 'failed' ELSE 'retried' END,
           ${ms('r.due_at', 'r.started_at')}, ${ms('r.started_at', 'r.finished_at')}
    FROM ${s}.job_runs r
    WHERE r.finished_at >= (SELECT at FROM since) AND r.outcome IN ('failed', 'timeout', 'lease_lapsed')
  )
  SELECT (floor(extract(epoch FROM finished_at) * 1000 / $2::int) * $2::int)::float8 AS bucket_ms,
         count(*) FILTER (WHERE kind = 'completed')::int AS completed,
         count(*) FILTER (WHERE kind = 'failed')::int AS failed,
         count(*) FILTER (WHERE kind = 'retried')::int AS retried,
         percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY wait_ms)::float8[] AS wait_ms,
         percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY run_ms)::float8[] AS run_ms
  FROM ended WHERE finished_at >= (SELECT at FROM since)
  GROUP BY 1 ORDER BY 1`;

/**
 * Per queue: its ready jobs (queued, or scheduled and due), how many of them require labels that no
 * worker heard from in the last $1 ms offers, how many of the others their key holds back now (at its
 * limit; out of starts), the age of the oldest (the queue list's oldest age), and whether the queue is
 * paused, claimed from by no such worker, full or out of starts (queue-throttle.ts judges the reasons). One read of `job_queue`, which
 * holds only the waiting jobs (never the finished history), each keyed job's key found by a hash of
 * the keys and each labelled job tested against the live workers' labels (a handful of rows); grouped
 * by queue alone, hashed (PostgresConnection.groupedRows) rather than sorting the backlog. One
 * statement, so one snapshot.
 */
export const queueThrottleList = (s: string): string => `
  WITH offered AS MATERIALIZED (
    SELECT labels FROM ${s}.workers w WHERE ${workerLive(s, 'w', '$1')} AND labels IS NOT NULL
  ), queues AS (
    SELECT queue, count(*)::int AS ready, (count(*) FILTER (WHERE NOT offered))::int AS labels,
           (count(*) FILTER (WHERE offered AND key_held = 1))::int AS key_limit,
           (count(*) FILTER (WHERE offered AND key_held = 2))::int AS key_rate,
           extract(epoch FROM ${s}.nightshift_now() - min(run_at)) * 1000 AS "ageMs",
           floor(extract(epoch FROM min(run_at)) * 1000)::float8 AS "oldestReadyAt"
    FROM (
      SELECT r.queue, r.run_at,
             r.requires IS NULL OR EXISTS (SELECT 1 FROM offered o WHERE r.requires <@ o.labels) AS offered,
             CASE WHEN k.key IS NULL THEN NULL
                  WHEN k.in_use >= coalesce(k.max, r.concurrency_limit) THEN 1
                  WHEN ${rateFree(s, 'k')} < 1 THEN 2 END AS key_held
      FROM ${s}.job_queue r
      LEFT JOIN ${s}.concurrency_keys k ON k.key = r.concurrency_key
      WHERE r.state = 'queued' OR r.run_at <= ${s}.nightshift_now()
      -- A fence: each row's tests run once, not once per aggregate that reads them.
      OFFSET 0
    ) ready
    GROUP BY queue
  )
  SELECT g.*,
         EXISTS (SELECT 1 FROM ${s}.paused_queues p WHERE p.queue = g.queue) AS paused,
         NOT EXISTS (
           SELECT 1 FROM ${s}.workers w
           WHERE ${workerLive(s, 'w', '$1')} AND (w.queues IS NULL OR g.queue = ANY (w.queues))) AS unserved,
         coalesce((SELECT l.max IS NOT NULL AND l.in_use >= l.max FROM ${s}.queue_limits l WHERE l.queue = g.queue),
                  false) AS queue_full,
         coalesce((SELECT ${rateFree(s, 'l')} < 1 FROM ${s}.queue_limits l WHERE l.queue = g.queue), false)
           AS queue_rate_out
  FROM queues g`;

/**
 * The backlog (`queueBacklog`) in one statement, so on one clock and one snapshot: the ready jobs per
 * queue with their oldest due times and throttled counts (queueThrottleList, $1 its stale bound), and
 * the scheduled jobs not yet due and the running ones (queueLaterAndRunningList), each as a JSON
 * array, times as whole ms since the epoch (rounded down: a reader that waits until such a time + 1
 * finds it passed).
 */
export const queueBacklog = (s: string): string => `
  SELECT
    (SELECT coalesce(json_agg(json_build_object(
              'queue', l.queue, 'state', l.state, 'count', l.count,
              'nextDueAt', floor(extract(epoch FROM l.next_due_at) * 1000))), '[]')
     FROM (${queueLaterAndRunningList(s)}) l) AS later,
    (SELECT coalesce(json_agg(r), '[]') FROM (${queueThrottleList(s)}) r) AS ready`;
