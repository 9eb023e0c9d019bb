-- The lines a handler wrote with ctx.log, per attempt. Bounded by the worker (src/worker/job-log-lines.ts):
-- at most 200 lines per attempt plus one "lines dropped" marker; a message and its data JSON at most 4 KiB each.
-- Deleted with their job (the cascade serves jobDelete and retention alike).
-- `at` is the worker's clock (INTEGER ms since the epoch) when the handler logged the line; `seq`
-- orders lines logged in the same millisecond. `data` is JSON text or NULL.
CREATE TABLE job_logs (
  job_id  TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  level   TEXT    NOT NULL CHECK (level IN ('info', 'warn')),
  message TEXT    NOT NULL,
  data    TEXT
);

-- A job's lines in order, and the cascade's lookup when a job is deleted.
CREATE INDEX job_logs_job ON job_logs (job_id, attempt, at, seq);
