/**
 * Operator actions on jobs: cancel and manual retry, one or in bulk. Each transition writes its event
 * (`job:cancelled`, `job:retrying`, migration 010) in the same statement.
 */
import type { WaitingSet } from '../../store.js';
import { jobEventInsert } from './events.js';

import { deadJobsWalk, jobListMatchFilters } from './job-read.js';

/**
 * Cancels a waiting job at once, or flags a running one for its worker. Returns the state before the
 * call beside the updated row (absent when nothing changed). $1 id, $2 channel, $3 origin.
 *
 * A waiting job is cancelled only by deleting its queue row first (the lock order of every writer, see
 * migration 005), found by its full index key. If a claim takes that row meanwhile, the delete waits
 * for it and then finds nothing; the job row's UPDATE, re-checked on the newest version, then sees the
 * job running and flags it instead.
 */
export const jobCancel = (s: string): string => `
  WITH current AS (
    SELECT id, state, queue, priority, run_at, requires, group_key FROM ${s}.jobs WHERE id = $1
  ), dequeued AS (
    -- Any partial index, whatever state the job had: a claim may promote it meanwhile, and the
    -- re-check after that wait then finds it queued under the same key. The queue is part of the key
    -- so that no scheduled-row index is walked without its leading column; a queued job without a
    -- group is in the ready indexes of jobs without requirements, or in the labelled ones under its
    -- requirement set; a grouped one is found by its group (job_queue_ready_group_idx), or by its
    -- requirement set and group (job_queue_ready_group_labels_idx). The priority
    -- is given in both spellings the ready indexes use, so whichever the planner takes (without
    -- statistics it may take a per-queue one) is probed by its whole key, never walked.
    DELETE FROM ${s}.job_queue q
    WHERE q.id = $1 AND q.run_at = (SELECT run_at FROM current) AND q.queue = (SELECT queue FROM current)
      AND ((q.state = 'queued' AND q.group_key IS NULL AND q.requires IS NULL
            AND q.priority = (SELECT priority FROM current)
            AND -(q.priority::bigint) = (SELECT -(priority::bigint) FROM current))
           OR (q.state = 'queued' AND q.group_key IS NULL AND q.requires = (SELECT requires FROM current)
               AND q.priority = (SELECT priority FROM current)
               AND -(q.priority::bigint) = (SELECT -(priority::bigint) FROM current))
           OR (q.state = 'queued' AND q.priority = (SELECT priority FROM current)
               AND q.group_key = (SELECT group_key FROM current) AND q.requires IS NULL)
           OR (q.state = 'queued' AND q.requires = (SELECT requires FROM current)
               AND q.group_key = (SELECT group_key FROM current) AND q.priority = (SELECT priority FROM current))
           OR q.state = 'scheduled')
    RETURNING q.id
  ), updated AS (
    UPDATE ${s}.jobs j
    SET state = CASE WHEN EXISTS (SELECT 1 FROM dequeued) THEN 'cancelled' ELSE j.state END,
        cancel_requested = (j.state = 'running') OR j.cancel_requested,
        finished_at = CASE WHEN EXISTS (SELECT 1 FROM dequeued) THEN ${s}.nightshift_now() ELSE j.finished_at END,
        updated_at = ${s}.nightshift_now()
    FROM current c
    -- Not the state read above: a claim that took the job meanwhile committed a newer row version,
    -- which this UPDATE locks and re-checks, and then flags as running.
    WHERE j.id = c.id AND j.state IN ('scheduled', 'queued', 'running')
    RETURNING j.*
  ), logged AS (
    INSERT INTO ${s}.job_finish_log (finished_at, job_ids)
    SELECT finished_at, ARRAY[id] FROM updated WHERE state = 'cancelled'
  ), ended AS (${jobEventInsert(s, "updated WHERE state = 'cancelled'", { type: "'job:cancelled'", attempt: 'attempt', state: 'state' })}
  ), note AS (
    -- A cancelled job is finished; a running one's worker is told to abort it (listener.ts, 'x'), so
    -- the handler's signal does not wait for the next lease renewal.
    SELECT pg_notify($2, CASE
      WHEN state = 'cancelled'
        THEN json_build_object('o', $3::text, 'f', json_build_array(json_build_array(id, state)))
      ELSE json_build_object('o', $3::text, 'x', json_build_array(id))
    END::text)
    FROM updated WHERE state = 'cancelled' OR (state = 'running' AND cancel_requested)
  )
  SELECT c.state AS previous_state, (SELECT count(*) FROM note) AS notified, u.*
  FROM current c LEFT JOIN updated u ON true`;

// What a manual retry writes: queued, due now, one more attempt allowed (max_attempts never shrinks).
const RETRY_SET = (s: string): string => `state = 'queued',
        run_at = ${s}.nightshift_now(),
        max_attempts = greatest(max_attempts, attempt + 1),
        finished_at = NULL,
        cancel_requested = false,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = ${s}.nightshift_now()`;

/**
 * Of the given attempts ($1 ids, $2 lease tokens), the current ones whose job was asked to cancel. A
 * read by primary key per attempt, nothing locked or written.
 */
export const jobCancelCheck = (s: string): string => `
  SELECT j.id
  FROM unnest($1::uuid[], $2::uuid[]) AS i(id, lease_token)
  JOIN ${s}.jobs j ON j.id = i.id
  WHERE j.lease_token = i.lease_token AND j.state = 'running' AND j.cancel_requested`;

/**
 * Puts a failed or cancelled job back in the ready set, due now, allowing one attempt more than it has
 * used. $1 id, $2 channel, $3 origin.
 */
export const jobRetry = (s: string): string => `
  WITH updated AS (
    UPDATE ${s}.jobs
    SET ${RETRY_SET(s)}
    WHERE id = $1 AND state IN ('failed', 'cancelled')
    RETURNING *
  ), requeued AS (
    INSERT INTO ${s}.job_queue (id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key)
    SELECT id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key FROM updated
  ), retrying AS (${jobEventInsert(s, 'updated', { type: "'job:retrying'", attempt: 'attempt', state: 'state' })}
  ), note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'q', queue)::text) FROM updated
  )
  SELECT updated.*, (SELECT count(*) FROM note) AS notified FROM updated`;

/**
 * Deletes one final job with its runs, steps and log lines. The job row is locked and its state re-checked on the
 * newest version, so a retry committing meanwhile keeps the job. Its job_finish_log entry stays behind;
 * retention drops ids whose job is gone (sql/job-maintenance.ts). $1 id.
 */
export const jobDelete = (s: string): string => `
  WITH victim AS (
    SELECT id FROM ${s}.jobs WHERE id = $1 AND state IN ('completed', 'failed', 'cancelled') FOR UPDATE
  ), runs AS (
    DELETE FROM ${s}.job_runs WHERE job_id = ANY(ARRAY(SELECT id FROM victim))
  ), steps AS (
    DELETE FROM ${s}.job_steps WHERE job_id = ANY(ARRAY(SELECT id FROM victim))
  ), logs AS (
    DELETE FROM ${s}.job_logs WHERE job_id = ANY(ARRAY(SELECT id FROM victim))
  ), deleted AS (
    DELETE FROM ${s}.jobs WHERE id = ANY(ARRAY(SELECT id FROM victim)) RETURNING 1
  )
  SELECT (SELECT count(*) FROM deleted)::int AS deleted,
         EXISTS (SELECT 1 FROM ${s}.jobs WHERE id = $1) AS present`;

/**
 * jobRetry for a batch of jobs in one final state matching the filters: the dead jobs oldest first from
 * after the last id of the previous batch (deadJobsWalk), so the cost follows the failed and cancelled
 * jobs, never the completed history.
 * $1 state ('failed' or 'cancelled'), $2 queue, $3 task, $4 after id (each nullable but $1), $5 limit,
 * $6 channel, $7 origin, $8-$10 jobListMatchFilters.
 */
export const jobRetryMatching = (s: string): string => `
  WITH picked AS (
    SELECT j.id
    FROM ${deadJobsWalk(s, 'ASC')}
    WHERE j.state = $1::text::${s}.job_state
      AND ($2::text IS NULL OR j.queue = $2)
      AND ($3::text IS NULL OR j.task = $3)${jobListMatchFilters('j', 8)}
    ORDER BY d.id
    LIMIT $5
  ), updated AS (
    UPDATE ${s}.jobs
    SET ${RETRY_SET(s)}
    WHERE id = ANY(ARRAY(SELECT id FROM picked)) AND state = $1::text::${s}.job_state
    RETURNING id, task, queue, priority, run_at, state, attempt, schedule_id, concurrency_key, concurrency_limit,
              requires, group_key
  ), requeued AS (
    INSERT INTO ${s}.job_queue (id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key)
    SELECT id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key FROM updated
  ), retrying AS (${jobEventInsert(s, 'updated', { type: "'job:retrying'", attempt: 'attempt', state: 'state' })}
  ), note AS (
    SELECT pg_notify($6, json_build_object('o', $7::text, 'q', queue)::text)
    FROM (SELECT DISTINCT queue FROM updated) q
  )
  SELECT (SELECT count(*) FROM picked)::int AS picked,
         (SELECT id FROM picked ORDER BY id DESC LIMIT 1) AS last,
         (SELECT count(*) FROM updated)::int AS changed,
         coalesce((SELECT array_agg(DISTINCT queue) FROM updated), '{}') AS queues,
         (SELECT count(*) FROM note) AS notified`;

/** The job_queue rows `q` of one waiting set (WAITING_SETS): scheduled ones split at the store's clock. */
const waitingSet = (s: string, set: WaitingSet): string =>
  set === 'queued'
    ? `q.state = 'queued'`
    : `q.state = 'scheduled' AND q.run_at ${set === 'due' ? '<=' : '>'} ${s}.nightshift_now()`;

/**
 * jobCancel for a batch of waiting jobs in one waiting set (WAITING_SETS) matching the filters. The
 * queue rows are locked first (the lock order of every writer, see migration 005) with SKIP LOCKED, so
 * a claim taking a row wins it and the job runs; each locked row is deleted by its address and its job
 * cancelled. One statement per set, with the state as a literal, so each walks its own partial index
 * (scheduled rows: a range of it). $1 queue, $2 task (nullable), $3 limit, $4 channel, $5 origin,
 * $6-$8 jobListMatchFilters.
 */
export const jobCancelMatchingWaiting = (s: string, set: WaitingSet): string => `
  WITH picked AS (
    SELECT q.ctid AS row_id FROM ${s}.job_queue q
    WHERE ${waitingSet(s, set)}
      AND ($1::text IS NULL OR q.queue = $1)
      AND (($2::text IS NULL AND $6::text IS NULL AND $7::timestamptz IS NULL AND $8::timestamptz IS NULL)
           OR EXISTS (SELECT 1 FROM ${s}.jobs j WHERE j.id = q.id AND ($2::text IS NULL OR j.task = $2)${jobListMatchFilters('j', 6)}))
    LIMIT $3
    FOR UPDATE SKIP LOCKED
  ), dequeued AS (
    DELETE FROM ${s}.job_queue q WHERE q.ctid = ANY(ARRAY(SELECT row_id FROM picked)) RETURNING q.id
  ), updated AS (
    UPDATE ${s}.jobs j
    SET state = 'cancelled', finished_at = ${s}.nightshift_now(), updated_at = ${s}.nightshift_now()
    WHERE j.id = ANY(ARRAY(SELECT id FROM dequeued)) AND j.state IN ('scheduled', 'queued')
    RETURNING j.id, j.task, j.queue, j.attempt, j.schedule_id
  ), ended AS (${jobEventInsert(s, 'updated', { type: "'job:cancelled'", attempt: 'attempt', state: "'cancelled'" })}
  ), logged AS (
    INSERT INTO ${s}.job_finish_log (finished_at, job_ids)
    SELECT ${s}.nightshift_now(), array_agg(id) FROM updated HAVING count(*) > 0
  ), note AS (
    SELECT pg_notify($4, json_build_object('o', $5::text, 'f', json_agg(json_build_array(id, 'cancelled')))::text)
    FROM (SELECT id, (row_number() OVER ()) / 100 AS page FROM updated) x
    GROUP BY page
  )
  SELECT (SELECT count(*) FROM picked)::int AS picked,
         coalesce((SELECT array_agg(id::text) FROM updated), '{}') AS ids,
         (SELECT count(*) FROM note) AS notified`;

/**
 * Flags a batch of running jobs matching the filters, found through the claims' job_leases rows (the
 * running jobs' only index), as jobCancel flags one. $1 queue, $2 task (nullable), $3 limit, $4-$6
 * jobListMatchFilters.
 */
export const jobCancelMatchingRunning = (s: string): string => `
  WITH picked AS (
    SELECT id FROM ${s}.jobs
    WHERE id = ANY(ARRAY(SELECT unnest(job_ids) FROM ${s}.job_leases))
      AND state = 'running' AND NOT cancel_requested
      AND ($1::text IS NULL OR queue = $1)
      AND ($2::text IS NULL OR task = $2)${jobListMatchFilters(`${s}.jobs`, 4)}
    LIMIT $3
  )
  UPDATE ${s}.jobs SET cancel_requested = true, updated_at = ${s}.nightshift_now()
  WHERE id = ANY(ARRAY(SELECT id FROM picked)) AND state = 'running' AND NOT cancel_requested
  RETURNING id`;
