/** Writes of a running attempt besides its finish: lease renewal and checkpoints, fenced by token. */

/**
 * Renews a batch of leases in one statement. Rows whose token moved on are simply not matched, which
 * is how the worker learns that it lost them. $1 ids, $2 lease tokens, $3 default lease ms.
 */
export const renewLeases = (s: string): string => `
  UPDATE ${s}.jobs j
  SET lease_expires_at = now() + coalesce(j.lease_ms, $3) * interval '1 millisecond'
  FROM unnest($1::uuid[], $2::uuid[]) AS i(id, lease_token)
  WHERE j.id = i.id AND j.lease_token = i.lease_token AND j.state = 'running' AND j.id = ANY($1::uuid[])
  RETURNING j.id, j.cancel_requested`;

/** $1 id, $2 lease token, $3 checkpoint (JSON text). */
export const saveCheckpoint = (s: string): string => `
  UPDATE ${s}.jobs SET checkpoint = $3::json, updated_at = now()
  WHERE id = $1 AND lease_token = $2 AND state = 'running'`;
