/** Reading jobs and their run history. */

/**
 * Whether a job row is `scheduled` and due at @now (the store's clock): such a job reads `queued`
 * (README "Job states"; its row stays `scheduled` until a claim promotes it). Selected as the
 * `due` column that job-record.ts decodes.
 */
export const dueColumn = `(state = 'scheduled' AND run_at <= @now) AS due`;

/** The state a job row reads (dueColumn). */
const shownState = `CASE WHEN state = 'scheduled' AND run_at <= @now THEN 'queued' ELSE state END`;

/** One job by id, at @now. */
export const jobGet = `SELECT *, ${dueColumn} FROM jobs WHERE id = @id`;

/**
 * The optional filters every list and bulk statement shares (JobMatch): @createdAfter and
 * @createdBefore in ms, @search already lowercased. Search is a substring test on each row the other
 * conditions let through, so its cost is the rows read in the statement's index order until LIMIT
 * rows match. lower() folds ASCII letters only.
 */
export const jobListMatchFilters = `
  AND (@createdAfter IS NULL OR created_at >= @createdAfter)
  AND (@createdBefore IS NULL OR created_at < @createdBefore)
  AND (@search IS NULL OR instr(lower(payload), @search) > 0 OR instr(lower(coalesce(result, '')), @search) > 0
       OR instr(lower(coalesce(json_extract(error, '$.message'), '')), @search) > 0)`;

/**
 * A page of jobs, newest first: at most @walk jobs of jobs_created from the cursor (the (created_at,
 * id) of the last job read past; START_CURSOR for the first page, in job-read.ts: a range the index
 * seeks to, where `@cursor IS NULL OR` made every page scan from the newest job), walked through the
 * index alone by a co-routine (a subquery with a LIMIT is not flattened into a query with a WHERE)
 * whose rows the filters read by rowid until @limit match: a page that fills stops the walk, so only a
 * page that does not fill asks where the walk ended (jobListWalkEnd), and only a matching row is
 * copied whole (a co-routine of whole rows copied every row it walked: twice the time of a page that
 * matched none; docs/BENCHMARKS.md, "Reads on a large installation").
 * Optional filters are written as `@x IS NULL OR col = @x` so one prepared statement serves every
 * combination. The state filter is on the state a job reads at @now: `queued` takes the due scheduled
 * rows too.
 */
export const jobList = `
SELECT jobs.*, ${dueColumn} FROM (
  SELECT rowid AS walked, created_at AS walked_created_at, id AS walked_id FROM jobs INDEXED BY jobs_created
  WHERE (created_at, id) < (@cursorCreatedAt, @cursorId)
  ORDER BY created_at DESC, id DESC
  LIMIT @walk) w
CROSS JOIN jobs ON jobs.rowid = w.walked
WHERE (@state IS NULL OR ${shownState} = @state)
  AND (@queue IS NULL OR queue = @queue)
  AND (@task IS NULL OR task = @task)${jobListMatchFilters}
ORDER BY w.walked_created_at DESC, w.walked_id DESC
LIMIT @limit`;

/**
 * Where a jobList page that did not fill stopped: the @walk-th job from the cursor in its order,
 * through the index alone (50,000 entries in 6-9 ms); none when its walk reached the oldest.
 */
export const jobListWalkEnd = `
SELECT created_at, id FROM jobs INDEXED BY jobs_created
WHERE (created_at, id) < (@cursorCreatedAt, @cursorId)
ORDER BY created_at DESC, id DESC
LIMIT 1 OFFSET @walk - 1`;

/**
 * jobList for failed or cancelled jobs (`@state` one of them): at most @walk of them from the cursor
 * in the partial index jobs_dead_created (the literal IN term lets SQLite use it), walked by a
 * co-routine (a subquery with a LIMIT is not flattened into a query with a WHERE) that the filters
 * read until @limit match: a page that fills stops the walk, and a filter matching few of many dead
 * jobs (a queue, a task, a search, or the other dead state) costs a bounded walk.
 */
export const jobListDead = `
SELECT * FROM (
  SELECT * FROM jobs
  WHERE state IN ('failed', 'cancelled') AND (created_at, id) < (@cursorCreatedAt, @cursorId)
  ORDER BY created_at DESC, id DESC
  LIMIT @walk) w
WHERE state = @state
  AND (@queue IS NULL OR queue = @queue)
  AND (@task IS NULL OR task = @task)${jobListMatchFilters}
ORDER BY created_at DESC, id DESC
LIMIT @limit`;

/**
 * Where a jobListDead page that did not fill stopped: the @walk-th failed or cancelled job from the
 * cursor; none when its walk reached the oldest. Read only for such a page (the index holds both
 * states, so it is not covering for this query: it reads each row the walk read).
 */
export const jobListDeadWalkEnd = `
SELECT created_at, id FROM jobs
WHERE state IN ('failed', 'cancelled') AND (created_at, id) < (@cursorCreatedAt, @cursorId)
ORDER BY created_at DESC, id DESC
LIMIT 1 OFFSET @walk - 1`;

/**
 * How long after @now the soonest scheduled job matching the filters comes due, in ms: jobs_scheduled
 * from @now on, in due order, until a row passes the filters (a queue or task not indexed here: the
 * scheduled jobs are the few waiting for their time, not the history).
 */
export const jobNextDue = `
SELECT run_at - @now AS inMs FROM jobs INDEXED BY jobs_scheduled
WHERE state = 'scheduled' AND run_at > @now
  AND (@queue IS NULL OR queue = @queue)
  AND (@task IS NULL OR task = @task)${jobListMatchFilters}
ORDER BY run_at LIMIT 1`;

/**
 * Job counts per queue and the state jobs read at @now (a due scheduled job counts as queued): a scan
 * of every job kept, for tests and tools; the queue list reads the waiting jobs through backlog-read.ts.
 */
export const jobCountByQueue = `
SELECT queue, ${shownState} AS state, count(*) AS count FROM jobs GROUP BY 1, 2 ORDER BY 1, 2`;

/**
 * Counts per queue of the finished jobs among those whose rowid is in (@after, @upTo]: one slice of the
 * table, read by its rowid range (job-read.ts `jobFinishedCountByQueue` reads the slices one by one).
 */
export const jobFinishedCountSlice = `
SELECT queue, state, count(*) AS count FROM jobs
WHERE rowid > @after AND rowid <= @upTo AND state IN ('completed', 'failed', 'cancelled')
GROUP BY 1, 2`;

/** The highest rowid of jobs (0 when none): where the slices of jobFinishedCountSlice end. */
export const jobLastRowid = `SELECT coalesce(max(rowid), 0) AS last FROM jobs`;

/** The lowest rowid of jobs above @after (null when none): a slice starts there, past any pruned range. */
export const jobNextRowid = `SELECT min(rowid) AS next FROM jobs WHERE rowid > @after`;

/**
 * A job's attempts, oldest first: its recorded runs in insertion order, then the run a plain
 * completion left in the job row (NULL id, see migrations/003_job_run_history.sql).
 */
export const jobRunList = `SELECT * FROM job_run_history WHERE job_id = ? ORDER BY id IS NULL, id`;
