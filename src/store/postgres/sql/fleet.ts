/**
 * Workers registered while they run, and paused queues (migrations 011, 017 labels, 026 tasks). None is
 * on the claim path.
 */
import { queueLaterAndRunningList, queueThrottleList } from './observe.js';

/**
 * $1 id, $2 host, $3 pid, $4 queues (null: all), $5 concurrency, $6 running, $7 labels (null: none),
 * $8 tasks (null: none). The only write of its tasks.
 */
export const workerRegister = (s: string): string => `
  INSERT INTO ${s}.workers (id, host, pid, queues, concurrency, running, labels, tasks)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
    concurrency = excluded.concurrency, running = excluded.running, labels = excluded.labels,
    tasks = excluded.tasks, heartbeat_at = ${s}.nightshift_now()`;

/** The heartbeat: a heap-only update by primary key (no index covers the columns it writes). $1 id, $2 running. */
export const workerHeartbeat = (s: string): string =>
  `UPDATE ${s}.workers SET heartbeat_at = ${s}.nightshift_now(), running = $2 WHERE id = $1`;

/** $1 id. */
export const workerDelete = (s: string): string => `DELETE FROM ${s}.workers WHERE id = $1`;

/** $1 stale bound in ms. */
export const workerList = (s: string): string => `
  SELECT * FROM ${s}.workers WHERE heartbeat_at >= ${s}.nightshift_now() - $1 * interval '1 millisecond'
  ORDER BY id`;

/** $1 stale bound in ms. A scan of a table of one row per live worker. */
export const workerSweep = (s: string): string => `
  DELETE FROM ${s}.workers WHERE heartbeat_at < ${s}.nightshift_now() - $1 * interval '1 millisecond'
  RETURNING id`;

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
