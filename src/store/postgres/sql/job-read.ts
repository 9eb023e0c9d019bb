/** Reads for the API, CLI and dashboard. None of them is on the claim/finish hot path. */

/** $1 id. */
export const getJob = (s: string): string => `SELECT * FROM ${s}.jobs WHERE id = $1`;

/**
 * Newest first by id: ids are UUIDv7, so id order is creation order and the primary key serves both
 * the order and the cursor (keyset paging, no OFFSET). $1 state, $2 queue, $3 task, $4 cursor id
 * (each nullable), $5 limit.
 */
export const listJobs = (s: string): string => `
  SELECT * FROM ${s}.jobs
  WHERE ($1::text IS NULL OR state = $1)
    AND ($2::text IS NULL OR queue = $2)
    AND ($3::text IS NULL OR task = $3)
    AND ($4::uuid IS NULL OR id < $4)
  ORDER BY id DESC
  LIMIT $5`;

/** A full scan; meant for dashboards and metrics scrapes, not for every claim. */
export const countByQueue = (s: string): string => `
  SELECT queue, state, count(*)::int AS count FROM ${s}.jobs GROUP BY queue, state ORDER BY queue, state`;

/**
 * The run history of one job: its run rows, and for a completed job whose last run has no row (plain
 * completions write none, see sql/job-finish.ts) that run as the job row records it. $1 job id.
 */
export const listRuns = (s: string): string => `
  SELECT job_id, attempt, worker_id, started_at, finished_at, due_at, outcome, error, max_duration_exceeded
  FROM ${s}.job_runs WHERE job_id = $1
  UNION ALL
  SELECT id, attempt, coalesce(worker_id, ''), coalesce(started_at, finished_at), finished_at, run_at,
         'completed', NULL::jsonb, false
  FROM ${s}.jobs j
  WHERE id = $1 AND state = 'completed'
    AND NOT EXISTS (SELECT 1 FROM ${s}.job_runs r
                    WHERE r.job_id = j.id AND r.attempt = j.attempt AND r.outcome = 'completed')
  ORDER BY attempt, finished_at`;
