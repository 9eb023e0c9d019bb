-- A key's limit as the key list shows it (sql/concurrency-limits.ts `concurrencyKeyList`) comes from
-- what the claim goes by: the operator's limit, else the key's waiting jobs' own limit, else that of
-- the jobs the latest claim took. Two changes make that readable:
--
-- - jobs_waiting_key: the waiting (queued or scheduled) keyed jobs by key and limit, so the list finds
--   a key's largest waiting limit by one descent. The former lookup, run when an operator's limit
--   made a key's row, read every row of `jobs` (finished history included) and only queued jobs, so a
--   key whose jobs were all delayed or retrying showed 1. Jobs without a key have no entry; a keyed
--   job costs one entry from its enqueue to its claim. It carries `state`, which its predicate
--   settles, so the lookup reads the index alone (SQLite counts a read as covering only when the
--   index holds every column the statement names: migration 014).
-- - concurrency_keys.job_limit may be NULL: a row an operator's limit or rate made before any claim
--   took a job of the key, which no claim has given a limit yet (it was 1, whatever the jobs' limit).
--   SQLite cannot drop a NOT NULL in place, so the table is rebuilt, its index and the trigger that
--   names it dropped first and made again as they were (migrations 012 and 017).
CREATE INDEX jobs_waiting_key ON jobs (concurrency_key, concurrency_limit, state)
  WHERE state IN ('queued', 'scheduled') AND concurrency_key IS NOT NULL;

DROP TRIGGER concurrency_slot_release;
DROP INDEX concurrency_keys_rated;

CREATE TABLE concurrency_keys_rebuilt (
  key            TEXT    PRIMARY KEY,
  in_use         INTEGER NOT NULL DEFAULT 0,
  max            INTEGER,
  -- The limit of the jobs the latest claim took (theirs, when max is NULL); NULL before any claim.
  job_limit      INTEGER,
  rate_limit     INTEGER,
  rate_period_ms INTEGER,
  rate_tat       REAL    NOT NULL DEFAULT 0,
  released_at    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO concurrency_keys_rebuilt (key, in_use, max, job_limit, rate_limit, rate_period_ms, rate_tat, released_at)
  SELECT key, in_use, max, job_limit, rate_limit, rate_period_ms, rate_tat, released_at FROM concurrency_keys;
DROP TABLE concurrency_keys;
ALTER TABLE concurrency_keys_rebuilt RENAME TO concurrency_keys;

CREATE INDEX concurrency_keys_rated ON concurrency_keys (key) WHERE rate_limit IS NOT NULL;
CREATE TRIGGER concurrency_slot_release AFTER UPDATE OF state ON jobs
WHEN old.state = 'running' AND new.state <> 'running' AND old.concurrency_key IS NOT NULL
BEGIN
  UPDATE concurrency_keys
  SET in_use = in_use - 1, released_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE key = old.concurrency_key;
END;
