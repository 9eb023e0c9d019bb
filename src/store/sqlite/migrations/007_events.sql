-- The cluster event log: one row per job transition (and schedule or queue event) other processes may
-- want to hear about. SQLite has one writer at a time, so the AUTOINCREMENT id is commit order and a
-- reader's cursor is just the last id it read. Bounded: the pruner deletes rows past its event retention.
--
-- Job transitions are recorded by triggers, so every writer of `jobs` (claim, finish, rescue, cancel,
-- retry, bulk actions, a caller's transactional enqueue) records them in its own statement and
-- transaction, and a rolled-back transition leaves no event. The event type follows from the old and
-- new row exactly as sql/job-events.ts derives it on PostgreSQL.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  job_id      TEXT,
  task        TEXT,
  queue       TEXT,
  attempt     INTEGER,
  state       TEXT,
  error       TEXT,
  schedule_id TEXT,
  data        TEXT
);

CREATE TRIGGER events_job_enqueued AFTER INSERT ON jobs
BEGIN
  INSERT INTO events (at, type, job_id, task, queue, attempt, state, schedule_id)
  VALUES (NEW.created_at, 'job:enqueued', NEW.id, NEW.task, NEW.queue, NEW.attempt, NEW.state, NEW.schedule_id);
END;

CREATE TRIGGER events_job_transition AFTER UPDATE OF state ON jobs WHEN NEW.state <> OLD.state
BEGIN
  INSERT INTO events (at, type, job_id, task, queue, attempt, state, error, schedule_id)
  SELECT NEW.updated_at, t.type, NEW.id, NEW.task, NEW.queue, NEW.attempt, NEW.state,
         CASE WHEN OLD.state = 'running' AND NEW.state <> 'completed' THEN NEW.error END, NEW.schedule_id
  FROM (SELECT CASE
          WHEN NEW.state = 'running' THEN 'job:started'
          WHEN NEW.state = 'completed' THEN 'job:completed'
          WHEN NEW.state = 'failed' THEN 'job:failed'
          WHEN NEW.state = 'cancelled' THEN 'job:cancelled'
          -- A due delayed job entering the ready set is no transition anyone watches.
          WHEN OLD.state = 'scheduled' THEN NULL
          -- A graceful release gives its attempt back: the job did not fail, its worker stopped.
          WHEN OLD.state = 'running' AND NEW.attempt < OLD.attempt THEN NULL
          -- A failed attempt with attempts left, a rescued lapsed lease, a manual retry.
          ELSE 'job:retrying'
        END AS type) t
  WHERE t.type IS NOT NULL;
END;
