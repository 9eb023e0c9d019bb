/**
 * Ending attempts: one statement for a whole batch of finishes, whatever their outcomes.
 *
 * `current` locks exactly the rows whose lease token still matches (a stale attempt's finish joins
 * nothing, so it changes nothing and is reported as refused). Waiting on a row another transaction
 * holds, PostgreSQL re-checks the token on the newest row version, so a finish racing a rescue loses
 * cleanly. The run-history rows are written by the same statement (data-modifying CTE), from the row
 * values before the update, so history and state can never disagree.
 *
 * Notifications: `finished` carries (id, state) pairs of jobs that reached a final state, grouped 100 per
 * message to stay under NOTIFY's 8,000-byte payload limit; `ready` fires once per queue that got a
 * released job back.
 */

/**
 * $1 ids, $2 lease tokens, $3 outcomes, $4 results (JSON text), $5 errors (JSON text), $6 retry delay
 * ms (null: no retry), $7 has-checkpoint flags, $8 checkpoints (JSON text), $9 max-duration flags,
 * $10 channel, $11 origin.
 */
export const finishJobs = (s: string): string => `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[],
                         $7::boolean[], $8::text[], $9::boolean[])
      AS i(id, lease_token, outcome, result, error, retry_ms, has_checkpoint, checkpoint, max_duration_exceeded)
  ), current AS (
    SELECT j.id, j.attempt, j.worker_id, j.started_at, j.run_at, j.cancel_requested
    FROM ${s}.jobs j JOIN input i ON j.id = i.id AND j.lease_token = i.lease_token
    WHERE j.state = 'running'
    FOR UPDATE OF j
  ), next AS (
    SELECT i.*, c.attempt, c.worker_id, c.started_at, c.run_at AS due_at,
      CASE
        WHEN i.outcome = 'completed' THEN 'completed'
        WHEN i.outcome = 'cancelled' OR c.cancel_requested THEN 'cancelled'
        WHEN i.outcome = 'released' THEN 'queued'
        WHEN i.retry_ms IS NOT NULL THEN 'scheduled'
        ELSE 'failed'
      END AS next_state
    FROM current c JOIN input i ON i.id = c.id
  ), updated AS (
    UPDATE ${s}.jobs j
    SET state = n.next_state,
        -- A graceful release gives its attempt back.
        attempt = CASE WHEN n.next_state = 'queued' THEN j.attempt - 1 ELSE j.attempt END,
        run_at = CASE WHEN n.next_state = 'scheduled' THEN now() + n.retry_ms * interval '1 millisecond'
                      ELSE j.run_at END,
        finished_at = CASE WHEN n.next_state IN ('completed', 'failed', 'cancelled') THEN now() END,
        result = CASE WHEN n.next_state = 'completed' THEN n.result::json ELSE j.result END,
        error = CASE WHEN n.next_state = 'completed' THEN NULL ELSE coalesce(n.error::jsonb, j.error) END,
        checkpoint = CASE WHEN n.has_checkpoint THEN n.checkpoint::json ELSE j.checkpoint END,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = now()
    FROM next n
    WHERE j.id = n.id
    RETURNING j.id, j.state, j.queue
  ), runs AS (
    INSERT INTO ${s}.job_runs (job_id, attempt, worker_id, started_at, finished_at, due_at, outcome, error,
                               max_duration_exceeded)
    SELECT id, attempt, coalesce(worker_id, ''), coalesce(started_at, now()), now(), due_at, outcome,
           error::jsonb, coalesce(max_duration_exceeded, false)
    FROM next
  ), finished_note AS (
    SELECT pg_notify($10, json_build_object('o', $11::text, 'f', json_agg(json_build_array(id, state)))::text)
    FROM (SELECT id, state, (row_number() OVER ()) / 100 AS page FROM updated
          WHERE state IN ('completed', 'failed', 'cancelled')) f
    GROUP BY page
  ), ready_note AS (
    SELECT pg_notify($10, json_build_object('o', $11::text, 'q', queue)::text)
    FROM (SELECT DISTINCT queue FROM updated WHERE state = 'queued') r
  )
  SELECT id, state, queue,
         (SELECT count(*) FROM finished_note) + (SELECT count(*) FROM ready_note) AS notified
  FROM updated`;
