-- Concurrency limits: at most N running jobs per concurrency key, and per queue.
--
-- jobs.concurrency_limit is the N a keyed job was enqueued with (NULL without a key). concurrency_keys
-- holds one row per key ever claimed: in_use counts its running jobs, max (NULL unless an operator set
-- one) overrides the jobs' own limit. queue_limits holds one row per queue ever given a limit: max
-- (NULL: no limit now), in_use the running jobs that took a slot of it, which jobs.queue_slot marks.
-- Rows are never deleted, so a count is never lost.
--
-- The claim adds to in_use in its write transaction after checking the limit (SQLite's single writer
-- makes check-and-take exact); the triggers below give the slots back in the very statement that
-- moves the job out of 'running'. Every such statement is fenced by the lease token and
-- `state = 'running'`, so an attempt leaves 'running' once and its slots are returned once, whichever
-- way it ends: finish, retry, release, cancel or rescue. A job claimed while its queue had no limit has
-- queue_slot 0 and gives nothing back, so a limit set while jobs run counts only jobs claimed after it.
ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE jobs ADD COLUMN queue_slot INTEGER NOT NULL DEFAULT 0;

CREATE TABLE concurrency_keys (
  key       TEXT    PRIMARY KEY,
  in_use    INTEGER NOT NULL DEFAULT 0,
  max       INTEGER,
  -- The limit of the jobs the latest claim took (theirs, when max is NULL).
  job_limit INTEGER NOT NULL
);

CREATE TABLE queue_limits (
  queue  TEXT    PRIMARY KEY,
  max    INTEGER,
  in_use INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER concurrency_slot_release AFTER UPDATE OF state ON jobs
WHEN old.state = 'running' AND new.state <> 'running' AND old.concurrency_key IS NOT NULL
BEGIN
  UPDATE concurrency_keys SET in_use = in_use - 1 WHERE key = old.concurrency_key;
END;

CREATE TRIGGER queue_slot_release AFTER UPDATE OF state ON jobs
WHEN old.state = 'running' AND new.state <> 'running' AND old.queue_slot <> 0
BEGIN
  UPDATE queue_limits SET in_use = in_use - 1 WHERE queue = old.queue;
END;

-- The one-queue ready walk reads a row's key and limit to skip a full key (sql/concurrency-limits.ts):
-- jobs_ready_queue carries both after the claim order, so that walk stays covering. (The all-queue
-- walk reads each row for its queue already, to test it against the paused list.)
DROP INDEX jobs_ready_queue;
CREATE INDEX jobs_ready_queue ON jobs (queue, priority DESC, run_at, id, concurrency_key, concurrency_limit)
  WHERE state = 'queued';
