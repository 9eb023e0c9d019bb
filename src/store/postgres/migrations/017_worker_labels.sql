-- Worker labels (docs/TENANCY.md, "Worker labels"): a job may require labels, a worker offers labels
-- and claims only jobs whose every required label it offers.
--
-- jobs.requires and job_queue.requires: the labels in one canonical form (sorted, no repeats:
-- validation/labels.ts), NULL when the job requires none; job_queue carries them like the concurrency
-- key, so the claim tests them on the rows it walks. workers.labels: a worker's offered labels.
--
-- The ready indexes split on requires, so that no claim walks past jobs it may not take:
-- job_queue_ready_idx and job_queue_ready_queue_idx now hold only jobs without requirements (a
-- database that never uses labels keeps the indexes it had, with the same entries, and the claims of
-- workers without labels keep their plans), and two new partial indexes hold the labelled ones,
-- requirement set first, each set in claim order. A labelled claim finds the sets present by one
-- probe per distinct set (job_queue_ready_labels_idx), keeps those the worker offers, and walks only
-- those sets (sql/worker-labels.ts). Adding the columns rewrites nothing (NULL, no default).
ALTER TABLE jobs ADD COLUMN requires text[];
ALTER TABLE job_queue ADD COLUMN requires text[];
ALTER TABLE workers ADD COLUMN labels text[];

DROP INDEX job_queue_ready_idx;
CREATE INDEX job_queue_ready_idx ON job_queue (priority DESC, run_at, id)
  WHERE state = 'queued' AND requires IS NULL;
DROP INDEX job_queue_ready_queue_idx;
CREATE INDEX job_queue_ready_queue_idx ON job_queue (queue, (-(priority::bigint)), run_at, id)
  WHERE state = 'queued' AND requires IS NULL;
CREATE INDEX job_queue_ready_labels_idx ON job_queue (requires, priority DESC, run_at, id)
  WHERE state = 'queued' AND requires IS NOT NULL;
CREATE INDEX job_queue_ready_labels_queue_idx ON job_queue (queue, requires, (-(priority::bigint)), run_at, id)
  WHERE state = 'queued' AND requires IS NOT NULL;
