/**
 * Maintenance statements: rescue of lapsed leases and retention. Both work in bounded batches with
 * SKIP LOCKED, so they never queue behind workers and never hold many row locks for long. Job rows are
 * targeted by `id = ANY(ARRAY(...))` so each write is a primary-key lookup (see sql/job-claim.ts); the
 * key-less log rows by the addresses their locking scan returned.
 */
import { jobFinishManyEventType, jobEventInsert } from './events.js';
import { capacityNote, giveBack } from './concurrency-limits.js';

/**
 * Recovers attempts whose lease ended before the store's clock (nightshift_now()): requeued while
 * attempts remain, failed when exhausted, cancelled when a cancel was pending. Writes a `lease_lapsed`
 * run row for each. $1 limit, $2 channel, $3 origin.
 *
 * Lapsed attempts are found through the claims' job_leases rows (earliest lease end first, SKIP
 * LOCKED, so concurrent rescuers split the work), then judged one by one on their own lease end. The
 * jobs still running under such a claim are locked with SKIP LOCKED too: a job whose row another
 * transaction holds (a finish in flight, a renewal, a fenced write in an application transaction,
 * one left open by a client gone silent) is neither waited for nor rescued now, so one held row never
 * keeps the rest of the pass running, and a finish that commits always wins. Each claim row afterwards
 * holds the earliest lease end among its jobs still running, or is deleted when none is; a job skipped
 * counts as ending now at the latest, so its claim stays due and a later pass, once the row is free,
 * rescues it or sees it finished (and then drops the row).
 */
export const jobRescueLapsed = (s: string): string => `
  WITH expired AS (
    SELECT token, job_ids FROM ${s}.job_leases
    WHERE expires_at < ${s}.nightshift_now()
    ORDER BY expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
  ), running AS (
    -- The jobs still running under those claims as the statement's snapshot shows them, locked or not.
    SELECT j.id, j.lease_token, j.lease_expires_at
    FROM ${s}.jobs j
    WHERE j.id = ANY(ARRAY(SELECT unnest(job_ids) FROM expired))
      AND j.lease_token = ANY(ARRAY(SELECT token FROM expired)) AND j.state = 'running'
  ), members AS (
    -- Those whose row is free now, locked and read again as committed: a job that left running
    -- meanwhile is not among them.
    SELECT j.id, j.lease_token, j.lease_expires_at, j.attempt, j.worker_id, j.started_at, j.run_at
    FROM ${s}.jobs j
    WHERE j.id = ANY(ARRAY(SELECT id FROM running))
      AND j.lease_token = ANY(ARRAY(SELECT token FROM expired)) AND j.state = 'running'
    FOR UPDATE SKIP LOCKED
  ), lapsed AS (
    SELECT * FROM members WHERE lease_expires_at < ${s}.nightshift_now() ORDER BY lease_expires_at, id LIMIT $1
  ), failure AS (
    SELECT jsonb_build_object('message', 'lease lapsed: the worker stopped renewing it',
                              'name', 'LeaseLapsed', 'reason', 'lease_lapsed') AS error
  ), updated AS (
    -- The rows are locked by members, so their own columns are the values it read.
    UPDATE ${s}.jobs j
    SET state = CASE WHEN j.cancel_requested THEN 'cancelled'::${s}.job_state
                     WHEN j.attempt >= j.max_attempts THEN 'failed'::${s}.job_state
                     ELSE 'queued'::${s}.job_state END,
        finished_at = CASE WHEN j.cancel_requested OR j.attempt >= j.max_attempts THEN ${s}.nightshift_now() END,
        error = f.error,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = ${s}.nightshift_now()
    FROM failure f
    WHERE j.id = ANY(ARRAY(SELECT id FROM lapsed))
    RETURNING j.id, j.state, j.task, j.queue, j.priority, j.run_at, j.attempt, j.schedule_id, j.error,
              j.concurrency_key, j.concurrency_limit, j.requires, j.group_key, j.queue_slot
  ), ${giveBack(s, 'updated')}, ended AS (${jobEventInsert(s, 'updated', {
    type: jobFinishManyEventType('state', "'lease_lapsed'"),
    attempt: 'attempt',
    state: 'state',
    error: 'error',
  })}
  ), requeued AS (
    INSERT INTO ${s}.job_queue (id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key)
    SELECT id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key FROM updated WHERE state = 'queued'
  ), logged AS (
    INSERT INTO ${s}.job_finish_log (finished_at, job_ids)
    SELECT ${s}.nightshift_now(), array_agg(id) FROM updated WHERE state <> 'queued' HAVING count(*) > 0
  ), remaining AS (
    -- Per claim, the jobs left running: those locked and not rescued, at their lease end, and those
    -- skipped, at their lease end as the snapshot read it or now, whichever is earlier.
    SELECT token, min(expires_at) AS expires_at FROM (
      SELECT lease_token AS token, lease_expires_at AS expires_at FROM members
      WHERE id <> ALL(ARRAY(SELECT id FROM lapsed))
      UNION ALL
      SELECT lease_token, least(lease_expires_at, ${s}.nightshift_now()) FROM running
      WHERE id <> ALL(ARRAY(SELECT id FROM members))
    ) left_running
    GROUP BY token
  ), kept AS (
    UPDATE ${s}.job_leases l SET expires_at = r.expires_at
    FROM remaining r WHERE l.token = r.token
  ), dropped AS (
    DELETE FROM ${s}.job_leases l
    WHERE l.token = ANY(ARRAY(SELECT token FROM expired EXCEPT SELECT token FROM remaining))
  ), runs AS (
    INSERT INTO ${s}.job_runs (job_id, attempt, worker_id, started_at, finished_at, due_at, outcome, error)
    SELECT l.id, l.attempt, coalesce(l.worker_id, ''), coalesce(l.started_at, ${s}.nightshift_now()),
           ${s}.nightshift_now(), l.run_at, 'lease_lapsed', f.error
    FROM lapsed l, failure f
  ), finished_note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'f', json_agg(json_build_array(id, state)))::text)
    FROM (SELECT id, state, (row_number() OVER ()) / 100 AS page FROM updated WHERE state <> 'queued') x
    GROUP BY page
  ), ready_note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'q', queue)::text)
    FROM (SELECT DISTINCT queue FROM updated WHERE state = 'queued') r
  ), ${capacityNote('updated', '$2', '$3')}
  SELECT u.id, u.state, u.queue,
         (SELECT count(*) FROM finished_note) + (SELECT count(*) FROM ready_note) AS notified,
         (SELECT count(*) FROM capacity_note) > 0 AS freed
  FROM updated u JOIN lapsed l ON l.id = u.id
  ORDER BY l.lease_expires_at, u.id`;

/**
 * Drops the lease rows of claims none of whose jobs still runs under the claim's token, a page of $1
 * rows at a time in lease-end order after the cursor ($2, the last lease end of the page before, as
 * text; null for the first page). Without it a claim's row stayed until the rescue met it at its
 * lease end, and every read that finds running jobs through these rows (queue load, running jobs,
 * alerts, `jobs list --state running`) looked up the ids of every claim of the last lease: at 8,000
 * jobs/s and 30 s leases, 240,000 ids per read. A claim's jobs never run under its token again once
 * they stopped, so what the statement's snapshot shows is final: rows are read without locks, and only
 * the ended ones are locked, with SKIP LOCKED (a rescue holding one drops it itself), then deleted.
 * A row sharing its lease end with the last of a page waits for the next pass (or the rescue).
 * Returns how many rows the page read, and its last lease end as the next cursor.
 */
export const jobLeaseSweep = (s: string): string => `
  WITH page AS (
    SELECT token, job_ids, expires_at FROM ${s}.job_leases
    WHERE expires_at > coalesce($2::timestamptz, '-infinity')
    ORDER BY expires_at
    LIMIT $1
  ), ended AS (
    SELECT p.token FROM page p
    WHERE NOT EXISTS (SELECT FROM ${s}.jobs j
                      WHERE j.id = ANY(p.job_ids) AND j.lease_token = p.token AND j.state = 'running')
  ), swept AS (
    DELETE FROM ${s}.job_leases l
    WHERE l.ctid = ANY(ARRAY(SELECT ctid FROM ${s}.job_leases
                             WHERE token = ANY(ARRAY(SELECT token FROM ended))
                             FOR UPDATE SKIP LOCKED))
  )
  SELECT count(*)::int AS read, max(expires_at)::text AS last_expires_at FROM page`;

/**
 * Whether no job waits in any queue and no claim's lease row is left (the rescuer's idle check; a
 * row stays until the rescue's next pass after its jobs ended, `jobLeaseSweep`, which only delays idleness). One probe per
 * partial index of job_queue, whose predicates together cover every row (a job there is scheduled, or
 * queued with or without requirements and a group), and one of job_leases: each stops at its first
 * entry, so the check reads a few pages whatever the backlog.
 */
export const jobIdleCheck = (s: string): string => `
  SELECT NOT EXISTS (SELECT FROM ${s}.job_leases)
     AND NOT EXISTS (SELECT FROM ${s}.job_queue WHERE state = 'scheduled')
     AND NOT EXISTS (SELECT FROM ${s}.job_queue WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL)
     AND NOT EXISTS (SELECT FROM ${s}.job_queue WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL)
     AND NOT EXISTS (SELECT FROM ${s}.job_queue WHERE state = 'queued' AND requires IS NULL AND group_key IS NOT NULL)
     AND NOT EXISTS (SELECT FROM ${s}.job_queue WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NOT NULL)
     AS idle`;

/**
 * Deletes a small batch of final jobs with their runs, steps and log lines, oldest finished first. Small batches
 * keep each transaction short (vacuum is never held back for long) and the freed space reusable.
 * $1 age in ms, $2 limit.
 *
 * The order comes from job_finish_log, one row per statement that ended jobs: the oldest rows whose
 * jobs add up to the limit (at most $2 rows are read to find them, only those are locked), then their
 * jobs that are still
 * final and old, by their own finish time. A logged job that is no longer final (retried) or finished
 * again later has a newer log row and is dropped from this one. The last row keeps what the limit cut
 * off; the others go.
 */
export const jobPrune = (s: string): string => `
  WITH oldest AS (
    SELECT ctid AS row_id, finished_at, cardinality(job_ids) AS size FROM ${s}.job_finish_log
    WHERE finished_at < ${s}.nightshift_now() - $1::float8 * interval '1 millisecond'
    ORDER BY finished_at
    LIMIT $2
  ), needed AS (
    SELECT row_id FROM (
      SELECT row_id, sum(size) OVER (ORDER BY finished_at, row_id) - size AS before FROM oldest
    ) counted
    WHERE before < $2
  ), logs AS (
    -- Locked by address once the rows needed are known; a row another pruner changed meanwhile has a
    -- new address and is left to it.
    SELECT ctid AS row_id, job_ids FROM ${s}.job_finish_log
    WHERE ctid = ANY(ARRAY(SELECT row_id FROM needed))
    FOR UPDATE SKIP LOCKED
  ), candidates AS (
    SELECT j.id, j.finished_at FROM ${s}.jobs j
    WHERE j.id = ANY(ARRAY(SELECT unnest(job_ids) FROM logs))
      AND j.state IN ('completed', 'failed', 'cancelled')
      AND j.finished_at < ${s}.nightshift_now() - $1::float8 * interval '1 millisecond'
  ), victims AS (
    SELECT id FROM ${s}.jobs
    WHERE id = ANY(ARRAY(SELECT id FROM candidates ORDER BY finished_at, id LIMIT $2))
      AND state IN ('completed', 'failed', 'cancelled')
    FOR UPDATE SKIP LOCKED
  ), runs AS (
    DELETE FROM ${s}.job_runs WHERE job_id = ANY(ARRAY(SELECT id FROM victims))
  ), steps AS (
    DELETE FROM ${s}.job_steps WHERE job_id = ANY(ARRAY(SELECT id FROM victims))
  ), job_log_lines AS (
    DELETE FROM ${s}.job_logs WHERE job_id = ANY(ARRAY(SELECT id FROM victims))
  ), deleted AS (
    DELETE FROM ${s}.jobs WHERE id = ANY(ARRAY(SELECT id FROM victims)) RETURNING 1
  ), leftover AS (
    SELECT l.row_id, ARRAY(SELECT x FROM unnest(l.job_ids) AS x
                           WHERE x IN (SELECT id FROM candidates) AND x NOT IN (SELECT id FROM victims)) AS job_ids
    FROM logs l
  ), kept AS (
    UPDATE ${s}.job_finish_log f SET job_ids = o.job_ids
    FROM leftover o WHERE f.ctid = o.row_id AND cardinality(o.job_ids) > 0
  ), dropped AS (
    DELETE FROM ${s}.job_finish_log f
    WHERE f.ctid = ANY(ARRAY(SELECT row_id FROM leftover WHERE cardinality(job_ids) = 0))
  )
  SELECT count(*)::int AS deleted FROM deleted`;
