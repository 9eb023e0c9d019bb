/**
 * Concurrency limits in the claim (migration 013): at most N running jobs per key and per queue,
 * cluster-wide.
 *
 * - `jobClaimQueueSlots`: the limited queues this claim may take from, their rows locked in queue order before
 *   anything is admitted. FOR UPDATE returns each row's newest version, so the free counts admitted
 *   against are exact until the claim commits (another claim of these queues waits; claims of queues
 *   without a limit never touch the table). Full queues join the paused ones: skipped by the scans.
 * - `jobClaimKeyOpen` filters the ready scans: a queue row whose key is full (in_use >= limit as of the claim's
 *   snapshot) is skipped as a Filter of the ordered index scan, one probe of the key's primary key per
 *   keyed row walked, so a full key's backlog does not block the jobs behind it. Caveat: a full key's
 *   rows that sort ahead of the first claimable row are walked past at every claim (pinned and
 *   measured by test/postgres/claim-plan-keys.test.ts).
 * - `key_fits`, `admitted`: the candidates in claim order, ranked within their key, kept while the rank
 *   fits the key's free slots as of the snapshot; then ranked within their queue, kept while that rank
 *   fits the queue's free slots as locked; then the best `limit`.
 * - `slots`: takes the keys' slots, one row per key, keys in order. INSERT ... ON CONFLICT DO UPDATE
 *   locks the key's row and evaluates its WHERE on the newest committed version, not the snapshot:
 *   when a racing claim took slots meanwhile, the re-check fails, no slot is taken and that key's jobs
 *   stay queued for the next claim. So in_use never exceeds the limit: the limit is exact.
 * - `picked`: the admitted jobs without a key, or whose key's slots were taken.
 * - `queue_taken`: adds the picked jobs to their limited queues' counts and advances their queues'
 *   rates (rows this claim holds locked).
 */
import { rateFree, rateTaken } from './rate-limits.js';

/**
 * $4, when given, the queues the claim is restricted to. `free`: the fewer of the free slots (with a
 * limit) and the starts the rate allows now (with a rate, sql/rate-limits.ts); least() skips a NULL.
 */
export const jobClaimQueueSlots = (s: string, restricted: boolean): string => `queue_slots AS (
    SELECT queue, max, in_use, least(max - in_use, ${rateFree()}) AS free FROM ${s}.queue_limits
    WHERE (max IS NOT NULL OR rate_limit IS NOT NULL)${restricted ? ' AND queue = ANY($4::text[])' : ''}
    ORDER BY queue
    FOR UPDATE
  )`;

/** Queues at their limit or out of starts for now, among those `queue_slots` locked. */
export const jobClaimFullQueues = 'SELECT queue FROM queue_slots WHERE free <= 0';

/** Sets a claimed job's `queue_slot` (aliased `j`): whether it took a slot of its queue's limit. */
export const jobClaimQueueSlotTaken =
  'j.queue = ANY(ARRAY(SELECT queue FROM queue_slots WHERE max IS NOT NULL))';

/** The condition on a job_queue row (named `row`) that its key, if any, has a free slot. */
export const jobClaimKeyOpen = (
  s: string,
  row: string,
): string => `(${row}.concurrency_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM ${s}.concurrency_keys k
      WHERE k.key = ${row}.concurrency_key
        AND (k.in_use >= coalesce(k.max, ${row}.concurrency_limit) OR ${rateFree('k')} < 1)))`;

/** Columns of the ready and due candidates the key check needs, after row_id, id, priority, run_at, queue. */
export const jobClaimKeyColumns = 'concurrency_key, concurrency_limit';

/**
 * The CTEs from `candidates` (ready and due rows, paused and full queues out) to `picked` (row_id, id,
 * queue) and `queue_taken`. $2 limit.
 */
export const jobClaimAdmitAndTake = (s: string, candidates: string): string => `
  ranked AS (
    SELECT c.*,
           row_number() OVER (PARTITION BY c.concurrency_key ORDER BY c.priority DESC, c.run_at, c.id) AS key_rank
    FROM (${candidates}) c
  ), key_fits AS (
    SELECT r.*,
           row_number() OVER (PARTITION BY r.queue ORDER BY r.priority DESC, r.run_at, r.id) AS queue_rank
    FROM ranked r
    LEFT JOIN ${s}.concurrency_keys k ON k.key = r.concurrency_key
    WHERE r.concurrency_key IS NULL
       OR r.key_rank <= least(coalesce(k.max, r.concurrency_limit) - coalesce(k.in_use, 0), ${rateFree('k')})
  ), admitted AS (
    SELECT f.row_id, f.id, f.queue, f.concurrency_key, f.concurrency_limit FROM key_fits f
    LEFT JOIN queue_slots q ON q.queue = f.queue
    WHERE q.queue IS NULL OR f.queue_rank <= q.free
    ORDER BY f.priority DESC, f.run_at, f.id
    LIMIT $2
  ), slots AS (
    INSERT INTO ${s}.concurrency_keys AS k (key, in_use, job_limit)
    SELECT concurrency_key, count(*), min(concurrency_limit) FROM admitted
    WHERE concurrency_key IS NOT NULL
    GROUP BY concurrency_key ORDER BY concurrency_key
    ON CONFLICT (key) DO UPDATE SET in_use = k.in_use + excluded.in_use, job_limit = excluded.job_limit,
      rate_tat = ${rateTaken('k', 'excluded.in_use')}
    WHERE k.in_use + excluded.in_use <= coalesce(k.max, excluded.job_limit)
      AND (k.rate_limit IS NULL OR excluded.in_use <= ${rateFree('k')})
    RETURNING k.key
  ), picked AS (
    SELECT row_id, id, queue FROM admitted
    WHERE concurrency_key IS NULL OR concurrency_key = ANY(ARRAY(SELECT key FROM slots))
  ), queue_taken AS (
    UPDATE ${s}.queue_limits l
    SET in_use = l.in_use + CASE WHEN l.max IS NULL THEN 0 ELSE t.n END, rate_tat = ${rateTaken('l', 't.n')}
    FROM (SELECT queue, count(*)::integer AS n FROM picked GROUP BY queue) t
    WHERE l.queue = t.queue AND l.queue = ANY(ARRAY(SELECT queue FROM queue_slots))
  )`;

/** Keys after $1 in key order, at most $2; $3 true keeps only keys with running jobs. */
export const concurrencyKeyList = (s: string): string => `
  SELECT key, in_use, coalesce(max, job_limit) AS limit_now, max, rate_limit, rate_period_ms
  FROM ${s}.concurrency_keys
  WHERE key > $1 AND (NOT $3 OR in_use > 0)
  ORDER BY key LIMIT $2`;

/** Sets ($2 a number) or clears ($2 null) the operator limit of key $1. */
export const concurrencyKeySetLimit = (s: string): string => `
  INSERT INTO ${s}.concurrency_keys (key, in_use, max, job_limit) VALUES ($1, 0, $2, coalesce($2, 1))
  ON CONFLICT (key) DO UPDATE SET max = excluded.max`;

/** Every queue ever given a limit or a rate, by name. */
export const queueLimitList = (s: string): string =>
  `SELECT queue, max, in_use, rate_limit, rate_period_ms FROM ${s}.queue_limits ORDER BY queue`;

/** Sets ($2 a number) or removes ($2 null) the limit of queue $1; the row and its count stay. */
export const queueSetLimit = (s: string): string => `
  INSERT INTO ${s}.queue_limits (queue, max) VALUES ($1, $2)
  ON CONFLICT (queue) DO UPDATE SET max = excluded.max`;
