-- concurrency_keys.job_limit may be NULL: a row an operator's limit or rate made before any claim took
-- a job of the key has no claimed limit yet. Such rows were given 1 (a rate's) or the limit of a queued
-- job found by reading every row of `jobs` (an operator's limit), so the key list showed 1 for a key
-- whose jobs carried another limit, or whose jobs were all delayed or waiting to retry. SQLite cannot
-- drop a NOT NULL in place, so the table is rebuilt, its index and the trigger that names it dropped
-- first and made again as they were (migrations 012 and 017).
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
