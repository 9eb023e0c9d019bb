-- The whole run history of every job, for the store's reads and for anyone reporting on it in SQL.
-- A plain completion writes no job_runs row (see sql/job-finish.ts, JOB_COMPLETE): a completed job is
-- final, so its own row holds its last run. This view puts those runs back beside the recorded ones,
-- with a NULL id: such a run is always its job's last, after every recorded one. A completion that
-- overran its max duration has a real row, which the NOT EXISTS keeps from appearing twice.
-- A filter on job_id reaches both branches (job_runs_job and the primary key), so reading one job's
-- history through the view costs what reading the table did.
CREATE VIEW job_run_history AS
  SELECT id, job_id, attempt, worker_id, started_at, finished_at, duration_ms, run_lag_ms, outcome, error,
         max_duration_exceeded
  FROM job_runs
  UNION ALL
  SELECT NULL, j.id, j.attempt, coalesce(j.worker_id, ''), coalesce(j.started_at, j.finished_at),
         j.finished_at, max(0, j.finished_at - coalesce(j.started_at, j.finished_at)),
         max(0, coalesce(j.started_at, j.finished_at) - j.run_at), 'completed', NULL, 0
  FROM jobs j
  WHERE j.state = 'completed'
    AND NOT EXISTS (SELECT 1 FROM job_runs r
                    WHERE r.job_id = j.id AND r.attempt = j.attempt AND r.outcome = 'completed');
