/**
 * Workers registered while they run, and paused queues (migrations 008, 013 labels, 020 tasks, 021
 * stale bound). None is on the claim path.
 */
import { workerLive } from './worker-liveness.js';

/** Inserts or replaces a worker's row; started and heartbeat now. The only write of its tasks and bound. */
export const workerRegister = `
INSERT INTO workers (id, host, pid, queues, concurrency, running, started_at, heartbeat_at, labels, tasks, stale_ms)
VALUES (@id, @host, @pid, @queues, @concurrency, @running, @now, @now, @labels, @tasks, @staleMs)
ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
  concurrency = excluded.concurrency, running = excluded.running, heartbeat_at = excluded.heartbeat_at,
  labels = excluded.labels, tasks = excluded.tasks, stale_ms = excluded.stale_ms`;

/** The heartbeat: one row by primary key, two columns (never the tasks or labels). */
export const workerHeartbeat = `UPDATE workers SET heartbeat_at = @now, running = @running WHERE id = @id`;

export const workerDelete = `DELETE FROM workers WHERE id = ?`;

/** The live workers (workerLive, @staleMs the reader's bound), by id. */
export const workerList = `SELECT * FROM workers WHERE ${workerLive} ORDER BY id`;

/** Forgets the workers no longer live (@staleMs the sweeper's bound); a scan of a table of one row per worker. */
export const workerSweep = `DELETE FROM workers WHERE NOT (${workerLive}) RETURNING id`;

/** Returns a row when the queue was not paused before. */
export const queuePause = `
INSERT INTO paused_queues (queue, paused_at) VALUES (@queue, @now) ON CONFLICT (queue) DO NOTHING
RETURNING queue`;

export const queueResume = `DELETE FROM paused_queues WHERE queue = ?`;

export const queueListPaused = `SELECT queue FROM paused_queues`;

/** The paused queues, by name. */
export const queuePausedList = `${queueListPaused} ORDER BY queue`;
