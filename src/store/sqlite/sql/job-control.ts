/** Operator actions on a job: cancel and manual retry. */

/** Cancels a job that has not started. */
export const JOB_CANCEL_WAITING = `
UPDATE jobs SET state = 'cancelled', finished_at = @now, updated_at = @now
WHERE id = @id AND state IN ('scheduled', 'queued')`;

/** Asks a running attempt to stop; its worker's finish then ends the job cancelled. */
export const JOB_CANCEL_REQUEST = `
UPDATE jobs SET cancel_requested = 1, updated_at = @now WHERE id = @id AND state = 'running'`;

/** Whether a current attempt's job was asked to cancel: a read by primary key, nothing written. */
export const JOB_CANCEL_REQUESTED = `
SELECT 1 FROM jobs
WHERE id = @id AND lease_token = @leaseToken AND state = 'running' AND cancel_requested = 1`;

/**
 * Puts a failed or cancelled job back in the ready set, due now, allowing one more attempt than it
 * has used so far (max_attempts never shrinks).
 */
export const JOB_RETRY = `
UPDATE jobs SET
  state = 'queued',
  run_at = @now,
  max_attempts = max(max_attempts, attempt + 1),
  finished_at = NULL,
  cancel_requested = 0,
  lease_token = NULL,
  lease_expires_at = NULL,
  updated_at = @now
WHERE id = @id AND state IN ('failed', 'cancelled')`;
