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
 * - `key_fits`, `admitted`: the candidates in claim order (those without a group by priority, due
 *   time and id, then grouped ones by their turn: `turn_rank`, sql/job-groups.ts), ranked within their
 *   key, each kept while its rank fits its own limit (the operator's when set) less the key's running
 *   jobs as of the snapshot, and the key's rate; then ranked within their queue, kept while that rank
 *   fits the queue's free slots as locked; then the first `limit`. The rank counts the key's
 *   candidates ahead that were not kept too, so with jobs of different limits a job that could start
 *   behind them may be left for the next claim (never one that could not).
 * - `slots`: takes the keys' slots, one row per key, keys in order. INSERT ... ON CONFLICT DO UPDATE
 *   locks the key's row and evaluates its WHERE on the newest committed version, not the snapshot:
 *   the running jobs plus those taken must fit the smallest of their limits (the operator's when set),
 *   or, for jobs of different limits, each job's rank must fit its own (read from `admitted`, only when
 *   the first test fails). When a racing claim took slots meanwhile, the re-check fails, no slot is
 *   taken and that key's jobs stay queued for the next claim. So every job starts while fewer than its
 *   limit run: the limit is exact.
 * - `picked`: the admitted jobs without a key, or whose key's slots were taken.
 * - `queue_taken`: adds the picked jobs to their limited queues' counts and advances their queues'
 *   rates (rows this claim holds locked). It and `slots` return when each rate they advanced next
 *   allows a start, for the claim's report (sql/rate-limits.ts `rateWaitMs`).
 *
 * Lock order, everywhere a count changes: the rows of the queues, sorted, then those of the keys,
 * sorted. The claim takes them so; `giveBack` too. So no two statements wait on each other's rows.
 */
import { rateFree, rateNextStart, rateTaken } from './rate-limits.js';

/**
 * $4, when given, the queues the claim is restricted to. `free`: the fewer of the free slots (with a
 * limit) and the starts the rate allows now (with a rate, sql/rate-limits.ts); least() skips a NULL.
 */
export const jobClaimQueueSlots = (s: string, restricted: boolean): string => `queue_slots AS (
    SELECT queue, max, in_use, least(max - in_use, ${rateFree(s)}) AS free FROM ${s}.queue_limits
    WHERE (max IS NOT NULL OR rate_limit IS NOT NULL)${restricted ? ' AND queue = ANY($4::text[])' : ''}
    ORDER BY queue
    FOR UPDATE
  )`;

/**
 * The lean claim's check (sql/job-claim.ts `jobClaimLean`): whether any queue it may take from has a
 * limit or a rate. Read from the snapshot, without a lock: a limit set while the claim runs counts
 * from the next claim on, as it does for the full claim when the queue had no row yet.
 */
export const jobClaimLimited = (s: string, restricted: boolean): string => `limited AS (
    SELECT EXISTS (SELECT 1 FROM ${s}.queue_limits
                   WHERE (max IS NOT NULL OR rate_limit IS NOT NULL)${restricted ? ' AND queue = ANY($4::text[])' : ''}) AS found
  )`;

/**
 * The lean claim's `picked`: the first $2 candidates in claim order (with `grouped`, grouped ones by
 * their turn after the others), keyed ones left out (they wait for a full claim, which the answer asks
 * for). No queue slot or key slot is taken.
 */
export const jobClaimLeanPick = (candidates: string, grouped: boolean): string => `
  picked AS (
    SELECT row_id, id, queue FROM (${candidates}) c
    WHERE c.concurrency_key IS NULL
    ORDER BY ${claimOrder('c', grouped)}
    LIMIT $2
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
        AND (k.in_use >= coalesce(k.max, ${row}.concurrency_limit) OR ${rateFree(s, 'k')} < 1)))`;

/** Columns of the ready and due candidates the key check needs, after row_id, id, priority, run_at, queue. */
export const jobClaimKeyColumns = 'concurrency_key, concurrency_limit';

/**
 * Claim order over candidate rows aliased `a`: priority, due time, id; with `grouped`, jobs without a
 * group first and grouped ones by their turn (`turn_rank`, NULL for the others).
 */
const claimOrder = (a: string, grouped: boolean): string =>
  `${grouped ? `${a}.turn_rank NULLS FIRST, ` : ''}${a}.priority DESC, ${a}.run_at, ${a}.id`;

/**
 * The CTEs from `candidates` (ready and due rows, paused and full queues out; with `grouped`, grouped
 * ones too) to `picked` (row_id, id, queue) and `queue_taken`. $2 limit.
 */
export const jobClaimAdmitAndTake = (s: string, candidates: string, grouped: boolean): string => `
  ranked AS (
    SELECT c.*,
           row_number() OVER (PARTITION BY c.concurrency_key
                              ORDER BY ${claimOrder('c', grouped)}) AS key_rank
    FROM (${candidates}) c
  ), key_fits AS (
    SELECT r.*,
           row_number() OVER (PARTITION BY r.queue
                              ORDER BY ${claimOrder('r', grouped)}) AS queue_rank
    FROM ranked r
    LEFT JOIN ${s}.concurrency_keys k ON k.key = r.concurrency_key
    WHERE r.concurrency_key IS NULL
       OR r.key_rank <= least(coalesce(k.max, r.concurrency_limit) - coalesce(k.in_use, 0), ${rateFree(s, 'k')})
  ), admitted AS (
    SELECT f.row_id, f.id, f.queue, f.concurrency_key, f.concurrency_limit, f.key_rank FROM key_fits f
    LEFT JOIN queue_slots q ON q.queue = f.queue
    WHERE q.queue IS NULL OR f.queue_rank <= q.free
    ORDER BY ${claimOrder('f', grouped)}
    LIMIT $2
  ), slots AS (
    INSERT INTO ${s}.concurrency_keys AS k (key, in_use, job_limit)
    SELECT concurrency_key, count(*), min(concurrency_limit) FROM admitted
    WHERE concurrency_key IS NOT NULL
    GROUP BY concurrency_key ORDER BY concurrency_key
    ON CONFLICT (key) DO UPDATE SET in_use = k.in_use + excluded.in_use, job_limit = excluded.job_limit,
      rate_tat = ${rateTaken(s, 'k', 'excluded.in_use')}
    WHERE (k.in_use + excluded.in_use <= coalesce(k.max, excluded.job_limit)
           OR k.max IS NULL AND k.in_use <= (SELECT min(a.concurrency_limit - a.key_rank) FROM admitted a
                                             WHERE a.concurrency_key = k.key))
      AND (k.rate_limit IS NULL OR excluded.in_use <= ${rateFree(s, 'k')})
    RETURNING k.key, ${rateNextStart('k')} AS next_start
  ), picked AS (
    -- IN, a hashed subplan: = ANY(ARRAY(...)) compared each admitted job with every key taken (a
    -- claim of 100 jobs over 100 keys: ~10k instructions per job in bench:sql).
    SELECT row_id, id, queue FROM admitted
    WHERE concurrency_key IS NULL OR concurrency_key IN (SELECT key FROM slots)
  ), queue_taken AS (
    UPDATE ${s}.queue_limits l
    SET in_use = l.in_use + CASE WHEN l.max IS NULL THEN 0 ELSE t.n END, rate_tat = ${rateTaken(s, 'l', 't.n')}
    FROM (SELECT queue, count(*)::integer AS n FROM picked GROUP BY queue) t
    WHERE l.queue = t.queue AND l.queue = ANY(ARRAY(SELECT queue FROM queue_slots))
    RETURNING ${rateNextStart('l')} AS next_start
  )`;

/**
 * One `capacity` notification (key `k`) when some of the `ended` jobs held a queue slot or a
 * concurrency key, which the statement gave back: a worker in another process whose job that key or
 * queue held back claims again (src/worker/worker.ts). Read by the statement's answer (`freed`), so
 * it runs, and so the store knows to tell its own process too (it drops its own notifications).
 */
export const capacityNote = (ended: string, channel: string, origin: string): string => `capacity_note AS (
    SELECT pg_notify(${channel}, json_build_object('o', ${origin}::text, 'k', 1)::text)
    FROM ${ended} WHERE queue_slot OR concurrency_key IS NOT NULL
    HAVING count(*) > 0
  )`;

/**
 * The CTEs that give back the slots of the jobs a statement just moved out of 'running' (`ended`, a
 * CTE returning queue, queue_slot and concurrency_key of each). The rows are first locked in a fixed
 * order (queues sorted, then keys sorted: a LockRows above the ordered scan locks in scan order), and
 * `key_locked` starts only once `queue_locked` is done (its one-time filter reads it). Then one UPDATE
 * per table takes each row's count down by its number of ended jobs, on rows already held (each row
 * once, by the sorted key list: one index scan). Nothing
 * runs for jobs without a key or a queue slot beyond an empty index probe per table.
 */
export const giveBack = (s: string, ended: string): string => `
  queue_locked AS (
    SELECT queue FROM ${s}.queue_limits
    WHERE queue = ANY(ARRAY(SELECT queue FROM ${ended} WHERE queue_slot))
    ORDER BY queue
    FOR UPDATE
  ), key_locked AS (
    SELECT key FROM ${s}.concurrency_keys
    WHERE key = ANY(ARRAY(SELECT concurrency_key FROM ${ended} WHERE concurrency_key IS NOT NULL))
      AND (SELECT count(*) FROM queue_locked) >= 0
    ORDER BY key
    FOR UPDATE
  ), given AS (
    -- Each row's count of ended jobs, found by key (a jsonb object's keys are sorted): a join against
    -- the per-key counts made the planner re-check the whole ANY list once per row (5.7 ms for 100
    -- completions of 100 keys, in EXPLAIN ANALYZE).
    SELECT (SELECT jsonb_object_agg(queue, n) FROM (
              SELECT queue, count(*) AS n FROM ${ended} WHERE queue_slot GROUP BY queue) q) AS queues,
           (SELECT jsonb_object_agg(concurrency_key, n) FROM (
              SELECT concurrency_key, count(*) AS n FROM ${ended} WHERE concurrency_key IS NOT NULL
              GROUP BY concurrency_key) k) AS keys
  ), queue_given AS (
    UPDATE ${s}.queue_limits l SET in_use = l.in_use - ((SELECT queues FROM given) ->> l.queue)::integer
    WHERE l.queue = ANY(ARRAY(SELECT queue FROM queue_locked))
  ), key_given AS (
    UPDATE ${s}.concurrency_keys k
    SET in_use = k.in_use - ((SELECT keys FROM given) ->> k.key)::integer, released_at = ${s}.nightshift_now()
    WHERE k.key = ANY(ARRAY(SELECT key FROM key_locked))
  )`;

/** Keys after $1 in key order, at most $2; $3 true keeps only keys with running jobs. */
export const concurrencyKeyList = (s: string): string => `
  SELECT key, in_use, coalesce(max, job_limit) AS limit_now, max, rate_limit, rate_period_ms
  FROM ${s}.concurrency_keys
  WHERE key > $1 AND (NOT $3 OR in_use > 0)
  ORDER BY key LIMIT $2`;

/**
 * Sets ($2 a number) or clears ($2 null) the operator limit of key $1. A key never claimed gets its row
 * now, without a job_limit: no claim has taken a job of it, and the jobs are not read (the list shows
 * the key's limit as NULL until a claim takes one of its jobs, which writes theirs). Clearing the limit
 * of a key without a row writes none, so a mistyped key is not listed (as `queueSetLimit`).
 */
export const concurrencyKeySetLimit = (s: string): string => `
  INSERT INTO ${s}.concurrency_keys (key, in_use, max)
  SELECT $1, 0, $2::integer
  WHERE $2::integer IS NOT NULL OR EXISTS (SELECT 1 FROM ${s}.concurrency_keys WHERE key = $1)
  ON CONFLICT (key) DO UPDATE SET max = excluded.max, released_at = ${s}.nightshift_now()`;

/**
 * Deletes up to $2 rows of keys idle for more than $1 ms: no running job, no operator limit or rate. Exact
 * under a racing claim: the scan locks its rows (SKIP LOCKED: a row a claim holds is left for the next
 * prune), and both the lock and the DELETE re-check in_use on the newest row version, so a key whose
 * slot a claim took meanwhile stays; a claim whose upsert waits on a deleted row inserts it anew.
 * Caveat: the scan is sequential (an index on in_use would make every slot change a non-HOT update),
 * so a prune reads the table up to $2 matches.
 */
export const concurrencyKeyPrune = (s: string): string => `
  DELETE FROM ${s}.concurrency_keys k
  WHERE k.key = ANY(ARRAY(
      SELECT key FROM ${s}.concurrency_keys
      WHERE in_use = 0 AND max IS NULL AND rate_limit IS NULL
        AND released_at < ${s}.nightshift_now() - $1 * interval '1 millisecond'
      LIMIT $2
      FOR UPDATE SKIP LOCKED))
    AND k.in_use = 0 AND k.max IS NULL AND k.rate_limit IS NULL`;

/** Every queue ever given a limit or a rate, by name. */
export const queueLimitList = (s: string): string =>
  `SELECT queue, max, in_use, rate_limit, rate_period_ms FROM ${s}.queue_limits ORDER BY queue`;

/**
 * Sets ($2 a number) or removes ($2 null) the limit of queue $1; the row and its count stay. Removing
 * the limit of a queue without a row writes none, so a mistyped name is not listed from then on.
 */
export const queueSetLimit = (s: string): string => `
  INSERT INTO ${s}.queue_limits (queue, max)
  SELECT $1, $2::integer
  WHERE $2::integer IS NOT NULL OR EXISTS (SELECT 1 FROM ${s}.queue_limits WHERE queue = $1)
  ON CONFLICT (queue) DO UPDATE SET max = excluded.max`;
