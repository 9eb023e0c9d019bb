/** Operator actions on a job: cancel and manual retry. */
import type { WaitingSet } from '../../store.js';
import { jobListMatchFilters } from './job-read.js';

/** Cancels a job that has not started. */
export const jobCancelWaiting = `
UPDATE jobs SET state = 'cancelled', finished_at = @now, updated_at = @now
WHERE id = @id AND state IN ('scheduled', 'queued')`;

/** Asks a running attempt to stop; its worker's finish then ends the job cancelled. */
export const jobCancelRequest = `
UPDATE jobs SET cancel_requested = 1, updated_at = @now WHERE id = @id AND state = 'running'`;

/** Whether a current attempt's job was asked to cancel: a read by primary key, nothing written. */
export const jobCancelCheck = `
SELECT 1 FROM jobs
WHERE id = @id AND lease_token = @leaseToken AND state = 'running' AND cancel_requested = 1`;

// What a manual retry writes: queued, due now, one more attempt allowed (max_attempts never shrinks).
const RETRY_SET = `
  state = 'queued',
  run_at = @now,
  max_attempts = max(max_attempts, attempt + 1),
  finished_at = NULL,
  cancel_requested = 0,
  lease_token = NULL,
  lease_expires_at = NULL,
  updated_at = @now`;

/**
 * Puts a failed or cancelled job back in the ready set, due now, allowing one more attempt than it
 * has used so far (max_attempts never shrinks).
 */
export const jobRetry = `
UPDATE jobs SET ${RETRY_SET}
WHERE id = @id AND state IN ('failed', 'cancelled')`;

/** Deletes one final job; its runs, steps and log lines go with it (ON DELETE CASCADE). */
export const jobDelete = `
DELETE FROM jobs WHERE id = @id AND state IN ('completed', 'failed', 'cancelled')`;

/**
 * jobRetry for a batch of failed or cancelled jobs matching the filters (`@state` one of the two);
 * the literal IN term lets SQLite walk the small partial index jobs_dead_created.
 */
export const jobRetryMatching = `
UPDATE jobs SET ${RETRY_SET}
WHERE id IN (
  SELECT id FROM jobs
  WHERE state IN ('failed', 'cancelled') AND state = @state
    AND (@queue IS NULL OR queue = @queue)
    AND (@task IS NULL OR task = @task)${jobListMatchFilters}
  LIMIT @limit
)
RETURNING queue`;

// The waiting jobs of one state matching the filters, from the partial index given by `where`.
const waitingMatching = (where: string): string => `
  SELECT id FROM jobs
  WHERE ${where}
    AND (@queue IS NULL OR queue = @queue)
    AND (@task IS NULL OR task = @task)${jobListMatchFilters}`;

/**
 * jobCancelWaiting for a batch of jobs in one waiting set (WAITING_SETS) matching the filters. One
 * statement per set, with the state as a literal, so each walks its own partial indexes (scheduled rows
 * due at @now or later: a range of jobs_scheduled; queued: jobs_ready for jobs without a group or
 * requirements, jobs_ready_labels for those with requirements, then jobs_ready_group and
 * jobs_ready_group_labels for grouped ones, likewise).
 */
export const jobCancelMatchingWaiting = (set: WaitingSet): string => `
UPDATE jobs SET state = 'cancelled', finished_at = @now, updated_at = @now
WHERE id IN (
  SELECT id FROM (${
    set !== 'queued'
      ? waitingMatching(`state = 'scheduled' AND run_at ${set === 'due' ? '<=' : '>'} @now`)
      : `${waitingMatching(`state = 'queued' AND requires IS NULL AND group_key IS NULL`)}
  UNION ALL${waitingMatching(`state = 'queued' AND requires IS NOT NULL AND group_key IS NULL`)}
  UNION ALL${waitingMatching(`state = 'queued' AND group_key IS NOT NULL AND requires IS NULL`)}
  UNION ALL${waitingMatching(`state = 'queued' AND group_key IS NOT NULL AND requires IS NOT NULL`)}`
  })
  LIMIT @limit
)
RETURNING id`;

/** jobCancelRequest for a batch of running jobs not yet asked to stop (partial index jobs_lease). */
export const jobCancelMatchingRunning = `
UPDATE jobs SET cancel_requested = 1, updated_at = @now
WHERE id IN (
  SELECT id FROM jobs
  WHERE state = 'running' AND cancel_requested = 0
    AND (@queue IS NULL OR queue = @queue)
    AND (@task IS NULL OR task = @task)${jobListMatchFilters}
  LIMIT @limit
)
RETURNING id`;
