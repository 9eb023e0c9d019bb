-- The hot writers of the event log write one row per statement and event type, its jobs in `jobs`
-- (event-log.ts `appendJobEvents`), as the PostgreSQL log does: the enqueue's `job:enqueued`, the
-- claim's `job:started` and the finish's `job:completed`. One row per job (the transition trigger's,
-- and the enqueue's since migration 016) cost ~10% of a drain through the store and ~18% of a bulk
-- enqueue (docs/PERFORMANCE.md, "Job events per statement on SQLite").
--
-- `jobs` is a JSON array with one element per event, in the order written: the job's id alone when
-- every element shares the row's task, queue, attempt, state and schedule_id; otherwise
-- [id, task, queue, attempt, state, schedule_id] each. The reader (sql/events.ts `eventRead`)
-- expands a row into its elements; a cursor names a row and an element. Rows without `jobs` are one
-- event each, as before (every other transition, still written by the trigger, and appended events).
ALTER TABLE events ADD COLUMN jobs TEXT;

-- The claim is the one writer that starts an attempt, and the completion (batched or not) the one
-- that completes it: both write their own rows, and the trigger keeps every other transition.
DROP TRIGGER events_job_transition;
CREATE TRIGGER events_job_transition AFTER UPDATE OF state ON jobs
WHEN NEW.state <> OLD.state AND NEW.state <> 'running' AND NEW.state <> 'completed'
BEGIN
  INSERT INTO events (at, type, job_id, task, queue, attempt, state, error, schedule_id)
  SELECT NEW.updated_at, t.type, NEW.id, NEW.task, NEW.queue, NEW.attempt, NEW.state,
         CASE WHEN OLD.state = 'running' THEN NEW.error END, NEW.schedule_id
  FROM (SELECT CASE
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
