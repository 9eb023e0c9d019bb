/**
 * The claim: one statement that picks, locks and leases a batch of due jobs.
 *
 * Shape (pinned by test/postgres/claim-plan.test.ts):
 * - `ready`: an Index Scan on `job_queue_ready_idx` (queued jobs only), already in claim order, under
 *   a LockRows node with SKIP LOCKED, stopped by the LIMIT after `limit` live rows. Concurrent claimers
 *   skip each other's rows instead of queueing on them, so N claimers get N disjoint batches.
 * - `due`: delayed and retried jobs whose time came, picked in the same statement instead of by a
 *   separate stager round trip: an Index Scan on `job_queue_scheduled_idx` bounded by
 *   `run_at <= nightshift_now()`, one index probe when nothing is due. Up to PROMOTE_LIMIT of them are locked;
 *   those that lose to better queued rows are promoted to `queued` (their queue row and their job row)
 *   so later claims find them in the ready index. No row is promoted without its queue row's lock.
 * - `picked`: the best `limit` of both sets in claim order (priority desc, due time, id): a sort of at
 *   most 2 x limit rows.
 * - `taken`: the picked queue rows deleted by their row address (a TID scan, no index lookup).
 * - `lease`: the claim's token, one gen_random_uuid() for the whole batch. An attempt is named by its
 *   job id and token together, so a token per claim fences exactly as one per job would (a later claim
 *   of any of these jobs gets another token), without a random draw per job (8.6k instructions each).
 * - `claimed`: the job rows, by primary key, changed in place: no index of `jobs` covers a column the
 *   claim writes (migration 005), so each is a heap-only update. Every time decision uses the
 *   store's clock (nightshift_now(), the database's now(): migration 016), and the token comes from
 *   the database too, so no worker clock or randomness is trusted. Each claimed job leaves as one line
 *   of json text (see job-batch.ts).
 * - `started`: the claimed jobs' `job:started` events, one event-log row (migration 010).
 * - `leased`: the claim's one job_leases row: its jobs and their earliest lease end, which is what the
 *   rescue looks for, and whether any of them has a group (only the grouped statements take grouped
 *   jobs), which is what the group list looks for (sql/job-groups.ts `groupList`).
 *
 * Paused queues (`paused_queues`, migration 011): `paused` reads that table once per claim into an
 * array (an InitPlan over a handful of rows). `ready` skips their rows as a Filter of its index scan,
 * so the plan stays the ordered index scan; `due` still locks their due rows and `picked` leaves them
 * out, so they are promoted to `queued` and wait there. Caveat: a claim from all queues walks past
 * the ready rows of a paused queue that sort ahead of the first unpaused one; with a queue filter a
 * paused queue is dropped from the list before any scan, at no cost per row.
 *
 * With a queue filter, `job_queue_ready_queue_idx` (queue first) is scanned once per queue through a
 * LATERAL join, each scan in claim order and stopped by its own LIMIT; a plain `queue = ANY(...)` would
 * force PostgreSQL 15 to read and sort every queued row of those queues. Due rows are found the same
 * way in `job_queue_scheduled_queue_idx`, then the earliest PROMOTE_LIMIT of all those queues are kept.
 */

import { jobClaimBatchSelect, jobClaimLine } from './job-batch.js';
import {
  jobClaimAdmitAndTake,
  jobClaimFullQueues,
  jobClaimLeanPick,
  jobClaimLimited,
  jobClaimKeyColumns,
  jobClaimKeyOpen,
  jobClaimQueueSlotTaken,
  jobClaimQueueSlots,
} from './concurrency-limits.js';
import { jobEventInsert } from './events.js';
import {
  jobClaimGroupColumns,
  jobClaimGroupCursorSet,
  jobClaimGroups,
  type GroupClaimScope,
} from './job-groups.js';
import {
  jobClaimGroupOfferedSets,
  jobClaimLabelsFit,
  jobClaimOfferedSets,
  jobClaimReadyLabeled,
} from './worker-labels.js';

// The locking scans' limits are sub-selects, so the planner cannot read their values. With a known
// limit it compares the ordered index scan against reading every matching row and sorting them, and it
// picks the sort whenever its row estimate is below the limit: on a table never analyzed (estimate
// 0.5%), or analyzed while the queue was nearly empty, that is every claim against a backlog it has
// not counted. Seen: a 200-job claim took 7-10 ms against 20,000 queued jobs (a bitmap scan of all of
// them, then a sort) instead of 2.5-3.5 ms, for the first five runs on each connection, until the
// generic plan took over. An unknown limit is costed as a tenth of the rows, which makes the ordered
// scan the cheaper plan whatever the statistics say (pinned by test/postgres/claim-plan.test.ts).
const SCAN_LIMIT = '(SELECT $2::integer)';
// Due scheduled rows locked per claim: all of them compete in claim order (so a due high-priority job
// wins over earlier-due low-priority ones), and the losers are promoted. Bounded so that a burst of a
// million jobs due at midnight is promoted a few hundred rows per claim, never in one long statement.
const PROMOTE_LIMIT = '(SELECT greatest($2::integer, 256))';

// Every UPDATE of jobs targets rows by `id = ANY(ARRAY(...))`: a primary-key lookup whatever the
// planner believes about a CTE's row count. A join against the CTE let it choose a hash join over a
// sequential scan of the whole table (seen in EXPLAIN at 20,000 rows; with generic plans the LIMIT is
// unknown). The queue rows are reached by the addresses the locking scans returned.
// Concurrency limits (sql/concurrency-limits.ts) narrow the candidates down to `picked`.

// Worker labels (sql/worker-labels.ts): a labelled worker's claim adds the rows of `ready_labeled`,
// and its grouped walk the grouped rows of the sets it meets; every other claim takes only jobs
// without requirements. Grouped candidates (sql/job-groups.ts), in the grouped statements only, come
// after the ungrouped ones; a grouped due row is only promoted, and takes its turns from the next
// claim on.
interface ClaimVariant {
  /** The parameter holding a labelled worker's labels (sorted text[]); null for a worker without. */
  labels: string | null;
  /** The grouped walk's scope; null in the statements without the grouped part. */
  groups: GroupClaimScope | null;
  /** Whether the statement admits against queue limits, rates and keys; false: the lean claim. */
  limits: boolean;
  /** Whether it claims from the queues $4 only; false: from every queue. */
  restricted: boolean;
}

// The columns of every candidate row, after row_id, id, priority, run_at, queue.
const CANDIDATE_COLUMNS = `${jobClaimKeyColumns}, requires, ${jobClaimGroupColumns}`;

const CLAIM_TAIL = (s: string, { labels, groups, limits, restricted }: ClaimVariant): string => {
  const candidates = `SELECT * FROM (SELECT * FROM ready UNION ALL ${labels === null ? '' : 'SELECT * FROM ready_labeled UNION ALL '}SELECT * FROM due WHERE group_key IS NULL${
    groups === null ? '' : ' UNION ALL SELECT * FROM grouped'
  }) u
     WHERE queue <> ALL((SELECT names FROM paused)::text[]) AND ${jobClaimLabelsFit(labels)}`;
  return `${groups === null ? '' : `${jobClaimGroups(s, groups, labels, limits)}, `}${
    limits
      ? jobClaimAdmitAndTake(s, candidates, groups !== null)
      : jobClaimLeanPick(candidates, groups !== null)
  }, ${groups === null ? '' : `${jobClaimGroupCursorSet(s, groups)}, `}promoted_rows AS (
    UPDATE ${s}.job_queue q SET state = 'queued'
    WHERE q.ctid = ANY(ARRAY(SELECT row_id FROM due EXCEPT ALL SELECT row_id FROM picked))
    RETURNING q.id
  ), promoted AS (
    UPDATE ${s}.jobs j SET state = 'queued', updated_at = ${s}.nightshift_now()
    WHERE j.id = ANY(ARRAY(SELECT id FROM promoted_rows))
  ), taken AS (
    DELETE FROM ${s}.job_queue q WHERE q.ctid = ANY(ARRAY(SELECT row_id FROM picked)) RETURNING q.id
  ), lease AS (
    SELECT gen_random_uuid() AS token
  ), claimed AS (
    UPDATE ${s}.jobs j
    SET state = 'running',
        attempt = j.attempt + 1,
        lease_token = (SELECT token FROM lease),
        lease_expires_at = ${s}.nightshift_now() + coalesce(j.lease_ms, $3) * interval '1 millisecond',
        started_at = ${s}.nightshift_now(),
        finished_at = NULL,
        worker_id = $1,
        queue_slot = ${limits ? jobClaimQueueSlotTaken : 'false'},
        updated_at = ${s}.nightshift_now()
    WHERE j.id = ANY(ARRAY(SELECT id FROM taken))
    RETURNING j.id, j.task, j.queue, j.attempt, j.schedule_id, j.lease_expires_at, ${jobClaimLine} AS line${
      groups === null ? '' : ', j.group_key'
    }
  ), started AS (${jobEventInsert(s, 'claimed', { type: "'job:started'", attempt: 'attempt', state: "'running'" })}
  ), leased AS (
    INSERT INTO ${s}.job_leases (token, worker_id, expires_at, job_ids, grouped)
    SELECT (SELECT token FROM lease), $1, min(lease_expires_at), array_agg(id),
           ${groups === null ? 'false' : 'bool_or(group_key IS NOT NULL)'}
    FROM claimed
    HAVING count(*) > 0
  )
  ${jobClaimBatchSelect(s, groups !== null, labels, limits, restricted)}`;
};

// The paused queues, read once per claim (a handful of rows, no lock: a pause committed before the
// claim's snapshot is obeyed, one committed during it applies from the next claim), and the queues at
// their limit, whose rows the claim locks (sql/concurrency-limits.ts): both are skipped alike.
// The lean claim locks no queue row: it only looks whether any of its queues has a limit or a rate
// (`limited`), and then takes nothing (its scans do not run) and says so.
const PAUSED = (s: string, restricted: boolean, limits: boolean): string =>
  limits
    ? `${jobClaimQueueSlots(s, restricted)},
  paused AS (SELECT ARRAY(SELECT queue FROM ${s}.paused_queues UNION ALL ${jobClaimFullQueues}) AS names)`
    : `${jobClaimLimited(s, restricted)},
  paused AS (SELECT ARRAY(SELECT queue FROM ${s}.paused_queues) AS names)`;

// A ready scan's row filter: its key has a free slot (the lean claim takes no keyed row, but it keeps
// the test: the key probe runs only for keyed rows, and its cost per row is what makes the planner
// keep the ordered index scan when fresh statistics count the whole backlog; without it, a
// 100-job lean claim read and sorted all 20,000 queued rows); in the lean claim, nothing is scanned
// once `limited` found a limited queue (a one-time filter).
const readyOpen = (s: string, limits: boolean): string =>
  `${jobClaimKeyOpen(s, 'job_queue')}${limits ? '' : ' AND NOT (SELECT found FROM limited)'}`;
const dueOpen = (limits: boolean): string => (limits ? '' : ' AND NOT (SELECT found FROM limited)');

// A labelled worker's requirement sets, of ungrouped rows and of grouped ones (sql/worker-labels.ts).
const offeredSets = (s: string, labels: string | null): string =>
  labels === null ? '' : `${jobClaimOfferedSets(s, labels)}, ${jobClaimGroupOfferedSets(s, labels)}, `;

// Every queue but the paused and full ones, in the grouped walk (its queue compared bytewise).
const ALL_QUEUES: GroupClaimScope = {
  queueSet: "''",
  open: (q) => `${q} COLLATE "C" <> ALL((SELECT names FROM paused)::text[])`,
};
// The claim's open queues, in the grouped walk; `cursor` the parameter of their cursor's key.
const someQueues = (cursor: string): GroupClaimScope => ({
  queueSet: cursor,
  open: (q) => `${q} COLLATE "C" = ANY(ARRAY(SELECT name FROM open_queues))`,
});

/**
 * Claim from every queue. $1 worker id, $2 limit, $3 default lease ms; `labeled`: $4 the worker's
 * labels (sorted text[]). With `grouped`, grouped jobs take the places left by turns
 * (sql/job-groups.ts); without, they are left waiting and the answer says whether any is.
 */
const claimFromAll = (s: string, labeled: boolean, grouped: boolean, limits = true): string => {
  const labels = labeled ? '$4' : null;
  return `
  WITH RECURSIVE ${PAUSED(s, false, limits)}, ${offeredSets(s, labels)}ready AS (
    SELECT ctid AS row_id, id, priority, run_at, queue, ${CANDIDATE_COLUMNS} FROM ${s}.job_queue
    WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL
      AND queue <> ALL((SELECT names FROM paused)::text[]) AND ${readyOpen(s, limits)}
    ORDER BY priority DESC, run_at, id
    LIMIT ${SCAN_LIMIT}
    FOR UPDATE SKIP LOCKED
  ), ${labels === null ? '' : `${jobClaimReadyLabeled(s, false, SCAN_LIMIT)}, `}due AS (
    SELECT ctid AS row_id, id, priority, run_at, queue, ${CANDIDATE_COLUMNS} FROM ${s}.job_queue
    WHERE state = 'scheduled' AND run_at <= ${s}.nightshift_now()${dueOpen(limits)}
    ORDER BY run_at, id
    LIMIT ${PROMOTE_LIMIT}
    FOR UPDATE SKIP LOCKED
  ), ${CLAIM_TAIL(s, { labels, groups: grouped ? ALL_QUEUES : null, limits, restricted: false })}`;
};

/**
 * Claim from some queues. $1 worker id, $2 limit, $3 default lease ms, $4 queue names; `labeled`: $5
 * the worker's labels (sorted text[]); `grouped`: the next parameter, the queues' cursor key
 * (fair-turns.ts `groupCursorKey`).
 */
const claimFromSome = (s: string, labeled: boolean, grouped: boolean, limits = true): string => {
  const labels = labeled ? '$5' : null;
  return `
  WITH RECURSIVE ${PAUSED(s, true, limits)}, ${offeredSets(s, labels)}open_queues AS (
    SELECT name FROM unnest($4::text[]) AS u(name) WHERE name <> ALL((SELECT names FROM paused)::text[])
  ), ready AS (
    SELECT r.* FROM open_queues AS q
    CROSS JOIN LATERAL (
      SELECT ctid AS row_id, id, priority, run_at, queue, ${CANDIDATE_COLUMNS} FROM ${s}.job_queue
      WHERE state = 'queued' AND queue = q.name AND requires IS NULL AND group_key IS NULL
        AND ${readyOpen(s, limits)}
      -- The same order as priority DESC, spelled as job_queue_ready_queue_idx's expression: only that
      -- index yields it, so the planner cannot take job_queue_ready_idx plus a queue filter (a generic
      -- plan guesses a queue's share, and for a rare queue behind a big backlog that scan reads the
      -- backlog).
      ORDER BY -(priority::bigint), run_at, id
      LIMIT ${SCAN_LIMIT}
      FOR UPDATE SKIP LOCKED
    ) r
  ), ${labels === null ? '' : `${jobClaimReadyLabeled(s, true, SCAN_LIMIT)}, `}due AS (
    -- Each queue's due head in due order (job_queue_scheduled_queue_idx, migration 006), then the
    -- earliest of them: a filter on queue over the all-queue index would let the planner read and
    -- sort every due row whenever it expects few.
    SELECT d.* FROM open_queues AS q
    CROSS JOIN LATERAL (
      SELECT ctid AS row_id, id, priority, run_at, queue, ${CANDIDATE_COLUMNS} FROM ${s}.job_queue
      WHERE state = 'scheduled' AND queue = q.name AND run_at <= ${s}.nightshift_now()${dueOpen(limits)}
      ORDER BY run_at, id
      LIMIT ${PROMOTE_LIMIT}
      FOR UPDATE SKIP LOCKED
    ) d
    ORDER BY d.run_at, d.id
    LIMIT ${PROMOTE_LIMIT}
  ), ${CLAIM_TAIL(s, {
    labels,
    groups: grouped ? someQueues(labeled ? '$6' : '$5') : null,
    limits,
    restricted: true,
  })}`;
};

/**
 * The lean claims: from every queue ($1 worker id, $2 limit, $3 default lease ms) or from the queues
 * $4, for a worker without labels while no grouped job waits. They take only jobs without a
 * concurrency key, and nothing while one of their queues has a limit or a rate; their answer's
 * `limits_needed` then tells the store to claim with the full statements (postgres/job-claim.ts).
 * Without the admission CTEs, the key probes and the queue rows' locks, a claim is cheaper to plan
 * and to run (docs/PERFORMANCE.md).
 */
export const jobClaimLean = (s: string): string => claimFromAll(s, false, false, false);
export const jobClaimLeanFromQueues = (s: string): string => claimFromSome(s, false, false, false);
/** The lean claims with the grouped part: grouped jobs by turns after the others, keyed ones left. */
export const jobClaimGroupedLean = (s: string): string => claimFromAll(s, false, true, false);
export const jobClaimGroupedLeanFromQueues = (s: string): string => claimFromSome(s, false, true, false);
/** Claim from every queue, jobs without a group only (see claimFromAll); `labeled`: $4 the labels. */
export const jobClaim = (s: string, labeled = false): string => claimFromAll(s, labeled, false);
/** Claim from some queues, jobs without a group only (see claimFromSome); `labeled`: $5 the labels. */
export const jobClaimFromQueues = (s: string, labeled = false): string => claimFromSome(s, labeled, false);
/** Claim from every queue, grouped jobs by turns after the others (see claimFromAll). */
export const jobClaimGrouped = (s: string, labeled = false): string => claimFromAll(s, labeled, true);
/**
 * Claim from some queues, grouped jobs by turns after the others (see claimFromSome): the cursor key
 * is $5, or $6 after a labelled worker's labels.
 */
export const jobClaimGroupedFromQueues = (s: string, labeled = false): string =>
  claimFromSome(s, labeled, true);
