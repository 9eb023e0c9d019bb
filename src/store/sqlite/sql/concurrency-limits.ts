/**
 * Concurrency limits in the claim (migration 010): at most N running jobs per key and per queue. The
 * claim runs in the one write transaction SQLite allows at a time, so reading a count and adding to it
 * cannot race another claim; the slot goes back in the trigger of the statement that ends the attempt.
 */

/**
 * The condition on a `jobs` row that its key, if any, has a free slot: the ready walks skip a full
 * key's rows with one primary-key probe each. Its rows that sort ahead of the first claimable job are
 * still walked past at every claim.
 */
export const KEY_OPEN = `(concurrency_key IS NULL OR NOT EXISTS (
  SELECT 1 FROM concurrency_keys k
  WHERE k.key = jobs.concurrency_key AND k.in_use >= coalesce(k.max, jobs.concurrency_limit)))`;

/** Queues at their limit: a handful of rows, read once per claim statement. */
export const FULL_QUEUES = `SELECT queue FROM queue_limits WHERE in_use >= max`;

/** A key's running count and operator limit, if the key was ever claimed. */
export const KEY_GET = `SELECT in_use, max FROM concurrency_keys WHERE key = ?`;

/** Takes `@n` slots of a key for jobs of limit `@jobLimit`; the caller checked that they are free. */
export const KEY_TAKE = `
INSERT INTO concurrency_keys (key, in_use, job_limit) VALUES (@key, @n, @jobLimit)
ON CONFLICT (key) DO UPDATE SET in_use = in_use + excluded.in_use, job_limit = excluded.job_limit`;

/** Every queue with a limit now. */
export const QUEUE_LIMITS_GET = `SELECT queue, max, in_use FROM queue_limits WHERE max IS NOT NULL`;

/** Takes `@n` slots of a queue; the caller checked that they are free. */
export const QUEUE_TAKE = `UPDATE queue_limits SET in_use = in_use + @n WHERE queue = @queue`;

/** The database's clock in ms since the epoch, as the give-back trigger writes it (migration 011). */
const DB_NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

/** Keys after @after in key order; @running 1 keeps only keys with running jobs. */
export const KEY_LIST = `
SELECT key, in_use, coalesce(max, job_limit) AS limit_now, max FROM concurrency_keys
WHERE key > @after AND (@running = 0 OR in_use > 0)
ORDER BY key LIMIT @limit`;

/** Sets or clears a key's operator limit; a key never claimed gets its row now. */
export const KEY_SET_LIMIT = `
INSERT INTO concurrency_keys (key, in_use, max, job_limit) VALUES (@key, 0, @max, coalesce(@max, 1))
ON CONFLICT (key) DO UPDATE SET max = excluded.max, released_at = ${DB_NOW_MS}`;

/**
 * Deletes up to @limit rows of keys idle for more than @olderThanMs: no running job, no operator limit.
 * Exact: it runs in a write transaction, which no claim can interleave with. Caveat: the scan is
 * sequential (an index on in_use would be rewritten at every slot change).
 */
export const KEY_PRUNE = `
DELETE FROM concurrency_keys WHERE key IN (
  SELECT key FROM concurrency_keys
  WHERE in_use = 0 AND max IS NULL AND released_at < ${DB_NOW_MS} - @olderThanMs
  LIMIT @limit)`;

/** Queues ever given a limit, by name. */
export const QUEUE_LIMIT_LIST = `SELECT queue, max, in_use FROM queue_limits ORDER BY queue`;

/** Sets (@max a number) or clears (null) a queue's limit; the row and its count stay. */
export const QUEUE_SET_LIMIT = `
INSERT INTO queue_limits (queue, max) VALUES (@queue, @max)
ON CONFLICT (queue) DO UPDATE SET max = excluded.max`;
