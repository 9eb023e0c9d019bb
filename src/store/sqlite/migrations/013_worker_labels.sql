-- Worker labels (docs/TENANCY.md, "Worker labels"): a job may require labels, a worker offers labels
-- and claims only jobs whose every required label it offers.
--
-- jobs.requires: the labels as a JSON array in one canonical form (sorted, no repeats: validation/
-- labels.ts), NULL when the job requires none. workers.labels: a worker's offered labels, the same way.
--
-- The ready indexes split on requires, so that no claim walks past jobs it may not take: jobs_ready and
-- jobs_ready_queue now hold only jobs without requirements (a database that never uses labels keeps
-- the entries it had), and two new partial indexes hold the labelled
-- ones, requirement set first, each set in claim order. A claim finds the sets present by one probe
-- per distinct set (jobs_ready_labels), keeps those the worker offers, and walks only those sets
-- (sql/worker-labels.ts). jobs_ready_labels_queue carries the key columns like jobs_ready_queue, so
-- its per-queue walk stays covering; jobs_ready_queue carries requires (NULL in every entry, one byte)
-- because SQLite reads a column its WHERE names even when the index predicate settles the term, and
-- the per-queue walk would otherwise read each row.
ALTER TABLE jobs ADD COLUMN requires TEXT;
ALTER TABLE workers ADD COLUMN labels TEXT;

DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id) WHERE state = 'queued' AND requires IS NULL;
DROP INDEX jobs_ready_queue;
CREATE INDEX jobs_ready_queue
  ON jobs (queue, priority DESC, run_at, id, concurrency_key, concurrency_limit, requires)
  WHERE state = 'queued' AND requires IS NULL;
CREATE INDEX jobs_ready_labels ON jobs (requires, priority DESC, run_at, id)
  WHERE state = 'queued' AND requires IS NOT NULL;
CREATE INDEX jobs_ready_labels_queue
  ON jobs (queue, requires, priority DESC, run_at, id, concurrency_key, concurrency_limit)
  WHERE state = 'queued' AND requires IS NOT NULL;
