-- Fair claiming by group (docs/TENANCY.md, "Fair claiming"): a job may carry a group (a tenant), and
-- claims take turns between the groups' ready jobs, weighted, so one group's backlog cannot starve
-- another's. Jobs without a group are walked as before and pay nothing for it.
--
-- jobs_ready_group holds the ready grouped jobs by (queue, group), each pair in claim order: the claim
-- walks the pairs one index descent each, landing on each pair's next job (job-groups.ts). jobs_ready
-- and jobs_ready_queue leave grouped jobs out, so a group's backlog never sits in the ungrouped walks.
-- No count is kept anywhere: the claim writes nothing per group, and the reads count on demand.
ALTER TABLE jobs ADD COLUMN group_key TEXT;

-- Weights set by an operator; a group without a row has weight 1.
CREATE TABLE job_groups (
  group_key TEXT    PRIMARY KEY,
  weight    INTEGER NOT NULL
);

-- Where the turns stand, one row per set of queues claimed from ('' for every queue): the pair
-- (queue, group) that had the last turn and how many turns of its current visit it has had.
CREATE TABLE job_group_cursors (
  queue_set TEXT    PRIMARY KEY,
  queue     TEXT    NOT NULL,
  group_key TEXT    NOT NULL,
  used      INTEGER NOT NULL
);

-- Every ready index but the grouped one leaves grouped jobs out (whatever their required labels: a
-- grouped job is claimed by turns, its labels tested in the walk, job-groups.ts). An index carries
-- columns that are the same in every entry (group_key, requires, state) where a walk names them:
-- SQLite counts a walk as covering only when the index holds every column the statement names. It
-- excuses a column its index predicate settles, but only one such term besides `state = 'queued'` (seen
-- with SQLite 3.53: `requires IS NULL AND group_key IS NULL` made the per-queue walks read every row
-- until the index also held `state`).
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id)
  WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL;
DROP INDEX jobs_ready_queue;
CREATE INDEX jobs_ready_queue
  ON jobs (queue, priority DESC, run_at, id, concurrency_key, concurrency_limit, requires, group_key, state)
  WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL;
DROP INDEX jobs_ready_labels;
CREATE INDEX jobs_ready_labels ON jobs (requires, priority DESC, run_at, id, group_key, state)
  WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL;
DROP INDEX jobs_ready_labels_queue;
CREATE INDEX jobs_ready_labels_queue
  ON jobs (queue, requires, priority DESC, run_at, id, concurrency_key, concurrency_limit, group_key, state)
  WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL;
CREATE INDEX jobs_ready_group
  ON jobs (queue, group_key, priority DESC, run_at, id, concurrency_key, concurrency_limit, requires)
  WHERE state = 'queued' AND group_key IS NOT NULL;
