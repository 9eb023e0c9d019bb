/** Operator actions on one job: cancel and manual retry. */

/**
 * Cancels a waiting job at once, or flags a running one for its worker. Returns the state before the
 * call beside the updated row (absent when nothing changed). $1 id, $2 channel, $3 origin.
 */
export const cancelJob = (s: string): string => `
  WITH current AS (
    SELECT id, state FROM ${s}.jobs WHERE id = $1 FOR UPDATE
  ), updated AS (
    UPDATE ${s}.jobs j
    SET state = CASE WHEN c.state = 'running' THEN c.state ELSE 'cancelled' END,
        cancel_requested = (c.state = 'running') OR j.cancel_requested,
        finished_at = CASE WHEN c.state = 'running' THEN j.finished_at ELSE now() END,
        updated_at = now()
    FROM current c
    WHERE j.id = c.id AND c.state IN ('scheduled', 'queued', 'running')
    RETURNING j.*
  ), note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'f', json_build_array(json_build_array(id, state)))::text)
    FROM updated WHERE state = 'cancelled'
  )
  SELECT c.state AS previous_state, (SELECT count(*) FROM note) AS notified, u.*
  FROM current c LEFT JOIN updated u ON true`;

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
  ), note AS (
    SELECT pg_notify($2, json_build_object('o', $3::text, 'q', queue)::text) FROM updated
  )
  SELECT updated.*, (SELECT count(*) FROM note) AS notified FROM updated`;
