/** Claiming due jobs for a worker. */

/**
 * Moves due scheduled jobs (delayed, or waiting out a retry backoff) into the ready set. Bounded so a
 * claim never holds the write lock for one huge update after a long outage; the rest follow at the
 * next claims, oldest due first.
 */
export const JOB_PROMOTE_DUE = `
UPDATE jobs SET state = 'queued', updated_at = @now
WHERE id IN (
  SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= @now ORDER BY run_at LIMIT @limit
)`;

/** The next ready jobs of all queues in claim order; walks jobs_ready without a sort. */
export const JOB_READY_SELECT = `
SELECT id, priority, run_at FROM jobs
WHERE state = 'queued' AND run_at <= @now
ORDER BY priority DESC, run_at, id
LIMIT @limit`;

/** The next ready jobs of one queue in claim order; walks jobs_ready_queue without a sort. */
export const JOB_READY_SELECT_QUEUE = `
SELECT id, priority, run_at FROM jobs
WHERE state = 'queued' AND queue = @queue AND run_at <= @now
ORDER BY priority DESC, run_at, id
LIMIT @limit`;

/** Starts an attempt: fresh token, attempt + 1, lease on the store's clock. */
export const JOB_CLAIM = `
UPDATE jobs SET
  state = 'running',
  attempt = attempt + 1,
  lease_token = @leaseToken,
  lease_expires_at = @now + coalesce(lease_ms, @leaseMs),
  started_at = @now,
  worker_id = @workerId,
  updated_at = @now
WHERE id = @id AND state = 'queued'
RETURNING *`;
