/**
 * Workers registered while they run, and paused queues (migrations 011, 017 labels, 026 tasks, 029
 * stale bound). None is on the claim path.
 */
import { queueLaterAndRunningList, queueThrottleList } from './observe.js';
import { workerLive } from './worker-liveness.js';

/**
 * $1 id, $2 host, $3 pid, $4 queues (null: all), $5 concurrency, $6 running, $7 labels (null: none),
 * $8 tasks (null: none), $9 stale bound in ms. The only write of its tasks and bound.
 */
export const workerRegister = (s: string): string => `
  INSERT INTO ${s}.workers (id, host, pid, queues, concurrency, running, labels, tasks, stale_ms)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
    concurrency = excluded.concurrency, running = excluded.running, labels = excluded.labels,
    tasks = excluded.tasks, stale_ms = excluded.stale_ms, heartbeat_at = ${s}.nightshift_now()`;

/** The heartbeat: a heap-only update by primary key (no index covers the columns it writes). $1 id, $2 running. */
export const workerHeartbeat = (s: string): string =>
  `UPDATE ${s}.workers SET heartbeat_at = ${s}.nightshift_now(), running = $2 WHERE id = $1`;

/** $1 id. */
export const workerDelete = (s: string): string => `DELETE FROM ${s}.workers WHERE id = $1`;

/** The live workers (workerLive, $1 the reader's stale bound in ms), by id. */
export const workerList = (s: string): string => `
  SELECT * FROM ${s}.workers w WHERE ${workerLive(s, 'w', '$1')} ORDER BY id`;

/** The workers no longer live ($1 the sweeper's stale bound in ms). A scan of a table of one row per worker. */
export const workerSweep = (s: string): string => `
  DELETE FROM ${s}.workers w WHERE NOT (${workerLive(s, 'w', '$1')}) RETURNING id`;

/** $1 queue. Returns a row when the queue was not paused before. */
export const queuePause = (s: string): string =>
  `INSERT INTO ${s}.paused_queues (queue) VALUES ($1) ON CONFLICT (queue) DO NOTHING RETURNING queue`;

/**
 * $1 queue, $2 channel, $3 origin. Wakes the workers of every process at once (a job:ready
 * notification) instead of at their next poll.
 */
export const queueResume = (s: string): string => `
  WITH resumed AS (DELETE FROM ${s}.paused_queues WHERE queue = $1 RETURNING queue)
  SELECT queue, pg_notify($2, json_build_object('o', $3::text, 'q', queue)::text) FROM resumed`;

/** The paused queues. */
export const queueListPaused = (s: string): string => `SELECT queue FROM ${s}.paused_queues`;

/** The paused queues, by name. */
export const queuePausedList = (s: string): string => `${queueListPaused(s)} ORDER BY queue`;

/**
 * The queue list (`queueList`) in one statement, so on one clock and one snapshot: the ready jobs per
 * queue with their oldest ages and throttled counts (queueThrottleList, $1 its stale bound: the one
 * read of the whole backlog, whose ready counts are the queued counts), the scheduled jobs not yet due
 * and the running ones with how long until each queue's next scheduled job comes due
 * (queueLaterAndRunningList), and the paused queues, each as a JSON array. Read as separate
 * statements, each had its own now(): a job coming due between the counts and the next-due read was
 * counted scheduled and given no next due time, so a reader waiting for it to join the queued ones was
 * never told when.
 */
export const queueList = (s: string): string => `
  SELECT
    (SELECT coalesce(json_agg(json_build_object(
              'queue', l.queue, 'state', l.state, 'count', l.count,
              'inMs', extract(epoch FROM l.next_due_at - ${s}.nightshift_now()) * 1000)), '[]')
     FROM (${queueLaterAndRunningList(s)}) l) AS later,
    (SELECT coalesce(json_agg(p.queue), '[]') FROM (${queueListPaused(s)}) p) AS paused,
    (SELECT coalesce(json_agg(r), '[]') FROM (${queueThrottleList(s)}) r) AS ready`;
