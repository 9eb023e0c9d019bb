-- Concurrency keys: at most N running jobs per key.
--
-- jobs.concurrency_limit is the N a job was enqueued with (NULL without a key). concurrency_keys holds
-- one row per key ever claimed: in_use    counts its running jobs, max (NULL unless an operator set one)
-- overrides the jobs' own limit. The claim adds to in_use    in its write transaction after checking the
-- limit (SQLite's single writer makes check-and-take exact); the trigger below gives the slot back in
-- the very statement that moves the job out of 'running'. Every such statement is fenced by the lease
-- token and `state = 'running'`, so an attempt leaves 'running' once and its slot is returned once,
-- whichever way it ends: finish, retry, release, cancel or rescue.
ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER;

CREATE TABLE concurrency_keys (
  key       TEXT    PRIMARY KEY,
  in_use    INTEGER NOT NULL DEFAULT 0,
  max       INTEGER,
  -- The limit of the jobs the latest claim took (theirs, when max is NULL).
  job_limit INTEGER NOT NULL
);

CREATE TRIGGER concurrency_slot_release AFTER UPDATE OF state ON jobs
WHEN old.state = 'running' AND new.state <> 'running' AND old.concurrency_key IS NOT NULL
BEGIN
  UPDATE concurrency_keys SET in_use    = in_use    - 1 WHERE key = old.concurrency_key;
END;

-- The one-queue ready walk reads a row's key and limit to skip a full key (sql/concurrency-keys.ts):
-- jobs_ready_queue carries both after the claim order, so that walk stays covering. (The all-queue
-- walk reads each row for its queue already, to test it against the paused list.)
DROP INDEX jobs_ready_queue;
CREATE INDEX jobs_ready_queue ON jobs (queue, priority DESC, run_at, id, concurrency_key, concurrency_limit)
  WHERE state = 'queued';
