-- The fleet's worker rows (docs/FLEET.md) are unlogged: a worker's heartbeat, one UPDATE every 5 s,
-- then writes no WAL, and its commit waits for no flush. That flush was most of what an idle worker
-- cost the server (docs/BENCHMARKS.md, "Idle"). The rows only say which workers run now: PostgreSQL
-- empties an unlogged table after a crash, and a promoted standby has none; each worker inserts its
-- row again at its next heartbeat (src/worker/registration.ts), so `ns.workers()` is whole again
-- within `heartbeatIntervalMs`. Paused queues stay logged: they are settings.
ALTER TABLE workers SET UNLOGGED;
