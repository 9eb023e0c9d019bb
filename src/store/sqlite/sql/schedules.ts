/** SQL of the schedule store on SQLite: schedules, the slot ledger, and the passes over them. */

// The active run of a schedule (an unsettled ledger row whose job is not final yet), whether a run
// finished and awaits settling, and its oldest waiting slot, computed with each schedule read so
// planners always see the ledger as it is. Both run lookups walk schedule_slots_open by name: without
// statistics SQLite otherwise takes the primary key and reads every ledger row of the schedule (a
// week of a 100 ms schedule is six million rows).
const ACTIVE_JOB = `(
  SELECT s.job_id FROM schedule_slots s INDEXED BY schedule_slots_open JOIN jobs j ON j.id = s.job_id
  WHERE s.schedule_id = sc.id AND s.status = 'enqueued' AND s.outcome IS NULL
    AND j.state IN ('scheduled', 'queued', 'running')
  LIMIT 1) AS active_job_id, EXISTS (
  SELECT 1 FROM schedule_slots p INDEXED BY schedule_slots_open LEFT JOIN jobs pj ON pj.id = p.job_id
  WHERE p.schedule_id = sc.id AND p.status = 'enqueued' AND p.outcome IS NULL
    AND (pj.id IS NULL OR pj.state IN ('completed', 'failed', 'cancelled'))) AS settle_pending, (
  SELECT w.slot_key FROM schedule_slots w WHERE w.schedule_id = sc.id AND w.status = 'waiting'
  ORDER BY w.slot_at, w.slot_key LIMIT 1) AS waiting_slot_key`;

/** One schedule with its active job. */
export const scheduleGet = `SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc WHERE sc.id = ?`;

/** Schedules by id with their active jobs; the parameter is a JSON array of ids. */
export const scheduleSettleGetMany = `
SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc WHERE sc.id IN (SELECT value FROM json_each(?)) ORDER BY sc.id`;

/**
 * A page of schedules by id, after @afterId, filtered by the non-null ones of @task, @condition and
 * @idPrefix. Walks the primary key from @afterId; an id prefix bounds the walk to its range
 * [@idPrefix, @idPrefixEnd) (see prefix-range.ts; a null end leaves it open: a BLOB sorts after every
 * TEXT). Task and condition are tested on each row walked: schedules are operator-sized (thousands),
 * so no index per filter.
 */
export const scheduleList = `
SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc
WHERE sc.id > @afterId AND sc.id >= coalesce(@idPrefix, '') AND sc.id < coalesce(@idPrefixEnd, x'')
  AND (@task IS NULL OR sc.task = @task)
  AND (@condition IS NULL
    OR (@condition = 'suspended' AND sc.suspended_at IS NOT NULL)
    OR (@condition = 'paused' AND sc.paused = 1 AND sc.suspended_at IS NULL)
    OR (@condition = 'active' AND sc.paused = 0 AND sc.suspended_at IS NULL))
ORDER BY sc.id LIMIT @limit`;

/** Due schedules, earliest slot first (walks schedules_due). */
export const scheduleFireDue = `
SELECT sc.*, ${ACTIVE_JOB} FROM schedules sc
WHERE sc.paused = 0 AND sc.suspended_at IS NULL AND sc.next_slot_at <= @now
ORDER BY sc.next_slot_at LIMIT @limit`;

/** Inserts a schedule; the caller checks for an existing id first. */
export const scheduleCreate = `
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
export const scheduleUpdate = `
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

/**
 * The definition update for an upsert or a config sync: only when the stored definition differs in
 * some field, so an unchanged schedule written again keeps its version (no conflict for a scheduler
 * planning it).
 */
export const scheduleUpdateIfChanged = `${scheduleUpdate}
  AND (task IS NOT @task OR cron IS NOT @cron OR every_ms IS NOT @everyMs OR timezone IS NOT @timezone
    OR payload IS NOT @payload OR queue IS NOT @queue OR priority IS NOT @priority OR jitter_ms IS NOT @jitterMs
    OR overlap IS NOT @overlap OR catch_up IS NOT @catchUp OR catch_up_limit IS NOT @catchUpLimit
    OR max_consecutive_failures IS NOT @maxConsecutiveFailures OR max_drain_runs IS NOT @maxDrainRuns)`;

/** Deletes a schedule (its ledger goes with it by cascade). */
export const scheduleDelete = `DELETE FROM schedules WHERE id = ?`;

/** Ids and sources of every schedule, for config sync. */
export const scheduleSyncSources = `SELECT id, source FROM schedules`;

/** One schedule's source, for upserts. */
export const scheduleUpsertManySource = `SELECT source FROM schedules WHERE id = ?`;

// Batch writes take one JSON array parameter and expand it with json_each: one statement (one parse,
// one VM run) per pass batch instead of one per row, which is most of the cost of a 500-row batch.

/**
 * Compare-and-set of scheduler state for many schedules (@states: JSON array of stateParams objects
 * with id and expectVersion); a row whose version moved on is not updated and not returned.
 */
export const scheduleWritesState = `
UPDATE schedules SET
  paused = u.paused, next_slot_at = u.next_slot_at, last_slot_at = u.last_slot_at, last_job_id = u.last_job_id,
  last_outcome = u.last_outcome, last_started_at = u.last_started_at, last_finished_at = u.last_finished_at,
  last_duration_ms = u.last_duration_ms, last_run_lag_ms = u.last_run_lag_ms,
  consecutive_failures = u.consecutive_failures, last_error = u.last_error, suspended_at = u.suspended_at,
  suspended_reason = u.suspended_reason, version = schedules.version + 1, updated_at = @now
FROM (
  SELECT value ->> '$.id' AS id, value ->> '$.expectVersion' AS expect_version, value ->> '$.paused' AS paused,
    value ->> '$.nextSlotAt' AS next_slot_at, value ->> '$.lastSlotAt' AS last_slot_at,
    value ->> '$.lastJobId' AS last_job_id, value ->> '$.lastOutcome' AS last_outcome,
    value ->> '$.lastStartedAt' AS last_started_at, value ->> '$.lastFinishedAt' AS last_finished_at,
    value ->> '$.lastDurationMs' AS last_duration_ms, value ->> '$.lastRunLagMs' AS last_run_lag_ms,
    value ->> '$.consecutiveFailures' AS consecutive_failures, value ->> '$.lastError' AS last_error,
    value ->> '$.suspendedAt' AS suspended_at, value ->> '$.suspendedReason' AS suspended_reason
  FROM json_each(@states)
) AS u
WHERE schedules.id = u.id AND schedules.version = u.expect_version
RETURNING schedules.id`;

const SLOT_VALUES = `
  value ->> '$.scheduleId', value ->> '$.slotKey', value ->> '$.slotAt', value ->> '$.kind', value ->> '$.status',
  value ->> '$.reason', value ->> '$.jobId', value ->> '$.slotCount', value ->> '$.slotUntil', value ->> '$.drainSeq',
  value ->> '$.recordedAt', value ->> '$.outcome', value ->> '$.durationMs', value ->> '$.runLagMs',
  value ->> '$.finishedAt'`;

/** Records slots (@slots: JSON array of slotParams objects); existing keys insert nothing and are not returned. */
export const scheduleWritesSlotInsert = `
INSERT INTO schedule_slots (
  schedule_id, slot_key, slot_at, kind, status, reason, job_id, slot_count, slot_until, drain_seq, recorded_at,
  outcome, duration_ms, run_lag_ms, finished_at
)
SELECT ${SLOT_VALUES} FROM json_each(@slots) WHERE true
ON CONFLICT (schedule_id, slot_key) DO NOTHING
RETURNING schedule_id, slot_key`;

/** Rewrites ledger rows' mutable fields (@slots: JSON array of slotParams objects). */
export const scheduleWritesSlotUpdate = `
UPDATE schedule_slots SET
  status = u.status, reason = u.reason, job_id = u.job_id, outcome = u.outcome, duration_ms = u.duration_ms,
  run_lag_ms = u.run_lag_ms, finished_at = u.finished_at
FROM (
  SELECT value ->> '$.scheduleId' AS schedule_id, value ->> '$.slotKey' AS slot_key, value ->> '$.status' AS status,
    value ->> '$.reason' AS reason, value ->> '$.jobId' AS job_id, value ->> '$.outcome' AS outcome,
    value ->> '$.durationMs' AS duration_ms, value ->> '$.runLagMs' AS run_lag_ms,
    value ->> '$.finishedAt' AS finished_at
  FROM json_each(@slots)
) AS u
WHERE schedule_slots.schedule_id = u.schedule_id AND schedule_slots.slot_key = u.slot_key`;

/** One ledger row. */
export const scheduleFireSlotGet = `SELECT * FROM schedule_slots WHERE schedule_id = ? AND slot_key = ?`;

/** Unsettled runs whose job is final or gone, with what settling needs from the job. */
export const scheduleSettleFinished = `
SELECT s.*, j.id AS j_id, j.state AS j_state, j.result AS j_result, j.error AS j_error,
       j.started_at AS j_started_at, j.finished_at AS j_finished_at
FROM schedule_slots s LEFT JOIN jobs j ON j.id = s.job_id
WHERE s.status = 'enqueued' AND s.outcome IS NULL
  AND (j.id IS NULL OR j.state IN ('completed', 'failed', 'cancelled'))
LIMIT @limit`;

/** A schedule's ledger, newest slot first. */
export const scheduleSlotList = `
SELECT * FROM schedule_slots WHERE schedule_id = @scheduleId ORDER BY slot_at DESC, drain_seq DESC, recorded_at DESC, slot_key DESC LIMIT @limit`;

/**
 * Deletes up to @limit of the oldest ledger rows recorded before @before, keeping unsettled runs and
 * held slots: their schedule still needs them.
 */
export const scheduleSlotPrune = `
DELETE FROM schedule_slots WHERE (schedule_id, slot_key) IN (
  SELECT schedule_id, slot_key FROM schedule_slots
  WHERE recorded_at < @before AND status <> 'waiting' AND NOT (status = 'enqueued' AND outcome IS NULL)
  ORDER BY recorded_at LIMIT @limit)`;
