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
 * Whether no job waits (scheduled or queued) and none runs (the rescuer's idle check). One probe per
 * partial index whose predicate the condition repeats (jobs_lease, jobs_scheduled and the four ready
 * indexes, which together hold every queued job), so each stops at its first entry.
 */
export const jobIdleCheck = `
SELECT NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'running')
   AND NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'scheduled')
   AND NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL)
   AND NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL)
   AND NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND requires IS NULL AND group_key IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NOT NULL)
   AS idle`;

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
