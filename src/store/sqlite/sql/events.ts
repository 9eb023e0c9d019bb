/** The cluster event log (migrations/007_events.sql and 018_event_batches.sql): reads, appends and retention. */

/** The newest event id (0 when the log is empty). */
export const eventHead = `SELECT coalesce(max(id), 0) AS head FROM events`;

/**
 * The highest event id ever given (AUTOINCREMENT's record, kept when retention empties the log): no
 * cursor this database gave can be past it.
 */
export const eventHighWater = `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) AS seq`;

/**
 * A field of the event `j` (an element of the row `e`'s `jobs`, NULL for a row of one event): a whole
 * element holds it at `index` (event-log.ts `appendJobEvents` writes that layout); a bare id leaves it
 * to the row's column, as does a row of one event.
 */
const eventField = (column: string, index: number): string =>
  `CASE WHEN j.key IS NULL OR j.type = 'text' THEN e.${column} ELSE j.value ->> ${index} END AS ${column}`;

/**
 * A page of events after the cursor (@after's row, past its element @element; -1 for a row of one
 * event, whose only element is -1) up to row @head, matching the filters, in (row, element) order: a
 * walk of the primary key from the cursor's row, each row of many events (`jobs`, migration 018)
 * expanded into its elements, stopped by the LIMIT.
 */
export const eventRead = `
SELECT * FROM (
  SELECT e.id, coalesce(j.key, -1) AS element, e.at, e.type,
         CASE WHEN j.key IS NULL THEN e.job_id WHEN j.type = 'text' THEN j.value ELSE j.value ->> 0 END AS job_id,
         ${eventField('task', 1)}, ${eventField('queue', 2)}, ${eventField('attempt', 3)},
         ${eventField('state', 4)}, e.error, ${eventField('schedule_id', 5)}, e.data
  FROM events e LEFT JOIN json_each(e.jobs) j
  WHERE e.id >= @after AND e.id <= @head
)
WHERE (id > @after OR element > @element)
  AND (@queue IS NULL OR queue = @queue)
  AND (@task IS NULL OR task = @task)
  AND (@jobId IS NULL OR job_id = @jobId)
ORDER BY id, element
LIMIT @limit`;

/**
 * One row of many job events of one type (migration 018): @jobs a JSON array of their elements, the
 * fields they share in the row's columns (NULL where they differ).
 */
export const jobEventsAppend = `
INSERT INTO events (at, type, task, queue, attempt, state, schedule_id, jobs)
VALUES (@at, @type, @task, @queue, @attempt, @state, @scheduleId, @jobs)`;

/** One appended event. */
export const eventAppend = `
INSERT INTO events (at, type, job_id, task, queue, attempt, state, error, schedule_id, data)
VALUES (@at, @type, @jobId, @task, @queue, @attempt, @state, @error, @scheduleId, @data)`;

/**
 * Deletes the oldest events written before @before, looking only at the first @limit rows of the log
 * (`at` follows the id order closely: both grow with time), so a batch is bounded: the rows up to the
 * last of those written before @before, as a range of the primary key. (`id IN (...)` let the planner
 * scan the whole log when statistics had counted it small: with many events to a row since migration
 * 018, ANALYZE often does.)
 */
export const eventPrune = `
DELETE FROM events
WHERE id <= (SELECT max(id) FROM (SELECT id, at FROM events ORDER BY id LIMIT @limit) WHERE at < @before)
  AND at < @before`;
