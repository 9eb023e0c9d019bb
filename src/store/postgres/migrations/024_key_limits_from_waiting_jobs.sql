-- A key's limit as the key list shows it (sql/concurrency-limits.ts `concurrencyKeyList`) comes from
-- what the claim goes by: the operator's limit, else the key's waiting jobs' own limit, else that of
-- the jobs the latest claim took. Two changes make that readable:
--
-- - job_queue_key_idx: the waiting (queued or scheduled) keyed jobs by key and limit, so the list
--   finds a key's largest waiting limit by one descent. The former lookup, run when an operator's
--   limit made a key's row, read job_queue sequentially (40,000 rows for a key with none, on a table
--   never analyzed) and only queued jobs, so a key whose jobs were all delayed or retrying showed 1.
--   Jobs without a key have no entry; a keyed job costs one entry at its enqueue. Its columns are
--   never updated, and job_queue's updates change `state`, which other indexes' predicates read.
-- - concurrency_keys.job_limit may be NULL: a row an operator's limit or rate made before any claim
--   took a job of the key, which no claim has given a limit yet (it was 1, whatever the jobs' limit).
CREATE INDEX job_queue_key_idx ON job_queue (concurrency_key, concurrency_limit)
  WHERE concurrency_key IS NOT NULL;

ALTER TABLE concurrency_keys ALTER COLUMN job_limit DROP NOT NULL;
