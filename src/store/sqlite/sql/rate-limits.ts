/**
 * Rate limits per queue in the claim (migration 011): a generic cell rate on the store's clock. A
 * queue of rate L per period P may start a job while its theoretical arrival time (rate_tat) is at
 * most now + P - P/L; k starts fit while max(rate_tat, now) + k * P/L <= now + P. The claim reads that
 * count and advances rate_tat in its one write transaction, so no other claim interleaves: exact.
 */

/**
 * Starts a queue row may take now (@now, ms), NULL without a rate. The small epsilon keeps a start
 * that lands exactly on the spacing from being lost to floating-point rounding.
 */
export const RATE_FREE = `CASE WHEN rate_limit IS NULL THEN NULL ELSE max(0, CAST(
  (@now + rate_period_ms - max(rate_tat, @now)) * rate_limit / CAST(rate_period_ms AS REAL) + 1e-9
  AS INTEGER)) END`;

/** Advances the rate of queue @queue by @n starts at @now; nothing for a queue without a rate. */
export const QUEUE_RATE_TAKE = `
UPDATE queue_limits SET rate_tat = max(rate_tat, @now) + @n * rate_period_ms / CAST(rate_limit AS REAL)
WHERE queue = @queue AND rate_limit IS NOT NULL`;

/** Sets (@limit, @periodMs numbers) or removes (NULLs) a queue's rate; a new rate starts with a full burst. */
export const QUEUE_SET_RATE = `
INSERT INTO queue_limits (queue, rate_limit, rate_period_ms) VALUES (@queue, @limit, @periodMs)
ON CONFLICT (queue) DO UPDATE SET rate_limit = excluded.rate_limit,
  rate_period_ms = excluded.rate_period_ms, rate_tat = 0`;
