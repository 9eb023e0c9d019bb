-- The fleet: workers registered while they run, and queues paused cluster-wide.
--
-- workers: one row per running worker, inserted when it starts, deleted when it stops, its heartbeat
-- (and running count) updated every few seconds by primary key. No index besides the key, so each
-- heartbeat is a heap-only update of a row in a table of a few dozen rows; the sweep that forgets
-- workers whose heartbeat stopped (kill -9) reads the whole small table.
CREATE TABLE workers (
  id           text        PRIMARY KEY,
  host         text        NOT NULL,
  pid          integer     NOT NULL,
  queues       text[],
  concurrency  integer     NOT NULL,
  running      integer     NOT NULL DEFAULT 0,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- A queue listed here is not claimed from. Every claim reads this table (a handful of rows at most).
CREATE TABLE paused_queues (
  queue     text        PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT now()
);
