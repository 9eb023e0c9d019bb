-- The lines a handler wrote with ctx.log, per attempt. Bounded by the worker (src/worker/job-log-lines.ts):
-- at most 200 lines per attempt plus one "lines dropped" marker; a message and its data JSON at most 4 KiB each.
-- No foreign key, as for job_runs: jobDelete and retention delete a job's lines in the statement that
-- deletes the job (sql/job-control.ts, sql/job-maintenance.ts).
-- `at` is the worker's clock when the handler logged the line; `seq` orders lines logged in the same
-- millisecond.
CREATE TABLE job_logs (
  job_id  uuid        NOT NULL,
  attempt integer     NOT NULL,
  seq     integer     NOT NULL,
  at      timestamptz NOT NULL,
  level   text        NOT NULL CHECK (level IN ('info', 'warn')),
  message text        NOT NULL,
  -- Opaque to the database, as jobs.payload: json (validated text) is cheaper than jsonb.
  data    json
);

-- A job's lines in order, and the lookup of the deletes that remove them with their job.
CREATE INDEX job_logs_job_idx ON job_logs (job_id, attempt, at, seq);

-- No primary key: see job_runs in 005_job_queue_and_leases.sql.
ALTER TABLE job_logs REPLICA IDENTITY FULL;
