/**
 * Rate limits per queue in the claim (migration 014): a generic cell rate on the database clock. A
 * queue of rate L per period P may start a job while its theoretical arrival time (rate_tat, epoch ms)
 * is at most now + P - P/L; k starts fit while greatest(rate_tat, now) + k * P/L <= now + P. The claim
 * reads that count from the queue's row it locks (`queue_slots`, sql/concurrency-limits.ts) and
 * advances rate_tat in the same statement (`queue_taken`), so racing claims of the queue run one after
 * the other and the rate is exact.
 */

/** The statement's clock in epoch milliseconds: now() is fixed for the whole transaction. */
const NOW_MS = '(extract(epoch FROM now()) * 1000)::float8';

/**
 * Starts a `queue_limits` row may take now, NULL without a rate. The small epsilon keeps a start that
 * lands exactly on the spacing from being lost to floating-point rounding.
 */
export const RATE_FREE = `CASE WHEN rate_limit IS NOT NULL THEN greatest(0, floor(
      (${NOW_MS} + rate_period_ms - greatest(rate_tat, ${NOW_MS})) * rate_limit / rate_period_ms + 1e-9
    ))::integer END`;

/** The new rate_tat of `queue_limits` row `l` after `n` starts (unchanged without a rate). */
export const rateTaken = (n: string): string => `CASE WHEN l.rate_limit IS NULL THEN l.rate_tat
      ELSE greatest(l.rate_tat, ${NOW_MS}) + ${n} * l.rate_period_ms::float8 / l.rate_limit END`;

/** Sets ($2, $3 numbers) or removes ($2, $3 null) the rate of queue $1; a new rate starts with a full burst. */
export const queueSetRate = (s: string): string => `
  INSERT INTO ${s}.queue_limits (queue, rate_limit, rate_period_ms) VALUES ($1, $2, $3)
  ON CONFLICT (queue) DO UPDATE SET rate_limit = excluded.rate_limit,
    rate_period_ms = excluded.rate_period_ms, rate_tat = 0`;
