/**
 * Rate limits per queue and per key in the claim (migration 011): a generic cell rate on the store's
 * clock. A queue (or key) of rate L per period P may start a job while its theoretical arrival time (rate_tat) is at
 * most now + P - P/L; k starts fit while max(rate_tat, now) + k * P/L <= now + P. The claim reads that
 * count and advances rate_tat in its one write transaction, so no other claim interleaves: exact.
 */

/**
 * Starts a queue_limits or concurrency_keys row (named `row`) may take now (@now, ms), NULL without a
 * rate. The small epsilon keeps a start that lands exactly on the spacing from being lost to
 * floating-point rounding.
 */
export const rateFree = (row: string): string => `CASE WHEN ${row}.rate_limit IS NULL THEN NULL ELSE max(0,
  CAST((@now + ${row}.rate_period_ms - max(${row}.rate_tat, @now)) * ${row}.rate_limit
    / CAST(${row}.rate_period_ms AS REAL) + 1e-9 AS INTEGER)) END`;

/** The database's clock in ms since the epoch, as the give-back trigger writes it (migration 011). */
export const DB_NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

/** The new rate_tat after `n` starts at @now. */
export const rateTaken = (n: string): string =>
  `max(rate_tat, @now) + ${n} * rate_period_ms / CAST(rate_limit AS REAL)`;

/** Advances the rate of queue @queue by @n starts at @now; nothing for a queue without a rate. */
export const jobClaimQueueRateTake = `
UPDATE queue_limits SET rate_tat = ${rateTaken('@n')} WHERE queue = @queue AND rate_limit IS NOT NULL`;

/** When a row's rate next allows a start (where rateFree reaches 1): rate_tat <= now + P - P/L. */
const NEXT_START = 'rate_tat - rate_period_ms + rate_period_ms / CAST(rate_limit AS REAL)';

/**
 * Milliseconds from @now until the soonest start that a rate out of starts allows again: of a queue
 * in @queues (a JSON list; NULL: every queue) or of any key; NULL when none is out of starts. Run
 * after a short claim, inside its transaction (so it reads the rates the claim advanced), for its
 * report (ClaimReport `nextDueInMs`). Keys are not narrowed to those with queued jobs: a rated key
 * without waiting jobs wakes a waiting claimer once, when it refills.
 */
export const jobClaimRateWait = `
SELECT ceil(min(at) - @now) AS wait FROM (
  SELECT ${NEXT_START} AS at FROM queue_limits
  WHERE rate_limit IS NOT NULL AND (@queues IS NULL OR queue IN (SELECT value FROM json_each(@queues)))
  UNION ALL
  SELECT ${NEXT_START} FROM concurrency_keys WHERE rate_limit IS NOT NULL
)
WHERE at > @now`;

/**
 * rate_tat once a rate is set again: kept when the rate is the one in force (every process connecting
 * with the config sets it again, which must not grant a new burst), else 0 (a new rate's full burst).
 */
const RATE_TAT_SET_AGAIN = `CASE WHEN rate_limit IS excluded.rate_limit
  AND rate_period_ms IS excluded.rate_period_ms THEN rate_tat ELSE 0 END`;

/**
 * Sets (@limit, @periodMs numbers) or removes (NULLs) a queue's rate; a new rate starts with a full
 * burst, the rate in force set again keeps its spent starts. Removing the rate of a queue without a
 * row writes none, as sql/concurrency-limits.ts `queueSetLimit`.
 */
export const queueSetRate = `
INSERT INTO queue_limits (queue, rate_limit, rate_period_ms)
SELECT @queue, @limit, @periodMs
WHERE @limit IS NOT NULL OR EXISTS (SELECT 1 FROM queue_limits WHERE queue = @queue)
ON CONFLICT (queue) DO UPDATE SET rate_limit = excluded.rate_limit,
  rate_period_ms = excluded.rate_period_ms, rate_tat = ${RATE_TAT_SET_AGAIN}`;

/**
 * Sets or removes a key's rate, as queueSetRate; a key never claimed gets its row now, without a
 * job_limit (no claim has taken a job of it: sql/concurrency-limits.ts `concurrencyKeySetLimit`).
 * Removing the rate of a key without a row writes none.
 */
export const concurrencyKeySetRate = `
INSERT INTO concurrency_keys (key, in_use, rate_limit, rate_period_ms)
SELECT @key, 0, @limit, @periodMs
WHERE @limit IS NOT NULL OR EXISTS (SELECT 1 FROM concurrency_keys WHERE key = @key)
ON CONFLICT (key) DO UPDATE SET rate_limit = excluded.rate_limit,
  rate_period_ms = excluded.rate_period_ms, rate_tat = ${RATE_TAT_SET_AGAIN},
  released_at = ${DB_NOW_MS}`;
