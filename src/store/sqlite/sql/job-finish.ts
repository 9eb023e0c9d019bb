/** Ending attempts: job transitions and run-history rows. */

/**
 * Ends the attempts that completed within their max duration, the most frequent write of the system,
 * in one statement for a whole batch and without a run-history row: a completed job is final (no
 * retry, cancel or rescue touches it again), so its row keeps everything that run would repeat
 * (attempt, worker, start, end, due time) and job_run_history (migrations/003) reads the run from it.
 * `@completions` is a JSON array of [id, lease token, result as stored JSON text or null]; each row is
 * found by its primary key. A stale token matches nothing. Attempt, due time and checkpoint stay; a
 * cancel request loses to the completion and is cleared. One statement for the batch instead of one
 * per job: the per-call cost of a statement was a third of a completion's (~10.7 against ~7.6 µs per
 * job for batches of 150).
 */
export const jobFinishManyComplete = `
UPDATE jobs SET
  state = 'completed',
  finished_at = @now,
  result = c.value ->> 2,
  error = NULL,
  lease_token = NULL,
  lease_expires_at = NULL,
  cancel_requested = 0,
  updated_at = @now
FROM json_each(@completions) AS c
WHERE jobs.id = c.value ->> 0 AND jobs.lease_token = c.value ->> 1 AND jobs.state = 'running'
RETURNING jobs.id, jobs.concurrency_key IS NOT NULL OR jobs.queue_slot <> 0, jobs.task, jobs.queue, jobs.attempt,
  jobs.schedule_id`;

/** The current attempt's row, or nothing when the token is stale. */
export const jobFinishManyRunningGet = `
SELECT * FROM jobs WHERE id = @id AND lease_token = @leaseToken AND state = 'running'`;

/**
 * Ends an attempt. The caller decided the next state; every column the attempt owned (token, lease)
 * is cleared so later writes carrying the old token change nothing.
 */
export const jobFinishManyAttemptEnd = `
UPDATE jobs SET
  state = @state,
  attempt = @attempt,
  run_at = @runAt,
  finished_at = @finishedAt,
  result = @result,
  error = @error,
  checkpoint = @checkpoint,
  lease_token = NULL,
  lease_expires_at = NULL,
  cancel_requested = 0,
  updated_at = @now
WHERE id = @id AND lease_token = @leaseToken AND state = 'running'`;

/** One attempt in the run history. */
export const jobFinishManyRunInsert = `
INSERT INTO job_runs (
  job_id, attempt, worker_id, started_at, finished_at, duration_ms, run_lag_ms, outcome, error,
  max_duration_exceeded
) VALUES (
  @jobId, @attempt, @workerId, @startedAt, @finishedAt, @durationMs, @runLagMs, @outcome, @error,
  @maxDurationExceeded
)`;
