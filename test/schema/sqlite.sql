-- index api_tokens_hash
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (hash);

-- index concurrency_keys_rated
CREATE INDEX concurrency_keys_rated ON concurrency_keys (key) WHERE rate_limit IS NOT NULL;

-- index job_logs_job
CREATE INDEX job_logs_job ON job_logs (job_id, attempt, at, seq);

-- index job_runs_finished
CREATE INDEX job_runs_finished ON job_runs (finished_at);

-- index job_runs_job
CREATE INDEX job_runs_job ON job_runs (job_id, id);

-- index jobs_created
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);

-- index jobs_dead_created
CREATE INDEX jobs_dead_created ON jobs (created_at DESC, id DESC) WHERE state IN ('failed', 'cancelled');

-- index jobs_finished
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- index jobs_idempotency_key
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- index jobs_lease
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';

-- index jobs_ready
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id)
  WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL;

-- index jobs_ready_group
CREATE INDEX jobs_ready_group
  ON jobs (queue, group_key, priority DESC, run_at, id, concurrency_key, concurrency_limit, requires, state)
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NULL;

-- index jobs_ready_group_labels
CREATE INDEX jobs_ready_group_labels
  ON jobs (requires, queue, group_key, priority DESC, run_at, id, concurrency_key, concurrency_limit, state)
  WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NOT NULL;

-- index jobs_ready_labels
CREATE INDEX jobs_ready_labels ON jobs (requires, priority DESC, run_at, id, group_key, state)
  WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL;

-- index jobs_ready_labels_queue
CREATE INDEX jobs_ready_labels_queue
  ON jobs (queue, requires, priority DESC, run_at, id, concurrency_key, concurrency_limit, group_key, state)
  WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL;

-- index jobs_ready_queue
CREATE INDEX jobs_ready_queue
  ON jobs (queue, priority DESC, run_at, id, concurrency_key, concurrency_limit, requires, group_key, state)
  WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL;

-- index jobs_scheduled
CREATE INDEX jobs_scheduled ON jobs (run_at) WHERE state = 'scheduled';

-- index schedule_slots_open
CREATE INDEX schedule_slots_open ON schedule_slots (schedule_id) WHERE status = 'enqueued' AND outcome IS NULL;

-- index schedule_slots_recent
CREATE INDEX schedule_slots_recent ON schedule_slots (schedule_id, slot_at DESC);

-- index schedule_slots_recorded
CREATE INDEX schedule_slots_recorded ON schedule_slots (recorded_at);

-- index schedule_slots_waiting
CREATE INDEX schedule_slots_waiting ON schedule_slots (schedule_id, slot_at) WHERE status = 'waiting';

-- index schedules_due
CREATE INDEX schedules_due ON schedules (next_slot_at) WHERE paused = 0 AND suspended_at IS NULL;

-- table api_tokens
CREATE TABLE api_tokens (
  id           TEXT    PRIMARY KEY,
  name         TEXT    NOT NULL,
  role         TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  hash         TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER,
  revoked_at   INTEGER
);

-- table concurrency_keys
CREATE TABLE "concurrency_keys" (
  key            TEXT    PRIMARY KEY,
  in_use         INTEGER NOT NULL DEFAULT 0,
  max            INTEGER,
  -- The limit of the jobs the latest claim took (theirs, when max is NULL); NULL before any claim.
  job_limit      INTEGER,
  rate_limit     INTEGER,
  rate_period_ms INTEGER,
  rate_tat       REAL    NOT NULL DEFAULT 0,
  released_at    INTEGER NOT NULL DEFAULT 0
);

-- table events
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
, jobs TEXT);

-- table job_group_cursors
CREATE TABLE job_group_cursors (
  queue_set TEXT    PRIMARY KEY,
  queue     TEXT    NOT NULL,
  group_key TEXT    NOT NULL,
  used      INTEGER NOT NULL
);

-- table job_groups
CREATE TABLE job_groups (
  group_key TEXT    PRIMARY KEY,
  weight    INTEGER NOT NULL
);

-- table job_logs
CREATE TABLE job_logs (
  job_id  TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  level   TEXT    NOT NULL CHECK (level IN ('info', 'warn')),
  message TEXT    NOT NULL,
  data    TEXT
);

-- table job_runs
CREATE TABLE job_runs (
  id                    INTEGER PRIMARY KEY,
  job_id                TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt               INTEGER NOT NULL,
  worker_id             TEXT    NOT NULL,
  started_at            INTEGER NOT NULL,
  finished_at           INTEGER NOT NULL,
  duration_ms           INTEGER NOT NULL,
  run_lag_ms            INTEGER NOT NULL,
  outcome               TEXT    NOT NULL
                        CHECK (outcome IN ('completed', 'failed', 'timeout', 'lease_lapsed', 'released', 'cancelled')),
  error                 TEXT,
  max_duration_exceeded INTEGER NOT NULL DEFAULT 0
);

-- table job_steps
CREATE TABLE job_steps (
  job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  result     TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, name)
) WITHOUT ROWID;

-- table jobs
CREATE TABLE jobs (
  id               TEXT    PRIMARY KEY,
  task             TEXT    NOT NULL,
  queue            TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  state            TEXT    NOT NULL
                   CHECK (state IN ('scheduled', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  priority         INTEGER NOT NULL DEFAULT 0,
  attempt          INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  run_at           INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  lease_token      TEXT,
  lease_expires_at INTEGER,
  worker_id        TEXT,
  result           TEXT,
  error            TEXT,
  idempotency_key  TEXT,
  concurrency_key  TEXT,
  lease_ms         INTEGER,
  timeout_ms       INTEGER,
  checkpoint       TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  schedule_id      TEXT,
  schedule_slot    INTEGER,
  parent_id        TEXT
, trace_context TEXT, concurrency_limit INTEGER, queue_slot INTEGER NOT NULL DEFAULT 0, requires TEXT, group_key TEXT);

-- table nightshift_schema
CREATE TABLE nightshift_schema (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
);

-- table paused_queues
CREATE TABLE paused_queues (
  queue     TEXT    PRIMARY KEY,
  paused_at INTEGER NOT NULL
);

-- table queue_limits
CREATE TABLE queue_limits (
  queue  TEXT    PRIMARY KEY,
  max    INTEGER,
  in_use INTEGER NOT NULL DEFAULT 0
, rate_limit INTEGER, rate_period_ms INTEGER, rate_tat REAL NOT NULL DEFAULT 0);

-- table schedule_slots
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

-- table schedules
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

-- table workers
CREATE TABLE workers (
  id           TEXT    PRIMARY KEY,
  host         TEXT    NOT NULL,
  pid          INTEGER NOT NULL,
  queues       TEXT,
  concurrency  INTEGER NOT NULL,
  running      INTEGER NOT NULL DEFAULT 0,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
, labels TEXT, tasks TEXT, stale_ms INTEGER NOT NULL DEFAULT 30000);

-- trigger concurrency_slot_release
CREATE TRIGGER concurrency_slot_release AFTER UPDATE OF state ON jobs
WHEN old.state = 'running' AND new.state <> 'running' AND old.concurrency_key IS NOT NULL
BEGIN
  UPDATE concurrency_keys
  SET in_use = in_use - 1, released_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE key = old.concurrency_key;
END;

-- trigger events_job_transition
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

-- trigger queue_slot_release
CREATE TRIGGER queue_slot_release AFTER UPDATE OF state ON jobs
WHEN old.state = 'running' AND new.state <> 'running' AND old.queue_slot <> 0
BEGIN
  UPDATE queue_limits SET in_use = in_use - 1 WHERE queue = old.queue;
END;

-- view job_run_history
CREATE VIEW job_run_history AS
  SELECT id, job_id, attempt, worker_id, started_at, finished_at, duration_ms, run_lag_ms, outcome, error,
         max_duration_exceeded
  FROM job_runs
  UNION ALL
  SELECT NULL, j.id, j.attempt, coalesce(j.worker_id, ''), coalesce(j.started_at, j.finished_at),
         j.finished_at, max(0, j.finished_at - coalesce(j.started_at, j.finished_at)),
         max(0, coalesce(j.started_at, j.finished_at) - j.run_at), 'completed', NULL, 0
  FROM jobs j
  WHERE j.state = 'completed'
    AND NOT EXISTS (SELECT 1 FROM job_runs r
                    WHERE r.job_id = j.id AND r.attempt = j.attempt AND r.outcome = 'completed');
