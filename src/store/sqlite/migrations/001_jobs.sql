-- Jobs, one row per attempt in job_runs, and durable step results in job_steps.
-- Times are INTEGER milliseconds since the epoch on the store's clock; JSON values are TEXT.
-- A NULL checkpoint/result column means "never set" (undefined), distinct from the JSON text 'null'.

CREATE TABLE jobs (
  id               TEXT    PRIMARY KEY,
  task             TEXT    NOT NULL,
  queue            TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  state            TEXT    NOT NULL
                   CHECK (state IN ('scheduled', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  priority         INTEGER NOT NULL DEFAULT 0,
  attempt          INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  run_at           INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  lease_token      TEXT,
  lease_expires_at INTEGER,
  worker_id        TEXT,
  result           TEXT,
  error            TEXT,
  idempotency_key  TEXT,
  concurrency_key  TEXT,
  lease_ms         INTEGER,
  timeout_ms       INTEGER,
  checkpoint       TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  schedule_id      TEXT,
  schedule_slot    INTEGER,
  parent_id        TEXT
);

-- The ready set. A claim from all queues walks jobs_ready in (priority DESC, run_at, id) order and
-- stops after LIMIT rows, so no sort step runs however many jobs wait (EXPLAIN QUERY PLAN: "SCAN jobs
-- USING COVERING INDEX jobs_ready", no "USE TEMP B-TREE FOR ORDER BY"). A claim from chosen queues
-- walks jobs_ready_queue once per queue the same way: filtering jobs_ready by queue instead would read
-- every ready job of the other queues first (64 ms per claim, under the write lock, behind 200,000
-- jobs of another queue). Both are partial, so finished rows, which outnumber ready ones by far on a
-- busy system, cost nothing here.
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_ready_queue ON jobs (queue, priority DESC, run_at, id) WHERE state = 'queued';

-- Due scheduled rows (delayed jobs, retry backoff) are found by a range scan on run_at at each claim.
CREATE INDEX jobs_scheduled ON jobs (run_at) WHERE state = 'scheduled';

-- Rescue reads running rows by lease expiry, oldest first: a range scan that never visits the healthy
-- long-running jobs whose leases are still in the future, however many there are.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';

-- One job per idempotency key; jobs without a key are not in the index at all.
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Retention deletes the oldest finished jobs first; finished_at is set only in final states.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- Listing is newest first; filters are checked while walking jobs_created. Failed and cancelled
-- jobs, the ones people come looking for, are few among many completed ones, so they get their own
-- small index: 3 failed among 300,000 completed took 186 ms by jobs_created, under 1 ms by this one.
-- Partial, so it costs a write only when a job enters or leaves those states, and no claim or sweep
-- can pick it (their WHERE never implies this one; a full (state, ...) index lured the planner away
-- from the partial indexes above).
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_dead_created ON jobs (created_at DESC, id DESC) WHERE state IN ('failed', 'cancelled');

CREATE TABLE job_runs (
  id                    INTEGER PRIMARY KEY,
  job_id                TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt               INTEGER NOT NULL,
  worker_id             TEXT    NOT NULL,
  started_at            INTEGER NOT NULL,
  finished_at           INTEGER NOT NULL,
  duration_ms           INTEGER NOT NULL,
  run_lag_ms            INTEGER NOT NULL,
  outcome               TEXT    NOT NULL
                        CHECK (outcome IN ('completed', 'failed', 'timeout', 'lease_lapsed', 'released', 'cancelled')),
  error                 TEXT,
  max_duration_exceeded INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX job_runs_job ON job_runs (job_id, id);

CREATE TABLE job_steps (
  job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  result     TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, name)
) WITHOUT ROWID;
