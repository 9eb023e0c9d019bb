/** The cluster event log (migrations/007_events.sql): reads, appends and retention. */

/** The newest event id (0 when the log is empty). */
export const eventHead = `SELECT coalesce(max(id), 0) AS head FROM events`;

/**
 * A page after @after up to @head in id order (commit order), matching the filters: a walk of the
 * primary key from the cursor, stopped by the LIMIT.
 */
export const eventRead = `
SELECT id, at, type, job_id, task, queue, attempt, state, error, schedule_id, data FROM events
WHERE id > @after AND id <= @head
  AND (@queue IS NULL OR queue = @queue)
  AND (@task IS NULL OR task = @task)
  AND (@jobId IS NULL OR job_id = @jobId)
ORDER BY id
LIMIT @limit`;

/** One appended event. */
export const eventAppend = `
INSERT INTO events (at, type, job_id, task, queue, attempt, state, error, schedule_id, data)
VALUES (@at, @type, @jobId, @task, @queue, @attempt, @state, @error, @scheduleId, @data)`;

/**
 * Deletes the oldest events written before @before, looking only at the first @limit rows of the log
 * (`at` follows the id order closely: both grow with time), so a batch is bounded.
 */
export const eventPrune = `
DELETE FROM events WHERE id IN (
  SELECT id FROM (SELECT id, at FROM events ORDER BY id LIMIT @limit) WHERE at < @before
)`;
