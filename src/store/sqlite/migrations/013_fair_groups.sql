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

DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id) WHERE state = 'queued' AND group_key IS NULL;
DROP INDEX jobs_ready_queue;
-- group_key is NULL in every entry, but SQLite counts a walk as covering only when the index holds
-- every column the statement names, and the walk names it to match the predicate.
CREATE INDEX jobs_ready_queue
  ON jobs (queue, priority DESC, run_at, id, concurrency_key, concurrency_limit, group_key)
  WHERE state = 'queued' AND group_key IS NULL;
CREATE INDEX jobs_ready_group
  ON jobs (queue, group_key, priority DESC, run_at, id, concurrency_key, concurrency_limit)
  WHERE state = 'queued' AND group_key IS NOT NULL;
