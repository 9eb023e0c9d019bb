-- Fair claiming: jobs of a group (a tenant) are claimed in turns with the other groups' jobs, by weight
-- (docs/TENANCY.md), so one group's backlog cannot starve the others.
--
-- job_groups holds one row per group ever enqueued or weighted: its weight (default 1), how many of
-- its jobs are queued now, and its virtual time. A claim picks groups in virtual-time order among those
-- with queued jobs (job_groups_ready), takes the next job of the group with the least virtual time and
-- advances that time by 1 / weight, and so on (job-claim.ts): groups with equal weights take turns, a
-- group of weight 2 gets two turns to another's one. Then it reads those groups' jobs from
-- jobs_ready_group, each in claim order (priority, due time, id). It never walks one group's backlog
-- to reach another's jobs.
--
-- queued is kept by the triggers below in the statement that moves a job into or out of 'queued'
-- (SQLite's single writer makes it exact). A group that becomes ready again starts at the least
-- virtual time of the ready groups, not at its old one: an idle group gets no credit for the time it
-- had nothing queued, and a new group does not jump ahead of a busy one by its turns.
--
-- Jobs without a group are walked by jobs_ready and jobs_ready_queue as before; both leave grouped
-- jobs out, so a group's backlog never sits in their walk.
ALTER TABLE jobs ADD COLUMN group_key TEXT;

CREATE TABLE job_groups (
  group_key TEXT    PRIMARY KEY,
  weight    INTEGER NOT NULL DEFAULT 1,
  queued    INTEGER NOT NULL DEFAULT 0,
  vtime     REAL    NOT NULL DEFAULT 0
);

CREATE INDEX job_groups_ready ON job_groups (vtime) WHERE queued > 0;

DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id) WHERE state = 'queued' AND group_key IS NULL;
DROP INDEX jobs_ready_queue;
-- group_key is always NULL in it, but SQLite counts a walk as covering only when the index holds every
-- column the statement names.
CREATE INDEX jobs_ready_queue
  ON jobs (queue, priority DESC, run_at, id, concurrency_key, concurrency_limit, group_key)
  WHERE state = 'queued' AND group_key IS NULL;
CREATE INDEX jobs_ready_group ON jobs (group_key, priority DESC, run_at, id)
  WHERE state = 'queued' AND group_key IS NOT NULL;

CREATE TRIGGER job_group_queued_insert AFTER INSERT ON jobs
WHEN new.group_key IS NOT NULL AND new.state = 'queued'
BEGIN
  INSERT INTO job_groups (group_key, queued, vtime)
  VALUES (new.group_key, 1, coalesce((SELECT min(vtime) FROM job_groups WHERE queued > 0), 0))
  ON CONFLICT (group_key) DO UPDATE SET
    vtime = CASE WHEN queued > 0 THEN vtime ELSE max(vtime, excluded.vtime) END,
    queued = queued + 1;
END;

CREATE TRIGGER job_group_queued_update AFTER UPDATE OF state ON jobs
WHEN new.group_key IS NOT NULL AND (old.state = 'queued') <> (new.state = 'queued')
BEGIN
  INSERT INTO job_groups (group_key, queued, vtime)
  VALUES (new.group_key, 1, coalesce((SELECT min(vtime) FROM job_groups WHERE queued > 0), 0))
  ON CONFLICT (group_key) DO UPDATE SET
    vtime = CASE WHEN queued > 0 OR new.state <> 'queued' THEN vtime ELSE max(vtime, excluded.vtime) END,
    queued = queued + CASE WHEN new.state = 'queued' THEN 1 ELSE -1 END;
END;

CREATE TRIGGER job_group_queued_delete AFTER DELETE ON jobs
WHEN old.group_key IS NOT NULL AND old.state = 'queued'
BEGIN
  UPDATE job_groups SET queued = queued - 1 WHERE group_key = old.group_key;
END;
