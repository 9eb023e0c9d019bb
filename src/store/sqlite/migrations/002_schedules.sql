-- Recurring schedules as data, and the slot ledger that makes each slot happen at most once.
-- Times are INTEGER ms since the epoch on the store's clock; JSON values are TEXT.

CREATE TABLE schedules (
  id                       TEXT    PRIMARY KEY,
  task                     TEXT    NOT NULL,
  cron                     TEXT,
  every_ms                 INTEGER,
  timezone                 TEXT    NOT NULL,
  payload                  TEXT    NOT NULL,
  queue                    TEXT,
  priority                 INTEGER,
  jitter_ms                INTEGER NOT NULL DEFAULT 0,
  overlap                  TEXT    NOT NULL CHECK (overlap IN ('skip', 'queue', 'allow')),
  catch_up                 TEXT    NOT NULL CHECK (catch_up IN ('skip', 'latest', 'all')),
  catch_up_limit           INTEGER NOT NULL,
  max_consecutive_failures INTEGER,
  max_drain_runs           INTEGER NOT NULL,
  source                   TEXT    NOT NULL CHECK (source IN ('config', 'api')),
  paused                   INTEGER NOT NULL DEFAULT 0,
  next_slot_at             INTEGER,
  last_slot_at             INTEGER,
  last_job_id              TEXT,
  last_outcome             TEXT,
  last_started_at          INTEGER,
  last_finished_at         INTEGER,
  last_duration_ms         INTEGER,
  last_run_lag_ms          INTEGER,
  consecutive_failures     INTEGER NOT NULL DEFAULT 0,
  last_error               TEXT,
  suspended_at             INTEGER,
  suspended_reason         TEXT,
  version                  INTEGER NOT NULL DEFAULT 1,
  created_at               INTEGER NOT NULL,
  updated_at               INTEGER NOT NULL,
  CHECK ((cron IS NULL) <> (every_ms IS NULL))
);

-- The due set: a scheduler pass reads the head of this index up to now and stops, so 10,000 idle
-- schedules cost nothing between their slots. Paused and suspended rows are not in it at all.
CREATE INDEX schedules_due ON schedules (next_slot_at) WHERE paused = 0 AND suspended_at IS NULL;

-- One row per slot (or drain run, trigger, missed range). The primary key is the exactly-once guarantee:
-- however many schedulers plan the same slot, one insert wins and only the winner's job is written.
CREATE TABLE schedule_slots (
  schedule_id  TEXT    NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  slot_key     TEXT    NOT NULL,
  slot_at      INTEGER NOT NULL,
  kind         TEXT    NOT NULL CHECK (kind IN ('slot', 'catch_up', 'drain', 'trigger')),
  status       TEXT    NOT NULL CHECK (status IN ('enqueued', 'skipped', 'missed', 'waiting')),
  reason       TEXT,
  job_id       TEXT,
  slot_count   INTEGER,
  slot_until   INTEGER,
  drain_seq    INTEGER NOT NULL DEFAULT 0,
  recorded_at  INTEGER NOT NULL,
  outcome      TEXT,
  duration_ms  INTEGER,
  run_lag_ms   INTEGER,
  finished_at  INTEGER,
  PRIMARY KEY (schedule_id, slot_key)
) WITHOUT ROWID;

-- Runs not yet settled: the settle pass and the overlap check read only these, never the history.
CREATE INDEX schedule_slots_open ON schedule_slots (schedule_id) WHERE status = 'enqueued' AND outcome IS NULL;
-- Slots held behind an active run, released oldest first.
CREATE INDEX schedule_slots_waiting ON schedule_slots (schedule_id, slot_at) WHERE status = 'waiting';
-- A schedule's recent ledger, newest first.
CREATE INDEX schedule_slots_recent ON schedule_slots (schedule_id, slot_at DESC);
-- Retention deletes the oldest rows first.
CREATE INDEX schedule_slots_recorded ON schedule_slots (recorded_at);
