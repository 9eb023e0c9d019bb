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

/**
 * When row `row`'s rate next allows a start, in epoch ms (where rateFree reaches 1; NULL without a
 * rate): rate_tat <= now + P - P/L.
 */
export const rateNextStart = (row: string): string =>
  `${row}.rate_tat - ${row}.rate_period_ms + ${row}.rate_period_ms::float8 / ${row}.rate_limit`;

/**
 * Milliseconds until the soonest start that a rate out of starts now allows again: of a queue the
 * claim may take from ($4 when `restricted`) or of any key; NULL when no rate is out of starts. For a
 * short claim's report (ClaimReport `nextDueInMs`), so that a claimer waiting for work claims again
 * then instead of at its poll. With `advanced` (a statement with limits), the rows this claim advanced
 * come from its `queue_taken` and `slots` (RETURNING `next_start`): its own snapshot still holds their
 * old times, which lie in the past when they had starts to give. The lean statement reads them too: a
 * key out of starts hides its jobs from every scan, so no claim would otherwise meet its rate. Keys
 * are not narrowed to those with queued jobs (no index leads with the key): a rated key without
 * waiting jobs wakes a waiting claimer once, when it refills.
 */
export const rateWaitMs = (s: string, restricted: boolean, advanced: boolean): string => `(
    SELECT ceil(min(r.at) - ${nowMs(s)}) FROM (${
      advanced
        ? `
      SELECT next_start AS at FROM queue_taken
      UNION ALL SELECT next_start FROM slots
      UNION ALL`
        : ''
    }
      SELECT ${rateNextStart('l')} AS at FROM ${s}.queue_limits l
        WHERE l.rate_limit IS NOT NULL${restricted ? ' AND l.queue = ANY($4::text[])' : ''}
      UNION ALL SELECT ${rateNextStart('k')} FROM ${s}.concurrency_keys k WHERE k.rate_limit IS NOT NULL
    ) r
    WHERE r.at > ${nowMs(s)})`;

/**
 * rate_tat of the row `t` once a rate is set again: kept when the rate is the one in force (every
 * process connecting with the config sets it again, which must not grant a new burst), else 0 (a new
 * rate's full burst).
 */
const rateTatSetAgain = (
  t: string,
): string => `CASE WHEN ${t}.rate_limit IS NOT DISTINCT FROM excluded.rate_limit
    AND ${t}.rate_period_ms IS NOT DISTINCT FROM excluded.rate_period_ms THEN ${t}.rate_tat ELSE 0 END`;

/**
 * Sets ($2, $3 numbers) or removes ($2, $3 null) the rate of queue $1; a new rate starts with a full
 * burst, the rate in force set again keeps its spent starts. Removing the rate of a queue without a
 * row writes none, as sql/concurrency-limits.ts `queueSetLimit`.
 */
export const queueSetRate = (s: string): string => `
  INSERT INTO ${s}.queue_limits (queue, rate_limit, rate_period_ms)
  SELECT $1, $2::integer, $3::integer
  WHERE $2::integer IS NOT NULL OR EXISTS (SELECT 1 FROM ${s}.queue_limits WHERE queue = $1)
  ON CONFLICT (queue) DO UPDATE SET rate_limit = excluded.rate_limit,
    rate_period_ms = excluded.rate_period_ms, rate_tat = ${rateTatSetAgain('queue_limits')}`;

/**
 * Sets or removes the rate of key $1, as queueSetRate; a key never claimed gets its row now, without a
 * job_limit (no claim has taken a job of it: sql/concurrency-limits.ts `concurrencyKeySetLimit`).
 * Removing the rate of a key without a row writes none.
 */
export const concurrencyKeySetRate = (s: string): string => `
  INSERT INTO ${s}.concurrency_keys (key, in_use, rate_limit, rate_period_ms)
  SELECT $1, 0, $2::integer, $3::integer
  WHERE $2::integer IS NOT NULL OR EXISTS (SELECT 1 FROM ${s}.concurrency_keys WHERE key = $1)
  ON CONFLICT (key) DO UPDATE SET rate_limit = excluded.rate_limit,
    rate_period_ms = excluded.rate_period_ms, rate_tat = ${rateTatSetAgain('concurrency_keys')},
    released_at = ${s}.nightshift_now()`;
