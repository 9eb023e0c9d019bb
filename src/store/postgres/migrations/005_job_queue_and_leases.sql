-- The ready set, the leases and the retention order move out of `jobs` into tables of their own, so
-- that no index of `jobs` depends on a column a claim or a finish changes. A job's row then changes in
-- place (a heap-only update: a new row version on the same page, no index entry anywhere) when it is
-- claimed and again when it finishes, instead of paying a primary-key entry and a partial-index entry
-- for every state change. bench/sql-cost.ts counts the difference per job.
--
-- `jobs` stays the one source of truth for every job's state, lease token, lease end and history; the
-- new tables only index it:
-- - job_queue: one row per queued or scheduled job, deleted by the claim that takes it;
-- - job_leases: one row per claim, listing its jobs, with the earliest lease end among them still
--   running, so the rescue finds lapsed attempts by one small index;
-- - job_finish_log: one row per statement that ended jobs, listing them, so retention finds the
--   oldest finished jobs by one small index.
-- Lock order everywhere: a job_queue row before its job's row.

-- Six tenths of each new page stay free for the new row versions of claims and finishes (a claimed row is
-- ~80 bytes longer than the inserted one; at half, a sixth of claims found no room); once a version is
-- dead, the next update on the page reclaims its space.
ALTER TABLE jobs SET (fillfactor = 40);

CREATE TABLE job_queue (
  id       uuid        NOT NULL,
  queue    text        NOT NULL,
  priority integer     NOT NULL,
  run_at   timestamptz NOT NULL,
  -- 'queued' or 'scheduled', as on the job's row.
  state    job_state   NOT NULL
);
-- No primary key: a row is found by its full index key (the job's priority, due time and id, all on its
-- row), and an index on id alone would cost every enqueue an entry for lookups only cancel makes.
-- Claim order, as jobs_ready_idx had it (see sql/job-claim.ts).
CREATE INDEX job_queue_ready_idx ON job_queue (priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX job_queue_ready_queue_idx ON job_queue (queue, (-(priority::bigint)), run_at, id)
  WHERE state = 'queued';
CREATE INDEX job_queue_scheduled_idx ON job_queue (run_at, id) WHERE state = 'scheduled';

CREATE TABLE job_leases (
  -- The claim's lease token, shared by its jobs.
  token      uuid        PRIMARY KEY,
  worker_id  text        NOT NULL,
  -- The earliest lease end among its jobs still running under the token (or earlier: never later).
  expires_at timestamptz NOT NULL,
  job_ids    uuid[]      NOT NULL
);
CREATE INDEX job_leases_expiry_idx ON job_leases (expires_at);

CREATE TABLE job_finish_log (
  finished_at timestamptz NOT NULL,
  job_ids     uuid[]      NOT NULL
);
CREATE INDEX job_finish_log_time_idx ON job_finish_log (finished_at);

-- These two tables and job_runs have no primary key; a database that publishes its tables for logical
-- replication (change data capture) refuses deletes and updates on such tables unless their replica
-- identity is the whole row. Without logical replication this costs nothing.
ALTER TABLE job_queue REPLICA IDENTITY FULL;
ALTER TABLE job_finish_log REPLICA IDENTITY FULL;
ALTER TABLE job_runs REPLICA IDENTITY FULL;

INSERT INTO job_queue (id, queue, priority, run_at, state)
  SELECT id, queue, priority, run_at, state FROM jobs WHERE state IN ('queued', 'scheduled');

-- A running row without a token or lease end (only written by hand) could never be finished or
-- rescued; it gets both, ended now, so the rescue gives it back.
UPDATE jobs SET lease_token = coalesce(lease_token, gen_random_uuid()),
                lease_expires_at = coalesce(lease_expires_at, now())
WHERE state = 'running' AND (lease_token IS NULL OR lease_expires_at IS NULL);

INSERT INTO job_leases (token, worker_id, expires_at, job_ids)
  SELECT lease_token, min(coalesce(worker_id, '')), min(lease_expires_at), array_agg(id)
  FROM jobs WHERE state = 'running'
  GROUP BY lease_token;

INSERT INTO job_finish_log (finished_at, job_ids)
  SELECT coalesce(finished_at, updated_at), array_agg(id)
  FROM jobs WHERE state IN ('completed', 'failed', 'cancelled')
  GROUP BY coalesce(finished_at, updated_at);

DROP INDEX jobs_ready_idx;
DROP INDEX jobs_ready_queue_idx;
DROP INDEX jobs_scheduled_idx;
DROP INDEX jobs_lease_idx;
DROP INDEX jobs_finished_idx;
