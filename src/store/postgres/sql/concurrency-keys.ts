/**
 * Concurrency keys in the claim (migration 013): at most N running jobs per key, cluster-wide.
 *
 * - `keyOpen` filters the ready scans: a queue row whose key is full (in_use >= limit as of the claim's
 *   snapshot) is skipped as a Filter of the ordered index scan, one probe of the key's primary key per
 *   keyed row walked, so a full key's backlog does not block the jobs behind it. Caveat: a full key's
 *   rows that sort ahead of the first claimable row are walked past at every claim (test/postgres/
 *   claim-plan-keys.test.ts pins the plan and states the cost).
 * - `admitted`: the candidates in claim order, each key's ranked among themselves, kept while the rank
 *   fits the key's free slots as of the snapshot, then the best `limit`.
 * - `slots`: takes the slots, one row per key, keys in order (the release trigger locks in key order
 *   too, so claims and finishes cannot deadlock on key rows). INSERT ... ON CONFLICT DO UPDATE locks
 *   the key's row and evaluates its WHERE on the newest committed version, not the snapshot: when a
 *   racing claim took slots meanwhile, the re-check fails, no slot is taken and that key's jobs stay
 *   queued for the next claim. So in_use never exceeds the limit, which is what makes the limit exact.
 * - `picked`: the admitted jobs without a key, or whose key's slots were taken.
 */

/** The condition on a job_queue row (named `row`) that its key, if any, has a free slot. */
export const keyOpen = (s: string, row: string): string => `(${row}.concurrency_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM ${s}.concurrency_keys k
      WHERE k.key = ${row}.concurrency_key AND k.in_use >= coalesce(k.max, ${row}.concurrency_limit)))`;

/** Columns of the ready and due candidates the key check needs, after row_id, id, priority, run_at, queue. */
export const KEY_COLUMNS = 'concurrency_key, concurrency_limit';

/**
 * The CTEs from `candidates` (ready and due rows, paused queues out) to `picked` (row_id, id). $2 limit.
 */
export const admitAndTake = (s: string, candidates: string): string => `
  ranked AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.concurrency_key ORDER BY c.priority DESC, c.run_at, c.id)
             AS key_rank
    FROM (${candidates}) c
  ), admitted AS (
    SELECT r.row_id, r.id, r.concurrency_key, r.concurrency_limit FROM ranked r
    LEFT JOIN ${s}.concurrency_keys k ON k.key = r.concurrency_key
    WHERE r.concurrency_key IS NULL
       OR r.key_rank <= coalesce(k.max, r.concurrency_limit) - coalesce(k.in_use, 0)
    ORDER BY r.priority DESC, r.run_at, r.id
    LIMIT $2
  ), slots AS (
    INSERT INTO ${s}.concurrency_keys AS k (key, in_use, job_limit)
    SELECT concurrency_key, count(*), min(concurrency_limit) FROM admitted
    WHERE concurrency_key IS NOT NULL
    GROUP BY concurrency_key ORDER BY concurrency_key
    ON CONFLICT (key) DO UPDATE SET in_use = k.in_use + excluded.in_use, job_limit = excluded.job_limit
    WHERE k.in_use + excluded.in_use <= coalesce(k.max, excluded.job_limit)
    RETURNING k.key
  ), picked AS (
    SELECT row_id, id FROM admitted
    WHERE concurrency_key IS NULL OR concurrency_key = ANY(ARRAY(SELECT key FROM slots))
  )`;

/** Keys after $1 in key order, at most $2; $3 true keeps only keys with running jobs. */
export const keyList = (s: string): string => `
  SELECT key, in_use, coalesce(max, job_limit) AS limit_now, max FROM ${s}.concurrency_keys
  WHERE key > $1 AND (NOT $3 OR in_use > 0)
  ORDER BY key LIMIT $2`;

/** Sets ($2 a number) or clears ($2 null) the operator limit of key $1. */
export const keySetLimit = (s: string): string => `
  INSERT INTO ${s}.concurrency_keys (key, in_use, max, job_limit) VALUES ($1, 0, $2, coalesce($2, 1))
  ON CONFLICT (key) DO UPDATE SET max = excluded.max`;
