-- The fleet: workers registered while they run, and queues paused cluster-wide.
-- Times are INTEGER ms since the epoch on the store's clock.
--
-- workers: one row per running worker, inserted when it starts, deleted when it stops, its heartbeat
-- (and running count) updated every few seconds by primary key; queues is a JSON array, NULL for all.
CREATE TABLE workers (
  id           TEXT    PRIMARY KEY,
  host         TEXT    NOT NULL,
  pid          INTEGER NOT NULL,
  queues       TEXT,
  concurrency  INTEGER NOT NULL,
  running      INTEGER NOT NULL DEFAULT 0,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

-- A queue listed here is not claimed from. Every claim reads this table (a handful of rows at most).
CREATE TABLE paused_queues (
  queue     TEXT    PRIMARY KEY,
  paused_at INTEGER NOT NULL
);
