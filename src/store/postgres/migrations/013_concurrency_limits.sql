-- Concurrency limits: at most N running jobs per concurrency key, and per queue.
--
-- jobs.concurrency_limit is the N a keyed job was enqueued with (NULL without a key); job_queue carries
-- the key and the limit too, so the claim's index walk skips the rows of a full key without visiting
-- their jobs. concurrency_keys holds one row per key ever claimed: in_use counts its running jobs, max
-- (NULL unless an operator set one) overrides the jobs' own limit. queue_limits holds one row per
-- queue ever given a limit: max (NULL: no limit now), in_use the running jobs that took a slot of it,
-- which jobs.queue_slot marks. Rows are never deleted, so a count is never lost.
--
-- Taking, in the claim statement (sql/concurrency-limits.ts):
-- - a key's slots by INSERT ... ON CONFLICT DO UPDATE ... WHERE in_use + n <= limit. ON CONFLICT locks
--   the key's row and evaluates the WHERE on its newest committed version, whatever the claim's
--   snapshot saw, so two claims racing for the last slot cannot both pass;
-- - a queue's slots under a lock on its row taken before anything is admitted (FOR UPDATE returns the
--   newest version), so the free count the claim admits against is exact until it commits.
--
-- Giving back: the trigger below, in the statement that moves a job out of 'running'. Every such
-- statement is fenced by the lease token and `state = 'running'`, so an attempt leaves 'running' once
-- and its slots are returned once, whichever way it ends: finish, retry, release, cancel or rescue.
-- A job claimed while its queue had no limit has queue_slot false and gives nothing back, so a limit
-- set while jobs run counts only the jobs claimed after it (docs/TENANCY.md).
-- Lock order: a queue's row, then a key's row, in the claim and in the trigger. Caveat: a finish
-- batch locks them job by job, in the order it ended its jobs; two concurrent batches that end jobs
-- of the same two keys (or limited queues) in opposite orders can deadlock, and PostgreSQL aborts one.
ALTER TABLE jobs ADD COLUMN concurrency_limit integer;
ALTER TABLE jobs ADD COLUMN queue_slot boolean NOT NULL DEFAULT false;
ALTER TABLE job_queue ADD COLUMN concurrency_key text;
ALTER TABLE job_queue ADD COLUMN concurrency_limit integer;

CREATE TABLE concurrency_keys (
  key       text    PRIMARY KEY,
  in_use    integer NOT NULL DEFAULT 0,
  max       integer,
  -- The limit of the jobs the latest claim took (theirs, when max is NULL); for reads and for the
  -- claim's re-check of the limit on the key's newest row version.
  job_limit integer NOT NULL
);

CREATE TABLE queue_limits (
  queue  text    PRIMARY KEY,
  max    integer,
  in_use integer NOT NULL DEFAULT 0
);

-- SET search_path: the function runs with its caller's path, which need not name this schema.
CREATE FUNCTION concurrency_slot_release() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  IF OLD.queue_slot THEN
    UPDATE queue_limits SET in_use = in_use - 1 WHERE queue = OLD.queue;
  END IF;
  IF OLD.concurrency_key IS NOT NULL THEN
    UPDATE concurrency_keys SET in_use = in_use - 1 WHERE key = OLD.concurrency_key;
  END IF;
  RETURN NULL;
END $$;

-- A row trigger whose WHEN is checked without calling the function: jobs without a key or a queue
-- slot, and every update that keeps a job running (renewals, checkpoints), cost nothing. (A statement
-- trigger over transition tables would see every UPDATE of jobs: PostgreSQL refuses a column list
-- there.)
CREATE TRIGGER concurrency_slot_release AFTER UPDATE OF state ON jobs
FOR EACH ROW
WHEN (OLD.state = 'running' AND NEW.state <> 'running' AND (OLD.concurrency_key IS NOT NULL OR OLD.queue_slot))
EXECUTE FUNCTION concurrency_slot_release();
