/** Maintenance: rescuing lapsed leases and pruning finished jobs. */

/**
 * Running jobs whose lease lapsed, oldest expiry first. A range scan on jobs_lease: healthy long
 * jobs (leases in the future) sit after the range and are never read, so they cannot starve a sweep.
 */
export const jobRescueLapsedSelect = `
SELECT * FROM jobs
WHERE state = 'running' AND lease_expires_at <= @now
ORDER BY lease_expires_at
LIMIT @limit`;

/**
 * Deletes a batch of the oldest finished jobs; their runs, steps and log lines go with them (ON DELETE CASCADE).
 * Served by jobs_finished.
 */
export const jobPrune = `
DELETE FROM jobs WHERE id IN (
  SELECT id FROM jobs
  WHERE finished_at IS NOT NULL AND finished_at < @before
    AND state IN ('completed', 'failed', 'cancelled')
  ORDER BY finished_at
  LIMIT @limit
)`;
