/** Writes a current attempt makes while it runs; each is fenced by (id, lease_token, state). */

/** Extends a current attempt's lease; returns nothing for a stale token. */
export const jobLeaseRenew = `
UPDATE jobs SET lease_expires_at = @now + coalesce(lease_ms, @leaseMs), updated_at = @now
WHERE id = @id AND lease_token = @leaseToken AND state = 'running'
RETURNING id, cancel_requested`;

/** Saves a checkpoint for a current attempt. */
export const jobCheckpointSave = `
UPDATE jobs SET checkpoint = @checkpoint, updated_at = @now
WHERE id = @id AND lease_token = @leaseToken AND state = 'running'`;

/** Records a durable step's result, only while the attempt holds its lease. */
export const jobStepSave = `
INSERT INTO job_steps (job_id, name, result, created_at)
SELECT id, @name, @result, @now FROM jobs
WHERE id = @id AND lease_token = @leaseToken AND state = 'running'
ON CONFLICT (job_id, name) DO UPDATE SET result = excluded.result, created_at = excluded.created_at`;

/** A recorded step. */
export const jobStepGet = `SELECT result FROM job_steps WHERE job_id = ? AND name = ?`;
