/** Writes of a running attempt besides its finish: lease renewal and checkpoints, fenced by token. */

/**
 * Renews a batch of leases in one statement. Rows whose token moved on are simply not matched, which
 * is how the worker learns that it lost them. $1 ids, $2 lease tokens, $3 default lease ms.
 *
 * Each job's own lease end moves (an in-place update of its row), and so does the earliest end of
 * each claim's job_leases row, over the jobs still running under its token: those renewed now count
 * with their new end, the others (a worker no longer renewing an attempt stuck past its timeout) with
 * their old one, so the rescue still finds them when they lapse.
 */
export const jobLeaseRenew = (s: string): string => `
  WITH renewed AS (
    UPDATE ${s}.jobs j
    SET lease_expires_at = ${s}.nightshift_now() + coalesce(j.lease_ms, $3) * interval '1 millisecond'
    FROM unnest($1::uuid[], $2::uuid[]) AS i(id, lease_token)
    WHERE j.id = i.id AND j.lease_token = i.lease_token AND j.state = 'running' AND j.id = ANY($1::uuid[])
    RETURNING j.id, j.lease_token, j.lease_expires_at, j.cancel_requested
  ), leases AS (
    UPDATE ${s}.job_leases l
    SET expires_at = coalesce((
          SELECT min(coalesce(r.lease_expires_at, m.lease_expires_at))
          FROM ${s}.jobs m LEFT JOIN renewed r ON r.id = m.id
          WHERE m.id = ANY(l.job_ids) AND m.lease_token = l.token AND m.state = 'running'
        ), l.expires_at)
    -- A row a rescue holds is skipped: that rescue skips these job rows (locked here) and leaves the
    -- row due, so its next pass reads their new ends. Waiting for it would only delay the renewal.
    WHERE l.ctid = ANY(ARRAY(SELECT ctid FROM ${s}.job_leases
                             WHERE token = ANY(ARRAY(SELECT DISTINCT lease_token FROM renewed))
                             FOR UPDATE SKIP LOCKED))
  )
  SELECT id, cancel_requested FROM renewed`;

/** $1 id, $2 lease token, $3 checkpoint (JSON text). */
export const jobCheckpointSave = (s: string): string => `
  UPDATE ${s}.jobs SET checkpoint = $3::json, updated_at = ${s}.nightshift_now()
  WHERE id = $1 AND lease_token = $2 AND state = 'running'`;
