/**
 * The claim: one statement that picks, locks and leases a batch of due jobs.
 *
 * Shape (EXPLAIN on a table of 1M finished rows, 100k queued and 100k future scheduled rows):
 * - `ready`: an Index Scan on the partial `jobs_ready_idx` (queued rows only), already in claim order,
 *   under a LockRows node with SKIP LOCKED, stopped by the LIMIT after `limit` live rows. Concurrent
 *   claimers skip each other's rows instead of queueing on them, so N claimers get N disjoint batches.
 * - `due`: delayed and retried jobs whose time came. They are picked in the same statement instead of by
 *   a separate stager round trip: an Index Scan on `jobs_scheduled_idx` bounded by `run_at <= now()`,
 *   which costs one index probe when nothing is due. Up to PROMOTE_LIMIT of them are locked; those that
 *   lose to better queued rows are promoted to `queued` by this same statement so later claims find
 *   them in the ready index. No row is ever promoted without its row lock.
 * - `picked`: the best `limit` of both sets in claim order (priority desc, due time, id): a sort of at
 *   most 2 x limit rows.
 * - `lease`: the claim's token, one gen_random_uuid() for the whole batch. An attempt is named by its
 *   job id and token together, so a token per claim fences exactly as one per job would (a later claim
 *   of any of these jobs gets another token), without a random draw per job (8.6k instructions each).
 * - `claimed`: the UPDATE by primary key. Every time decision uses the database's now(), and the token
 *   comes from the database too, so no worker clock or worker randomness is trusted. Each claimed job leaves it as one
 *   line of json text, and the statement answers one row with the batch (see job-batch.ts).
 *
 * With a queue filter, `jobs_ready_queue_idx` (queue first) is scanned once per queue through a
 * LATERAL join, each scan in claim order and stopped by its own LIMIT; a plain `queue = ANY(...)` would
 * force PostgreSQL 15 to read and sort every queued row of those queues.
 */

import { CLAIMED_BATCH_SELECT, CLAIMED_LINE } from '../job-batch.js';

// Due scheduled rows locked per claim: all of them compete in claim order (so a due high-priority job
// wins over earlier-due low-priority ones), and the losers are promoted. Bounded so that a burst of a
// million jobs due at midnight is promoted a few hundred rows per claim, never in one long statement.
const PROMOTE_LIMIT = 'greatest($2, 256)';

// Every UPDATE targets rows by `id = ANY(ARRAY(...))`: a primary-key lookup whatever the planner
// believes about a CTE's row count. A join against the CTE let it choose a hash join over a sequential
// scan of the whole table (seen in EXPLAIN at 20,000 rows; with generic plans the LIMIT is unknown).
const CLAIM_TAIL = (s: string): string => `
  picked AS (
    SELECT id FROM (SELECT * FROM ready UNION ALL SELECT * FROM due) candidates
    ORDER BY priority DESC, run_at, id
    LIMIT $2
  ), promoted AS (
    UPDATE ${s}.jobs j SET state = 'queued', updated_at = now()
    WHERE j.id = ANY(ARRAY(SELECT id FROM due EXCEPT ALL SELECT id FROM picked))
  ), lease AS (
    SELECT gen_random_uuid() AS token
  ), claimed AS (
    UPDATE ${s}.jobs j
    SET state = 'running',
        attempt = j.attempt + 1,
        lease_token = (SELECT token FROM lease),
        lease_expires_at = now() + coalesce(j.lease_ms, $3) * interval '1 millisecond',
        started_at = now(),
        finished_at = NULL,
        worker_id = $1,
        updated_at = now()
    WHERE j.id = ANY(ARRAY(SELECT id FROM picked))
    RETURNING ${CLAIMED_LINE} AS line
  )
  ${CLAIMED_BATCH_SELECT}`;

/** Claim from every queue. $1 worker id, $2 limit, $3 default lease ms. */
export const claimJobs = (s: string): string => `
  WITH ready AS (
    SELECT id, priority, run_at FROM ${s}.jobs
    WHERE state = 'queued'
    ORDER BY priority DESC, run_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ), due AS (
    SELECT id, priority, run_at FROM ${s}.jobs
    WHERE state = 'scheduled' AND run_at <= now()
    ORDER BY run_at, id
    LIMIT ${PROMOTE_LIMIT}
    FOR UPDATE SKIP LOCKED
  ), ${CLAIM_TAIL(s)}`;

/** Claim from some queues. $1 worker id, $2 limit, $3 default lease ms, $4 queue names. */
export const claimJobsFromQueues = (s: string): string => `
  WITH ready AS (
    SELECT r.id, r.priority, r.run_at
    FROM unnest($4::text[]) AS q(name)
    CROSS JOIN LATERAL (
      SELECT id, priority, run_at FROM ${s}.jobs
      WHERE state = 'queued' AND queue = q.name
      -- The same order as priority DESC, spelled as jobs_ready_queue_idx's expression: only that index
      -- yields it, so the planner cannot take jobs_ready_idx plus a queue filter (a generic plan
      -- guesses a queue's share, and for a rare queue behind a big backlog that scan reads the backlog).
      ORDER BY -(priority::bigint), run_at, id
      LIMIT $2
      FOR UPDATE SKIP LOCKED
    ) r
  ), due AS (
    SELECT id, priority, run_at FROM ${s}.jobs
    WHERE state = 'scheduled' AND run_at <= now() AND queue = ANY($4::text[])
    ORDER BY run_at, id
    LIMIT ${PROMOTE_LIMIT}
    FOR UPDATE SKIP LOCKED
  ), ${CLAIM_TAIL(s)}`;
