/**
 * Maintenance statements: rescue of lapsed leases and retention. Both work in bounded batches with
 * SKIP LOCKED, so they never queue behind workers and never hold many row locks for long. Rows are
 * targeted by `id = ANY(ARRAY(...))` so each write is a primary-key lookup (see sql/job-claim.ts).
 */

/**
 * Recovers attempts whose lease ended before the database's now(): requeued while attempts remain,
 * failed when exhausted, cancelled when a cancel was pending. Writes a `lease_lapsed` run row for each.
 * $1 limit, $2 channel, $3 origin.
 */
export const rescueLapsed = (s: string): string => `
  WITH lapsed AS (
    SELECT id, attempt, max_attempts, worker_id, started_at, run_at, cancel_requested
    FROM ${s}.jobs
    WHERE state = 'running' AND lease_expires_at < now()
    ORDER BY lease_expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
  ), failure AS (
    SELECT jsonb_build_object('message', 'lease lapsed: the worker stopped renewing it',
                              'name', 'LeaseLapsed', 'reason', 'lease_lapsed') AS error
  ), updated AS (
    -- The rows are locked by lapsed, so their own columns are the values it read.
    UPDATE ${s}.jobs j
    SET state = CASE WHEN j.cancel_requested THEN 'cancelled'::${s}.job_state
                     WHEN j.attempt >= j.max_attempts THEN 'failed'::${s}.job_state
                     ELSE 'queued'::${s}.job_state END,
        finished_at = CASE WHEN j.cancel_requested OR j.attempt >= j.max_attempts THEN now() END,
        error = f.error,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = now()
    FROM failure f
    WHERE j.id = ANY(ARRAY(SELECT id FROM lapsed))
    RETURNING j.id, j.state, j.queue
  ), runs AS (
    INSERT INTO ${s}.job_runs (job_id, attempt, worker_id, started_at, finished_at, due_at, outcome, error)
    SELECT l.id, l.attempt, coalesce(l.worker_id, ''), coalesce(l.started_at, now()), now(), l.run_at,
           'lease_lapsed', f.error
    FROM lapsed l, failure f
  ), finished_note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'f', json_agg(json_build_array(id, state)))::text)
    FROM (SELECT id, state, (row_number() OVER ()) / 100 AS page FROM updated WHERE state <> 'queued') x
    GROUP BY page
  ), ready_note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'q', queue)::text)
    FROM (SELECT DISTINCT queue FROM updated WHERE state = 'queued') r
  )
  SELECT id, state, queue,
         (SELECT count(*) FROM finished_note) + (SELECT count(*) FROM ready_note) AS notified
  FROM updated`;

/**
 * Deletes a small batch of final jobs with their runs and steps, oldest finished first. Small batches
 * keep each transaction short (vacuum is never held back for long) and the freed space reusable.
 * $1 age in ms, $2 limit.
 *
 * It reads `jobs_finished_idx`, whose entry costs every final transition ~7-8k instructions (of ~80k
 * for a completion). A walk of the primary key (creation order) would need no index but re-reads, on
 * every pass, each old row not prunable yet: jobs delayed past the retention, old backlogs, jobs that
 * finished late. With 50k such rows beside 1M finished ones, EXPLAIN showed 8.7 ms per pass instead of
 * 0.7 ms, growing with them. Bounding the walk takes a cursor kept between passes and an index of the
 * rows it could miss (finished late or out of id order), and that index's predicate alone cost ~3k of
 * the ~7k saved (bench/sql-cost.ts).
 */
export const pruneJobs = (s: string): string => `
  WITH victims AS (
    SELECT id FROM ${s}.jobs
    WHERE state IN ('completed', 'failed', 'cancelled')
      AND finished_at < now() - $1::float8 * interval '1 millisecond'
    ORDER BY finished_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ), runs AS (
    DELETE FROM ${s}.job_runs WHERE job_id = ANY(ARRAY(SELECT id FROM victims))
  ), steps AS (
    DELETE FROM ${s}.job_steps WHERE job_id = ANY(ARRAY(SELECT id FROM victims))
  ), deleted AS (
    DELETE FROM ${s}.jobs WHERE id = ANY(ARRAY(SELECT id FROM victims)) RETURNING 1
  )
  SELECT count(*)::int AS deleted FROM deleted`;
