-- Fair claiming by group (docs/TENANCY.md, "Fair claiming"): a job may carry a group (a tenant), and
-- claims take turns between the groups' ready jobs, weighted, so one group's backlog cannot starve
-- another's. Jobs without a group are walked as before and pay nothing for it.
--
-- job_queue carries the group; job_queue_ready_group_idx holds the ready grouped rows by (queue,
-- group), each pair in claim order: the claim walks the pairs one index descent each, landing on each
-- pair's next job (sql/job-groups.ts). The two ready indexes leave grouped rows out, so a group's
-- backlog never sits in the ungrouped scans. No count is kept anywhere: the claim writes one cursor
-- row and nothing per group, and the reads count on demand.
--
-- Groups and the walk's queue order compare bytewise (COLLATE "C"): each step of the walk descends
-- the index comparing text, and with the database's collation each comparison went through strcoll
-- (~60k instructions a step, bench:sql; a third of that in "C"). It is also SQLite's order, so both
-- stores take turns and list groups in the same order.
ALTER TABLE jobs ADD COLUMN group_key text COLLATE "C";
ALTER TABLE job_queue ADD COLUMN group_key text COLLATE "C";

-- Weights set by an operator; a group without a row has weight 1.
CREATE TABLE job_groups (
  group_key text COLLATE "C" PRIMARY KEY,
  weight    integer          NOT NULL
);

-- Where the turns stand, one row per set of queues claimed from ('' for every queue): the pair
-- (queue, group) that had the last turn and how many turns of its current visit it has had.
CREATE TABLE job_group_cursors (
  queue_set text             PRIMARY KEY,
  queue     text COLLATE "C" NOT NULL,
  group_key text COLLATE "C" NOT NULL,
  used      integer          NOT NULL
);

-- Every ready index but the grouped one leaves grouped rows out (whatever their required labels: a
-- grouped job is claimed by turns, its labels tested in the walk, sql/job-groups.ts).
DROP INDEX job_queue_ready_idx;
CREATE INDEX job_queue_ready_idx ON job_queue (priority DESC, run_at, id)
  WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL;
DROP INDEX job_queue_ready_queue_idx;
CREATE INDEX job_queue_ready_queue_idx ON job_queue (queue, (-(priority::bigint)), run_at, id)
  WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL;
DROP INDEX job_queue_ready_labels_idx;
CREATE INDEX job_queue_ready_labels_idx ON job_queue (requires, priority DESC, run_at, id)
  WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL;
DROP INDEX job_queue_ready_labels_queue_idx;
CREATE INDEX job_queue_ready_labels_queue_idx ON job_queue (queue, requires, (-(priority::bigint)), run_at, id)
  WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL;
CREATE INDEX job_queue_ready_group_idx ON job_queue ((queue COLLATE "C"), group_key, priority DESC, run_at, id)
  WHERE state = 'queued' AND group_key IS NOT NULL;
