/**
 * Concurrency limits in the claim (migration 010): at most N running jobs per key and per queue. The
 * claim runs in the one write transaction SQLite allows at a time, so reading a count and adding to it
 * cannot race another claim; the slot goes back in the trigger of the statement that ends the attempt.
 */
import { DB_NOW_MS, rateFree, rateTaken } from './rate-limits.js';

/**
 * The condition on a `jobs` row that its key, if any, has a free slot: the ready walks skip a full
 * key's rows with one primary-key probe each. Its rows that sort ahead of the first claimable job are
 * still walked past at every claim.
 */
export const jobClaimKeyOpen = `(concurrency_key IS NULL OR NOT EXISTS (
  SELECT 1 FROM concurrency_keys k
  WHERE k.key = jobs.concurrency_key
    AND (k.in_use >= coalesce(k.max, jobs.concurrency_limit) OR ${rateFree('k')} < 1)))`;

/**
 * Queues at their limit or out of starts for now (@now, sql/rate-limits.ts): a handful of rows, read
 * once per claim statement.
 */
export const jobClaimFullQueues = `SELECT queue FROM queue_limits WHERE in_use >= max OR ${rateFree('queue_limits')} < 1`;

/**
 * The keys among @keys (a JSON array of texts) that have a row: each one's running count, operator limit
 * and starts its rate allows at @now. One statement per claim for all its candidates' keys: a statement
 * per key cost ~5 µs a job in a drain of keyed jobs (one key per job of a batch), most of it the call.
 */
export const jobClaimKeysGet = `
SELECT key, in_use, max, ${rateFree('concurrency_keys')} AS rate_free FROM concurrency_keys
WHERE key IN (SELECT value FROM json_each(@keys))`;

/**
 * Takes the slots of every key in @takes (a JSON array of [key, n, jobLimit]): n slots for jobs whose
 * smallest own limit is jobLimit (what the key list shows), and, for a key with a rate, n starts at
 * @now. The caller checked that they are free. A key with a rate always has its row already
 * (concurrencyKeySetRate makes it), so a new row needs no rate.
 * (`WHERE true`: an upsert's SELECT needs a WHERE, or SQLite parses ON CONFLICT as a join's ON.)
 */
export const jobClaimKeysTake = `
INSERT INTO concurrency_keys (key, in_use, job_limit)
SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(@takes) WHERE true
ON CONFLICT (key) DO UPDATE SET in_use = in_use + excluded.in_use, job_limit = excluded.job_limit,
  rate_tat = CASE WHEN rate_limit IS NULL THEN rate_tat ELSE ${rateTaken('excluded.in_use')} END`;

/** Every queue with a limit or a rate now, with the starts its rate allows at @now (NULL: no rate). */
export const jobClaimQueueLimits = `
SELECT queue, max, in_use, ${rateFree('queue_limits')} AS rate_free FROM queue_limits
WHERE max IS NOT NULL OR rate_limit IS NOT NULL`;

/** Takes `@n` slots of a limited queue; the caller checked that they are free. */
export const jobClaimQueueTake = `UPDATE queue_limits SET in_use = in_use + @n WHERE queue = @queue`;

/** Keys after @after in key order; @running 1 keeps only keys with running jobs. */
export const concurrencyKeyList = `
SELECT key, in_use, coalesce(max, job_limit) AS limit_now, max, rate_limit, rate_period_ms
FROM concurrency_keys
WHERE key > @after AND (@running = 0 OR in_use > 0)
ORDER BY key LIMIT @limit`;

/**
 * Sets or clears a key's operator limit; a key never claimed gets its row now, without a job_limit:
 * no claim has taken a job of it, and the jobs are not read (the list shows the key's limit as NULL
 * until a claim takes one of its jobs, which writes theirs). Clearing the limit of a key without a row
 * writes none, so a mistyped key is not listed (as `queueSetLimit`).
 */
export const concurrencyKeySetLimit = `
INSERT INTO concurrency_keys (key, in_use, max)
SELECT @key, 0, @max WHERE @max IS NOT NULL OR EXISTS (SELECT 1 FROM concurrency_keys WHERE key = @key)
ON CONFLICT (key) DO UPDATE SET max = excluded.max, released_at = ${DB_NOW_MS}`;

/**
 * Deletes up to @limit rows of keys idle for more than @olderThanMs: no running job, no operator limit
 * or rate.
 * Exact: it runs in a write transaction, which no claim can interleave with. Caveat: the scan is
 * sequential (an index on in_use would be rewritten at every slot change).
 */
export const concurrencyKeyPrune = `
DELETE FROM concurrency_keys WHERE key IN (
  SELECT key FROM concurrency_keys
  WHERE in_use = 0 AND max IS NULL AND rate_limit IS NULL AND released_at < ${DB_NOW_MS} - @olderThanMs
  LIMIT @limit)`;

/** Queues ever given a limit or a rate, by name. */
export const queueLimitList = `
SELECT queue, max, in_use, rate_limit, rate_period_ms FROM queue_limits ORDER BY queue`;

/**
 * Sets (@max a number) or clears (null) a queue's limit; the row and its count stay. Clearing the
 * limit of a queue without a row writes none, so a mistyped name is not listed from then on.
 */
export const queueSetLimit = `
INSERT INTO queue_limits (queue, max)
SELECT @queue, @max WHERE @max IS NOT NULL OR EXISTS (SELECT 1 FROM queue_limits WHERE queue = @queue)
ON CONFLICT (queue) DO UPDATE SET max = excluded.max`;
