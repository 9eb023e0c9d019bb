-- The dashboard's charts (GET /api/v1/stats) read the attempts that ended in the last minutes to a day.
-- Completed jobs are found by jobs_finished; recorded runs (failures, retries, timeouts, lapses: every
-- attempt that did not simply complete) need their own order by end time, or each chart refresh would
-- read the whole run history. Only those attempts pay for the entry: a plain completion writes no run row.
CREATE INDEX job_runs_finished ON job_runs (finished_at);
