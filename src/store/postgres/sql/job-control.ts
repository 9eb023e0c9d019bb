/** Operator actions on one job: cancel and manual retry. */

/**
 * Cancels a waiting job at once, or flags a running one for its worker. Returns the state before the
 * call beside the updated row (absent when nothing changed). $1 id, $2 channel, $3 origin.
 *
 * A waiting job is cancelled only by deleting its queue row first (the lock order of every writer, see
 * migration 005), found by its full index key. If a claim takes that row meanwhile, the delete waits
 * for it and then finds nothing; the job row's UPDATE, re-checked on the newest version, then sees the
 * job running and flags it instead.
 */
export const cancelJob = (s: string): string => `
  WITH current AS (
    SELECT id, state, queue, priority, run_at FROM ${s}.jobs WHERE id = $1
  ), dequeued AS (
    -- Either partial index, whatever state the job had: a claim may promote it meanwhile, and the
    -- re-check after that wait then finds it queued under the same key. The queue is part of the key
    -- so that no scheduled-row index is walked without its leading column.
    DELETE FROM ${s}.job_queue q
    WHERE q.id = $1 AND q.run_at = (SELECT run_at FROM current) AND q.queue = (SELECT queue FROM current)
      AND ((q.state = 'queued' AND q.priority = (SELECT priority FROM current)) OR q.state = 'scheduled')
    RETURNING q.id
  ), updated AS (
    UPDATE ${s}.jobs j
    SET state = CASE WHEN EXISTS (SELECT 1 FROM dequeued) THEN 'cancelled' ELSE j.state END,
        cancel_requested = (j.state = 'running') OR j.cancel_requested,
        finished_at = CASE WHEN EXISTS (SELECT 1 FROM dequeued) THEN now() ELSE j.finished_at END,
        updated_at = now()
    FROM current c
    -- Not the state read above: a claim that took the job meanwhile committed a newer row version,
    -- which this UPDATE locks and re-checks, and then flags as running.
    WHERE j.id = c.id AND j.state IN ('scheduled', 'queued', 'running')
    RETURNING j.*
  ), logged AS (
    INSERT INTO ${s}.job_finish_log (finished_at, job_ids)
    SELECT finished_at, ARRAY[id] FROM updated WHERE state = 'cancelled'
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

/**
 * Of the given attempts ($1 ids, $2 lease tokens), the current ones whose job was asked to cancel. A
 * read by primary key per attempt, nothing locked or written.
 */
export const cancelRequested = (s: string): string => `
  SELECT j.id
  FROM unnest($1::uuid[], $2::uuid[]) AS i(id, lease_token)
  JOIN ${s}.jobs j ON j.id = i.id
  WHERE j.lease_token = i.lease_token AND j.state = 'running' AND j.cancel_requested`;

/**
 * Puts a failed or cancelled job back in the ready set, due now, allowing one attempt more than it has
 * used. $1 id, $2 channel, $3 origin.
 */
export const retryJob = (s: string): string => `
  WITH updated AS (
    UPDATE ${s}.jobs
    SET state = 'queued',
        run_at = now(),
        max_attempts = greatest(max_attempts, attempt + 1),
        finished_at = NULL,
        cancel_requested = false,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = now()
    WHERE id = $1 AND state IN ('failed', 'cancelled')
    RETURNING *
  ), requeued AS (
    INSERT INTO ${s}.job_queue (id, queue, priority, run_at, state)
    SELECT id, queue, priority, run_at, state FROM updated
  ), note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'q', queue)::text) FROM updated
  )
  SELECT updated.*, (SELECT count(*) FROM note) AS notified FROM updated`;
