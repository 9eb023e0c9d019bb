-- A grouped job may require worker labels (docs/TENANCY.md, "Fair claiming by group"): it is claimed
-- in its group's turns, only by a worker offering every label it requires.
--
-- jobs_ready_group now holds only the grouped jobs without requirements, so the walk of a worker
-- without labels reads exactly the entries it read before (a database without labelled grouped jobs
-- has the same ones) and never passes over jobs it may not take. The labelled grouped jobs sit in
-- jobs_ready_group_labels, requirement set first, then (queue, group) and each pair in claim order: a
-- labelled worker finds the sets present one probe per distinct set, keeps those it meets, and walks
-- the pairs of each of them beside the unlabelled ones, one descent per set and step (job-groups.ts).
-- Both carry `state` because their predicates settle two terms besides `state = 'queued'` (see
-- migration 014: SQLite then counts a walk as covering only when the index holds every column named).
DROP INDEX jobs_ready_group;
CREATE INDEX jobs_ready_group
  ON jobs (queue, group_key, priority DESC, run_at, id, concurrency_key, concurrency_limit, requires, state)
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NULL;
CREATE INDEX jobs_ready_group_labels
  ON jobs (requires, queue, group_key, priority DESC, run_at, id, concurrency_key, concurrency_limit, state)
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NOT NULL;
