/** SQL of the schedule store on SQLite: schedules, the slot ledger, and the passes over them. */

// The active run of a schedule (an unsettled ledger row whose job is not final yet) and its oldest
// waiting slot, computed with each schedule read so planners always see the ledger as it is.
const ACTIVE_JOB = `(
  SELECT s.job_id FROM schedule_slots s JOIN jobs j ON j.id = s.job_id
  WHERE s.schedule_id = sc.id AND s.status = 'enqueued' AND s.outcome IS NULL
    AND j.state IN ('scheduled', 'queued', 'running')
  LIMIT 1) AS active_job_id, (
  SELECT w.slot_key FROM schedule_slots w WHERE w.schedule_id = sc.id AND w.status = 'waiting'
  ORDER BY w.slot_at, w.slot_key LIMIT 1) AS waiting_slot_key`;

/** One schedule with its active job. */
export const SCHEDULE_GET = `SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc WHERE sc.id = ?`;

/** Schedules by id with their active jobs; the parameter is a JSON array of ids. */
export const SCHEDULE_GET_MANY = `
SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc WHERE sc.id IN (SELECT value FROM json_each(?)) ORDER BY sc.id`;

/** A page of schedules by id. */
export const SCHEDULE_LIST = `
SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc WHERE sc.id > @afterId ORDER BY sc.id LIMIT @limit`;

/** Due schedules, earliest slot first (walks schedules_due). */
export const SCHEDULE_DUE = `
SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc
WHERE sc.paused = 0 AND sc.suspended_at IS NULL AND sc.next_slot_at <= @now
ORDER BY sc.next_slot_at LIMIT @limit`;

/** Inserts a schedule; the caller checks for an existing id first. */
export const SCHEDULE_INSERT = `
INSERT INTO schedules (
  id, task, cron, every_ms, timezone, payload, queue, priority, jitter_ms, overlap, catch_up, catch_up_limit,
  max_consecutive_failures, max_drain_runs, source, paused, next_slot_at, consecutive_failures, created_at, updated_at
) VALUES (
  @id, @task, @cron, @everyMs, @timezone, @payload, @queue, @priority, @jitterMs, @overlap, @catchUp, @catchUpLimit,
  @maxConsecutiveFailures, @maxDrainRuns, @source, @paused, @nextSlotAt, 0, @now, @now
)`;

/**
 * Replaces a definition. The next slot changes only when the timing did (@timingChanged = 1), so an
 * unchanged config schedule re-synced at every start keeps its place.
 */
export const SCHEDULE_DEFINITION_UPDATE = `
UPDATE schedules SET
  task = @task, payload = @payload, queue = @queue, priority = @priority, jitter_ms = @jitterMs,
  overlap = @overlap, catch_up = @catchUp, catch_up_limit = @catchUpLimit,
  max_consecutive_failures = @maxConsecutiveFailures, max_drain_runs = @maxDrainRuns, source = @source,
  next_slot_at = CASE
    WHEN @nextSlotGiven = 1 THEN @nextSlotAt
    WHEN cron IS NOT @cron OR every_ms IS NOT @everyMs OR timezone IS NOT @timezone THEN @nextSlotAt
    ELSE next_slot_at END,
  cron = @cron, every_ms = @everyMs, timezone = @timezone,
  version = version + 1, updated_at = @now
WHERE id = @id`;

/** Deletes a schedule (its ledger goes with it by cascade). */
export const SCHEDULE_DELETE = `DELETE FROM schedules WHERE id = ?`;

/** Ids and sources of every schedule, for config sync. */
export const SCHEDULE_SOURCES = `SELECT id, source FROM schedules`;

/** Compare-and-set of scheduler state: changes nothing unless the row is still at @expectVersion. */
export const SCHEDULE_STATE_WRITE = `
UPDATE schedules SET
  paused = @paused, next_slot_at = @nextSlotAt, last_slot_at = @lastSlotAt, last_job_id = @lastJobId,
  last_outcome = @lastOutcome, last_started_at = @lastStartedAt, last_finished_at = @lastFinishedAt,
  last_duration_ms = @lastDurationMs, last_run_lag_ms = @lastRunLagMs,
  consecutive_failures = @consecutiveFailures, last_error = @lastError, suspended_at = @suspendedAt,
  suspended_reason = @suspendedReason,
  version = version + 1, updated_at = @now
WHERE id = @id AND version = @expectVersion`;

/** Records a slot; an existing (schedule, slot key) inserts nothing (changes = 0). */
export const SLOT_INSERT = `
INSERT INTO schedule_slots (
  schedule_id, slot_key, slot_at, kind, status, reason, job_id, slot_count, slot_until, drain_seq, recorded_at,
  outcome, duration_ms, run_lag_ms, finished_at
) VALUES (
  @scheduleId, @slotKey, @slotAt, @kind, @status, @reason, @jobId, @slotCount, @slotUntil, @drainSeq, @recordedAt,
  @outcome, @durationMs, @runLagMs, @finishedAt
) ON CONFLICT (schedule_id, slot_key) DO NOTHING`;

/** Rewrites a ledger row's mutable fields. */
export const SLOT_UPDATE = `
UPDATE schedule_slots SET
  status = @status, reason = @reason, job_id = @jobId, outcome = @outcome, duration_ms = @durationMs,
  run_lag_ms = @runLagMs, finished_at = @finishedAt
WHERE schedule_id = @scheduleId AND slot_key = @slotKey`;

/** One ledger row. */
export const SLOT_GET = `SELECT * FROM schedule_slots WHERE schedule_id = ? AND slot_key = ?`;

/** Unsettled runs whose job is final or gone, with what settling needs from the job. */
export const SLOT_FINISHED = `
SELECT s.*, j.id AS j_id, j.state AS j_state, j.result AS j_result, j.error AS j_error,
       j.started_at AS j_started_at, j.finished_at AS j_finished_at
FROM schedule_slots s LEFT JOIN jobs j ON j.id = s.job_id
WHERE s.status = 'enqueued' AND s.outcome IS NULL
  AND (j.id IS NULL OR j.state IN ('completed', 'failed', 'cancelled'))
LIMIT @limit`;

/** A schedule's ledger, newest slot first. */
export const SLOT_LIST = `
SELECT * FROM schedule_slots WHERE schedule_id = @scheduleId ORDER BY slot_at DESC, drain_seq DESC, recorded_at DESC, slot_key DESC LIMIT @limit`;

/**
 * Deletes up to @limit of the oldest ledger rows recorded before @before, keeping unsettled runs and
 * held slots: their schedule still needs them.
 */
export const SLOT_PRUNE = `
DELETE FROM schedule_slots WHERE (schedule_id, slot_key) IN (
  SELECT schedule_id, slot_key FROM schedule_slots
  WHERE recorded_at < @before AND status <> 'waiting' AND NOT (status = 'enqueued' AND outcome IS NULL)
  ORDER BY recorded_at LIMIT @limit)`;
