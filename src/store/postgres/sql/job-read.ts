/** Reads for the API, CLI and dashboard. None of them is on the claim/finish hot path. */

/** Whether the jobs row `j` is `scheduled` and due by the store's clock (dueColumn). */
const isDue = (s: string, j: string): string =>
  `(${j}.state = 'scheduled' AND ${j}.run_at <= ${s}.nightshift_now())`;

/**
 * The `due` column that job-record.ts decodes, for the jobs row `j`: a scheduled job whose time has
 * come reads `queued` (README "Job states"; its row stays `scheduled` until a claim promotes it).
 */
export const dueColumn = (s: string, j: string): string => `${isDue(s, j)} AS due`;

/** The state the jobs row `j` reads (dueColumn), as text. */
const shownState = (s: string, j: string): string =>
  `(CASE WHEN ${isDue(s, j)} THEN 'queued' ELSE ${j}.state::text END)`;

/** $1 id. */
export const jobGet = (s: string): string =>
  `SELECT j.*, ${dueColumn(s, 'j')} FROM ${s}.jobs j WHERE id = $1`;

/**
 * The optional filters every list and bulk statement shares (JobMatch), on the jobs row `j`, from
 * the parameters numbered `search`, `search + 1` (created after, inclusive) and `search + 2` (created
 * before). Search is a substring test on each row the other conditions let through, so its cost is the
 * rows read in the statement's index order until LIMIT rows match. The search text is lowercased by
 * the same lower() as the rows: JavaScript's toLowerCase folds some capitals otherwise (it makes "İ"
 * two code points where lower() makes one "i"), and the text copied from a payload would miss it.
 */
export const jobListMatchFilters = (j: string, search: number): string => `
    AND ($${search + 1}::timestamptz IS NULL OR ${j}.created_at >= $${search + 1})
    AND ($${search + 2}::timestamptz IS NULL OR ${j}.created_at < $${search + 2})
    AND ($${search}::text IS NULL OR strpos(lower(${j}.payload::text), lower($${search})) > 0
         OR strpos(lower(coalesce(${j}.result::text, '')), lower($${search})) > 0
         OR strpos(lower(coalesce(${j}.error ->> 'message', '')), lower($${search})) > 0)`;

/**
 * Newest first by id: ids are UUIDv7, so id order is creation order and the primary key serves both
 * the order and the cursor (keyset paging, no OFFSET). $1 state, $2 queue, $3 task, $4 cursor id
 * (each nullable), $5 limit, $6-$8 jobListMatchFilters. The state filter is on the state a job reads
 * (dueColumn), compared as text, so a word that is no state matches nothing (as on SQLite) instead of
 * failing a cast to the enum.
 *
 * \`jobs\` has no index on state (migration 005): the few waiting and running jobs ($1 queued, scheduled
 * or running) are found through the tables that index them (queue rows, split at the store's clock by
 * job_queue_scheduled_idx; claims' job lists) and read by primary key, so listing them does not walk
 * the finished jobs. Every job or the completed ones, most of the table, are listed by jobListWalk;
 * failed and cancelled ones by jobListDead.
 */
export const jobList = (s: string): string => `
  SELECT j.*, ${dueColumn(s, 'j')} FROM ${s}.jobs j
  WHERE ($1::text IS NULL OR ${shownState(s, 'j')} = $1)
    AND ($1::text IS NULL OR $1::text IN ('completed', 'failed', 'cancelled')
         OR id = ANY(ARRAY(SELECT id FROM ${s}.job_queue WHERE $1::text = 'queued' AND state = 'queued'
                           UNION ALL
                           SELECT id FROM ${s}.job_queue
                           WHERE $1::text = 'queued' AND state = 'scheduled' AND run_at <= ${s}.nightshift_now()
                           UNION ALL
                           SELECT id FROM ${s}.job_queue
                           WHERE $1::text = 'scheduled' AND state = 'scheduled' AND run_at > ${s}.nightshift_now()
                           UNION ALL
                           SELECT unnest(job_ids) FROM ${s}.job_leases WHERE $1::text = 'running')))
    AND ($2::text IS NULL OR queue = $2)
    AND ($3::text IS NULL OR task = $3)
    AND ($4::uuid IS NULL OR id < $4)${jobListMatchFilters('j', 6)}
  ORDER BY id DESC
  LIMIT $5`;

/**
 * jobList for every job or the completed ones ($1 null or 'completed'; the other parameters as
 * jobList's, $9 the walk's bound, JOB_LIST_WALK_MAX): the primary key walked newest first from the
 * cursor, at most $9 jobs. Each walked job is numbered (`walked`) and tested (`matches`); the matches
 * come back, and so does the $9th job walked, matching or not, so that a walk that ends before the
 * page is full says where it stopped and the next page searches on from there: a filter that matches
 * few of millions of finished jobs costs each page a bounded walk, where it read the whole history in
 * one statement (a queue with none of 1,000,000 jobs: 2.9-3.5 s, now 51-121 ms). The window counts the walk in
 * its order and streams: a page that fills stops the walk.
 */
export const jobListWalk = (s: string): string => `
  SELECT w.*, ${dueColumn(s, 'w')} FROM (
    SELECT j.*, row_number() OVER (ORDER BY j.id DESC) AS walked,
           (($1::text IS NULL OR ${shownState(s, 'j')} = $1)
            AND ($2::text IS NULL OR j.queue = $2)
            AND ($3::text IS NULL OR j.task = $3)${jobListMatchFilters('j', 6)}) AS matches
    FROM (SELECT * FROM ${s}.jobs WHERE $4::uuid IS NULL OR id < $4 ORDER BY id DESC LIMIT $9) j
  ) w
  WHERE w.matches OR w.walked = $9
  ORDER BY w.id DESC
  LIMIT $5`;

/**
 * The failed and cancelled jobs as `d` (job_dead, migration 028: the ids of exactly these jobs) joined
 * to their rows as `j`: job_dead's primary key walked from the cursor $4 (exclusive; null for the start)
 * newest first (`DESC`) or oldest first (`ASC`), at most `limit` of them when given, each job read by its primary key in a LATERAL subquery
 * kept whole, so a nested loop whatever the planner believes of either table. A statement reading it
 * with a LIMIT costs what the failed and cancelled jobs cost, never the completed history.
 */
export const deadJobsWalk = (s: string, order: 'ASC' | 'DESC', limit?: string): string => `
  (SELECT id FROM ${s}.job_dead
   WHERE $4::uuid IS NULL OR id ${order === 'DESC' ? '<' : '>'} $4 ORDER BY id ${order}${limit === undefined ? '' : ` LIMIT ${limit}`}) d
  -- OFFSET 0 keeps the subquery from being flattened into a join, which the planner without
  -- statistics made a merge join over a sort of all of jobs.
  CROSS JOIN LATERAL (SELECT * FROM ${s}.jobs WHERE id = d.id OFFSET 0) j`;

/**
 * jobList for failed or cancelled jobs ($1 one of them; the other parameters as jobListWalk's, $9 the
 * walk's bound): the dead jobs newest first from the cursor (deadJobsWalk), at most $9 of them, each
 * numbered and tested as jobListWalk does, so that a filter matching few of many failed or cancelled
 * jobs (a queue, a task, a search, or the other dead state) costs each page a bounded walk. The window
 * and the final order follow job_dead's id (`dead_id`), whose index gives them without a sort: a page
 * that fills stops the walk.
 */
export const jobListDead = (s: string): string => `
  SELECT w.*, ${dueColumn(s, 'w')} FROM (
    SELECT j.*, d.id AS dead_id, row_number() OVER (ORDER BY d.id DESC) AS walked,
           (j.state::text = $1
            AND ($2::text IS NULL OR j.queue = $2)
            AND ($3::text IS NULL OR j.task = $3)${jobListMatchFilters('j', 6)}) AS matches
    FROM ${deadJobsWalk(s, 'DESC', '$9')}
  ) w
  WHERE w.matches OR w.walked = $9
  ORDER BY w.dead_id DESC
  LIMIT $5`;

/**
 * How long until the soonest scheduled job matching the filters comes due by the store's clock, in ms:
 * the scheduled rows of job_queue past now in due order (job_queue_scheduled_queue_idx for a queue,
 * else job_queue_scheduled_idx), each row's job read by primary key only when a task, text or creation
 * filter needs it, until one matches. The cost follows the jobs waiting for their time. $1 queue,
 * $2 task (nullable), $3-$5 jobListMatchFilters.
 */
export const jobNextDue = (s: string): string => `
  SELECT extract(epoch FROM q.run_at - ${s}.nightshift_now()) * 1000 AS "inMs"
  FROM ${s}.job_queue q
  WHERE q.state = 'scheduled' AND q.run_at > ${s}.nightshift_now()
    AND ($1::text IS NULL OR q.queue = $1)
    AND (($2::text IS NULL AND $3::text IS NULL AND $4::timestamptz IS NULL AND $5::timestamptz IS NULL)
         OR EXISTS (SELECT 1 FROM ${s}.jobs j WHERE j.id = q.id AND ($2::text IS NULL OR j.task = $2)${jobListMatchFilters('j', 3)}))
  ORDER BY q.run_at, q.id
  LIMIT 1`;

/**
 * Counts per queue and the state jobs read (a due scheduled job counts as queued). A full scan of the
 * history, for tests and tools; the queue list reads the waiting jobs through queueLoadList instead.
 */
export const jobCountByQueue = (s: string): string => `
  SELECT j.queue, ${shownState(s, 'j')} AS state, count(*)::int AS count FROM ${s}.jobs j
  GROUP BY 1, 2 ORDER BY 1, 2`;

/**
 * Counts per queue of the finished jobs kept. A sequential scan of `jobs`: no index of `jobs` may name
 * `state`, which a finish changes (migration 005: it would cost every claim and finish an entry in
 * every index), so the cost follows retention; the library reuses the answer (queue-finished-counts.ts).
 */
export const jobFinishedCountByQueue = (s: string): string => `
  SELECT queue, state::text AS state, count(*)::int AS count FROM ${s}.jobs
  WHERE state IN ('completed', 'failed', 'cancelled')
  GROUP BY 1, 2 ORDER BY 1, 2`;

/** The run history of one job, recorded and implied (see migrations/003_job_run_history.sql). $1 job id. */
export const jobRunList = (s: string): string =>
  `SELECT * FROM ${s}.job_run_history WHERE job_id = $1 ORDER BY attempt, finished_at`;
