/**
 * Rate limits per queue and per key in the claim (migration 014): a generic cell rate on the database
 * clock. A queue (or key) of rate L per period P may start a job while its theoretical arrival time (rate_tat, epoch ms)
 * is at most now + P - P/L; k starts fit while greatest(rate_tat, now) + k * P/L <= now + P. The claim
 * reads that count from the queue's row it locks (`queue_slots`, sql/concurrency-limits.ts) and
 * advances rate_tat in the same statement (`queue_taken`), so racing claims of the queue run one after
 * the other and the rate is exact. A key's rate is re-checked and advanced by the key's upsert
 * (`slots`), on the key row's newest version like its running count.
 */

/** The store's clock in epoch milliseconds: nightshift_now() is fixed for the whole transaction. */
const nowMs = (s: string): string => `(extract(epoch FROM ${s}.nightshift_now()) * 1000)::float8`;

/**
 * Starts a `queue_limits` or `concurrency_keys` row (`row`, empty for bare columns) may take now, NULL
 * without a rate. The small epsilon keeps a start that lands exactly on the spacing from being lost
 * to floating-point rounding.
 */
export const rateFree = (s: string, row = ''): string => {
  const c = row === '' ? '' : `${row}.`;
  const now = nowMs(s);
  return `CASE WHEN ${c}rate_limit IS NOT NULL THEN greatest(0, floor(
      (${now} + ${c}rate_period_ms - greatest(${c}rate_tat, ${now})) * ${c}rate_limit / ${c}rate_period_ms
      + 1e-9))::integer END`;
};

/** The new rate_tat of row `row` after `n` starts (unchanged without a rate). */
export const rateTaken = (
  s: string,
  row: string,
  n: string,
): string => `CASE WHEN ${row}.rate_limit IS NULL THEN ${row}.rate_tat
      ELSE greatest(${row}.rate_tat, ${nowMs(s)}) + ${n} * ${row}.rate_period_ms::float8 / ${row}.rate_limit END`;

/** Sets ($2, $3 numbers) or removes ($2, $3 null) the rate of queue $1; a new rate starts with a full burst. */
export const queueSetRate = (s: string): string => `
  INSERT INTO ${s}.queue_limits (queue, rate_limit, rate_period_ms) VALUES ($1, $2, $3)
  ON CONFLICT (queue) DO UPDATE SET rate_limit = excluded.rate_limit,
    rate_period_ms = excluded.rate_period_ms, rate_tat = 0`;

/** Sets or removes the rate of key $1, as queueSetRate; a key never claimed gets its row now. */
export const concurrencyKeySetRate = (s: string): string => `
  INSERT INTO ${s}.concurrency_keys (key, in_use, job_limit, rate_limit, rate_period_ms) VALUES ($1, 0, 1, $2, $3)
  ON CONFLICT (key) DO UPDATE SET rate_limit = excluded.rate_limit,
    rate_period_ms = excluded.rate_period_ms, rate_tat = 0`;
