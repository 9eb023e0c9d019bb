-- concurrency_keys.job_limit may be NULL: a row an operator's limit or rate made before any claim took
-- a job of the key has no claimed limit yet. Such rows were given 1 (a rate's) or the limit of a queued
-- job found by reading job_queue sequentially (an operator's limit), so the key list showed 1 for a
-- key whose jobs carried another limit, or whose jobs were all delayed or waiting to retry.
ALTER TABLE concurrency_keys ALTER COLUMN job_limit DROP NOT NULL;
