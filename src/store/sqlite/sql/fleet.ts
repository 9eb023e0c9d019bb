/**
 * Workers registered while they run, and paused queues (migrations 008, 013 labels, 020 tasks). None is
 * on the claim path.
 */

/** Inserts or replaces a worker's row; started and heartbeat now. The only write of its tasks. */
export const workerRegister = `
INSERT INTO workers (id, host, pid, queues, concurrency, running, started_at, heartbeat_at, labels, tasks)
VALUES (@id, @host, @pid, @queues, @concurrency, @running, @now, @now, @labels, @tasks)
ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
  concurrency = excluded.concurrency, running = excluded.running, heartbeat_at = excluded.heartbeat_at,
  labels = excluded.labels, tasks = excluded.tasks`;

/** The heartbeat: one row by primary key, two columns (never the tasks or labels). */
export const workerHeartbeat = `UPDATE workers SET heartbeat_at = @now, running = @running WHERE id = @id`;

export const workerDelete = `DELETE FROM workers WHERE id = ?`;

/** Workers heard from since @since, by id. */
export const workerList = `SELECT * FROM workers WHERE heartbeat_at >= @since ORDER BY id`;

/** Forgets workers not heard from since @since; a scan of a table of one row per live worker. */
export const workerSweep = `DELETE FROM workers WHERE heartbeat_at < @since RETURNING id`;

/** Returns a row when the queue was not paused before. */
export const queuePause = `
INSERT INTO paused_queues (queue, paused_at) VALUES (@queue, @now) ON CONFLICT (queue) DO NOTHING
RETURNING queue`;

export const queueResume = `DELETE FROM paused_queues WHERE queue = ?`;

export const queueListPaused = `SELECT queue FROM paused_queues`;

/** The paused queues, by name. */
export const queuePausedList = `${queueListPaused} ORDER BY queue`;
