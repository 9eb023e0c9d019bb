-- Jobs, their run history and durable steps.
-- Runs with search_path set to the store's schema (see migrator.ts), so names are unqualified here.

CREATE TABLE jobs (
  id               uuid        PRIMARY KEY,
  task             text        NOT NULL,
  queue            text        NOT NULL,
  -- Opaque to the database, never queried: json (validated text) is cheaper to write and read than jsonb.
  payload          json,
  state            text        NOT NULL
                   CHECK (state IN ('scheduled', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  priority         integer     NOT NULL DEFAULT 0,
  attempt          integer     NOT NULL DEFAULT 0,
  max_attempts     integer     NOT NULL,
  run_at           timestamptz NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  lease_expires_at timestamptz,
  lease_token      uuid,
  worker_id        text,
  result           json,
  error            jsonb,
  idempotency_key  text,
  concurrency_key  text,
  lease_ms         integer,
  timeout_ms       integer,
  -- Boxed as {"v": value} so a saved null differs from "never saved" (SQL NULL); see job-row.ts.
  checkpoint       json,
  cancel_requested boolean     NOT NULL DEFAULT false,
  schedule_id      text,
  schedule_slot    timestamptz,
  parent_id        text
);

-- The ready set. Partial, so it holds only queued rows: small and hot however many finished rows the
-- table keeps. Its column order is the claim order, so a claim reads the first LIMIT entries and stops.
CREATE INDEX jobs_ready_idx ON jobs (priority DESC, run_at, id) WHERE state = 'queued';
-- The same order per queue, for workers restricted to some queues (one index range per queue). The
-- priority is an expression on purpose: see the claim in sql/job-claim.ts. bigint: -priority of the
-- smallest integer would overflow.
CREATE INDEX jobs_ready_queue_idx ON jobs (queue, (-(priority::bigint)), run_at, id) WHERE state = 'queued';
-- Delayed jobs and retry backoff: the claim promotes the due head of this index in the same statement.
CREATE INDEX jobs_scheduled_idx ON jobs (run_at) WHERE state = 'scheduled';
-- Rescue of lapsed leases reads only running rows, oldest lease first. The IS NOT NULL term is implied
-- by the rescue's `lease_expires_at < now()` but not by the finish or renewal, so the planner can never
-- serve those from here (scanning every running row to find a batch) instead of the primary key.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'running' AND lease_expires_at IS NOT NULL;
-- Retention deletes final rows oldest first in small batches.
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE state IN ('completed', 'failed', 'cancelled');
-- One job per idempotency key; the target of ON CONFLICT in the insert.
CREATE UNIQUE INDEX jobs_idempotency_key_idx ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One row per ended attempt. No foreign key: a key check per finished job costs a trigger call and a
-- share lock on the job row in the hottest statement, and retention deletes runs with their job anyway.
CREATE TABLE job_runs (
  job_id                uuid        NOT NULL,
  attempt               integer     NOT NULL,
  worker_id             text        NOT NULL,
  started_at            timestamptz NOT NULL,
  finished_at           timestamptz NOT NULL,
  due_at                timestamptz NOT NULL,
  outcome               text        NOT NULL
                        CHECK (outcome IN ('completed', 'failed', 'timeout', 'lease_lapsed', 'released', 'cancelled')),
  error                 jsonb,
  max_duration_exceeded boolean     NOT NULL DEFAULT false
);
CREATE INDEX job_runs_job_idx ON job_runs (job_id, attempt);

CREATE TABLE job_steps (
  job_id     uuid        NOT NULL,
  name       text        NOT NULL,
  -- Boxed like jobs.checkpoint: a step may return undefined or null, and both must replay as such.
  result     json        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, name)
);
