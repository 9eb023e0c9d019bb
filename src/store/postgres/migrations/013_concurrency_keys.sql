-- Concurrency keys: at most N running jobs per key.
--
-- jobs.concurrency_limit is the N a job was enqueued with (NULL without a key); job_queue carries the
-- key and the limit too, so the claim's index walk can skip the rows of a full key without visiting
-- their jobs. concurrency_keys holds one row per key ever claimed: in_use    counts its running jobs, max
-- (NULL unless an operator set one) overrides the jobs' own limit.
--
-- Taking: the claim adds to in_use    with INSERT ... ON CONFLICT DO UPDATE ... WHERE in_use    + n <= limit
-- (sql/concurrency-keys.ts). ON CONFLICT locks the key's row and evaluates the WHERE against its latest
-- committed version, whatever the claim's snapshot saw, so two claims racing for the last slot cannot
-- both pass.
--
-- Giving back: the statement trigger below, in the statement that moves jobs out of 'running'. Every
-- such statement is fenced by the lease token and `state = 'running'`, so an attempt leaves 'running'
-- once and its slot is returned once, whichever way it ends: finish, retry, release, cancel or rescue.
-- Caveat: the trigger locks a key's row per job, in the order the statement ended its jobs. Two
-- concurrent finish batches that each end jobs of the same two keys in opposite orders can deadlock;
-- PostgreSQL aborts one of them, whose finishes are then retried.
ALTER TABLE jobs ADD COLUMN concurrency_limit integer;
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

-- SET search_path: the function runs with its caller's path, which need not name this schema.
CREATE FUNCTION concurrency_slot_release() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE concurrency_keys SET in_use = in_use - 1 WHERE key = OLD.concurrency_key;
  RETURN NULL;
END $$;

-- A row trigger whose WHEN is checked without calling the function: jobs without a key, and every
-- update that keeps a job running (renewals, checkpoints), cost nothing. (A statement trigger over
-- transition tables would see every UPDATE of jobs: PostgreSQL refuses a column list there.)
CREATE TRIGGER concurrency_slot_release AFTER UPDATE OF state ON jobs
FOR EACH ROW
WHEN (OLD.state = 'running' AND NEW.state <> 'running' AND OLD.concurrency_key IS NOT NULL)
EXECUTE FUNCTION concurrency_slot_release();
