-- Recurring schedules as data, and the slot ledger that makes each slot happen at most once.
-- Runs with search_path set to the store's schema, so names are unqualified here.

CREATE TABLE schedules (
  id                       text        PRIMARY KEY,
  task                     text        NOT NULL,
  cron                     text,
  every_ms                 bigint,
  timezone                 text        NOT NULL,
  payload                  json        NOT NULL,
  queue                    text,
  priority                 integer,
  jitter_ms                integer     NOT NULL DEFAULT 0,
  overlap                  text        NOT NULL CHECK (overlap IN ('skip', 'queue', 'allow')),
  catch_up                 text        NOT NULL CHECK (catch_up IN ('skip', 'latest', 'all')),
  catch_up_limit           integer     NOT NULL,
  max_consecutive_failures integer,
  max_drain_runs           integer     NOT NULL,
  source                   text        NOT NULL CHECK (source IN ('config', 'api')),
  paused                   boolean     NOT NULL DEFAULT false,
  next_slot_at             timestamptz,
  last_slot_at             timestamptz,
  last_job_id              uuid,
  last_outcome             text,
  last_started_at          timestamptz,
  last_finished_at         timestamptz,
  last_duration_ms         bigint,
  last_run_lag_ms          bigint,
  consecutive_failures     integer     NOT NULL DEFAULT 0,
  last_error               jsonb,
  suspended_at             timestamptz,
  suspended_reason         text,
  version                  integer     NOT NULL DEFAULT 1,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  CHECK ((cron IS NULL) <> (every_ms IS NULL))
);

-- The due set: a scheduler pass reads the head of this index up to now and stops. Paused and suspended
-- rows are not in it at all.
CREATE INDEX schedules_due_idx ON schedules (next_slot_at) WHERE NOT paused AND suspended_at IS NULL;

-- One row per slot (or drain run, trigger, missed range). The primary key is the exactly-once guarantee:
-- however many schedulers plan the same slot, one insert wins and only the winner's job is written.
CREATE TABLE schedule_slots (
  schedule_id  text        NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  slot_key     text        NOT NULL,
  slot_at      timestamptz NOT NULL,
  kind         text        NOT NULL CHECK (kind IN ('slot', 'catch_up', 'drain', 'trigger')),
  status       text        NOT NULL CHECK (status IN ('enqueued', 'skipped', 'missed', 'waiting')),
  reason       text,
  job_id       uuid,
  slot_count   bigint,
  slot_until   timestamptz,
  drain_seq    integer     NOT NULL DEFAULT 0,
  recorded_at  timestamptz NOT NULL,
  outcome      text,
  duration_ms  bigint,
  run_lag_ms   bigint,
  finished_at  timestamptz,
  PRIMARY KEY (schedule_id, slot_key)
);

-- Runs not yet settled: the settle pass and the overlap check read only these, never the history.
CREATE INDEX schedule_slots_open_idx ON schedule_slots (schedule_id) WHERE status = 'enqueued' AND outcome IS NULL;
-- Slots held behind an active run, released oldest first.
CREATE INDEX schedule_slots_waiting_idx ON schedule_slots (schedule_id, slot_at) WHERE status = 'waiting';
-- A schedule's recent ledger, newest first.
CREATE INDEX schedule_slots_recent_idx ON schedule_slots (schedule_id, slot_at DESC);
-- Retention deletes the oldest rows first.
CREATE INDEX schedule_slots_recorded_idx ON schedule_slots (recorded_at);
