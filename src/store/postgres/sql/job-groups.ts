/**
 * Fair claiming by group in the claim statement (migrations 018 and 019, docs/TENANCY.md), and the
 * reads and settings of groups.
 *
 * The claim's grouped part, after its ungrouped candidates (sql/job-claim.ts), as CTEs:
 * - `group_places`: the places the ungrouped candidates leave of the batch. Zero: nothing below runs
 *   beyond one-time filters, so a claim filled by jobs without a group pays nothing for groups.
 * - `group_start`: the cursor of the claim's queues (job_group_cursors, one row per set of queues),
 *   and whether the cursor's pair (queue, group) still has turns of its visit left and may start its
 *   head now.
 * - `group_walk` (recursive): the ready pairs in (queue, group) order from the cursor, wrapping round
 *   once, one index descent each on job_queue_ready_group_idx, landing on the pair's head (its next
 *   job in claim order). A pair counts when its queue may be claimed from (not paused, not full,
 *   among the claim's queues) and its head's key is open; a queue that may not is jumped over whole.
 *   It stops once the counted pairs' turns cover the places, or when back at its start: then it holds
 *   every ready pair and the deal goes round it again.
 *   Worker labels (migration 019): job_queue_ready_group_idx holds only grouped rows without
 *   requirements, the walk of a worker without labels reads nothing else; a labelled worker's step
 *   also descends job_queue_ready_group_labels_idx once per requirement set it meets
 *   (`group_offered_sets`, sql/worker-labels.ts) and keeps the first head of them all, so a pair's head
 *   is its first row this worker may take and no row it may not take is read.
 * - `group_cycle`, `group_round`, `group_dealt`: the deal of fair-turns.ts `dealTurns`, in SQL.
 * - `group_heads`, `grouped`: each dealt pair's next jobs, each with its pair's place in the walk
 *   (`turn_rank`), which orders the grouped candidates after the ungrouped ones. A pair dealt one
 *   turn (the usual case with many groups) starts the head the walk found, locked by its address
 *   with SKIP LOCKED; when another claim holds it, or the pair was dealt more, a LATERAL scan of the
 *   same index under FOR UPDATE SKIP LOCKED takes its next jobs, as many as its turns (a full key's
 *   rows skipped as a filter).
 * - Queues and groups compare bytewise (`COLLATE "C"`, the index's order, migration 018).
 * - `group_cursor_set`: the cursor moved past the turns dealt, written after the keys' slots are
 *   taken (it waits on `picked`), so a claim locks the cursor row last; claims of the same queues wait
 *   on it only from that write to their commit. The cursor is read from the claim's snapshot: two
 *   claims of the same queues at once may walk from the same place and deal some pairs twice
 *   (SKIP LOCKED keeps their jobs apart), and the later write wins.
 *
 * The candidates' columns after those of concurrency-limits.ts: `jobClaimGroupColumns`.
 */
import { jobClaimKeyOpen } from './concurrency-limits.js';

/** The grouped columns of the ready and due candidates, after the key columns. */
export const jobClaimGroupColumns = 'group_key, NULL::integer AS turn_rank';

/** How the claim names its queue set and which queues it may take from. */
export interface GroupClaimScope {
  /** The cursor row's key: a literal or a parameter. */
  queueSet: string;
  /** The condition that queue `q` (an SQL expression, either collation) may be claimed from now. */
  open: (q: string) => string;
}

const PLACES = '(SELECT n FROM group_places)';
// The index's queue order (migration 018): bytewise, like the group column.
const QUEUE = 'queue COLLATE "C"';
// Weights are looked up only when some group has one: a probe per pair otherwise found nothing.
const WEIGHTED = '(SELECT weighted FROM group_places)';

// The grouped rows a worker may take: those without requirements (job_queue_ready_group_idx) and, for
// a labelled worker, those of each requirement set it meets (`group_offered_sets`, one walk of
// job_queue_ready_group_labels_idx each, which leads with the set). Each is one stream of rows in
// (queue, group, claim) order; a labelled worker's walk merges them.
const GROUPED = "state = 'queued' AND group_key IS NOT NULL";
const PAIR_ORDER = `${QUEUE}, group_key, priority DESC, run_at, id`;
const HEAD_COLUMNS = `ctid AS head, ${QUEUE} AS queue, group_key, concurrency_key, concurrency_limit`;

// The head of the pairs the WHERE selects, in (queue, group) order: one descent of the index, or, for
// a labelled worker (\`labels\` its parameter), one per stream, the first of their heads kept (a sort of
// one row per stream). A set's ORDER BY names \`requires\` first, its index's order: the planner does
// not see it as fixed by the set's value, and would otherwise sort the set's rows.
const head = (s: string, labels: string | null, where: string, wrapped: string): string =>
  labels === null
    ? `(
        SELECT ${HEAD_COLUMNS}, ${wrapped} AS wrapped
        FROM ${s}.job_queue
        WHERE ${GROUPED} AND requires IS NULL AND ${where}
        ORDER BY ${PAIR_ORDER}
        LIMIT 1)`
    : `(
        SELECT m.head, m.queue, m.group_key, m.concurrency_key, m.concurrency_limit, ${wrapped} AS wrapped
        FROM ((
          SELECT ${HEAD_COLUMNS}, priority, run_at, id
          FROM ${s}.job_queue
          WHERE ${GROUPED} AND requires IS NULL AND ${where}
          ORDER BY ${PAIR_ORDER}
          LIMIT 1)
          UNION ALL
          SELECT l.* FROM group_offered_sets o
          CROSS JOIN LATERAL (
            SELECT ${HEAD_COLUMNS}, priority, run_at, id
            FROM ${s}.job_queue
            WHERE ${GROUPED} AND requires = o.requires AND ${where}
            ORDER BY requires, ${PAIR_ORDER}
            LIMIT 1) l
        ) m
        ORDER BY m.queue, m.group_key, m.priority DESC, m.run_at, m.id
        LIMIT 1)`;

const CANDIDATE =
  'ctid AS row_id, id, priority, run_at, queue, concurrency_key, concurrency_limit, requires, group_key';

// The next \`turns\` rows of the dealt pair \`d\` that may start now, in claim order, under FOR UPDATE
// SKIP LOCKED (a full key's rows skipped as a filter); for a labelled worker each stream locks up to
// that many and the first of them all are kept (see ready_labeled in worker-labels.ts).
const pairRows = (s: string, labels: string | null): string => {
  const where = `${QUEUE} = d.queue AND group_key = d.group_key AND ${jobClaimKeyOpen(s, 'job_queue')}`;
  const plain = `SELECT ${CANDIDATE}
      FROM ${s}.job_queue
      WHERE ${GROUPED} AND requires IS NULL AND ${where}
      ORDER BY ${PAIR_ORDER}
      LIMIT d.turns
      FOR UPDATE SKIP LOCKED`;
  return labels === null
    ? plain
    : `SELECT m.* FROM (
        SELECT p.* FROM (${plain}) p
        UNION ALL
        SELECT l.* FROM group_offered_sets o
        CROSS JOIN LATERAL (
          SELECT ${CANDIDATE}
          FROM ${s}.job_queue
          WHERE ${GROUPED} AND requires = o.requires AND ${where}
          ORDER BY requires, ${PAIR_ORDER}
          LIMIT d.turns
          FOR UPDATE SKIP LOCKED) l
      ) m
      ORDER BY m.priority DESC, m.run_at, m.id
      LIMIT d.turns`;
};

/**
 * Whether grouped rows this worker may take are ready: one probe of job_queue_ready_group_idx, and
 * for a labelled worker (\`labels\`), whether it meets any requirement set among them.
 */
export const jobClaimGroupsWaiting = (s: string, labels: string | null): string =>
  `(EXISTS (SELECT 1 FROM ${s}.job_queue WHERE ${GROUPED} AND requires IS NULL)${
    labels === null ? '' : ' OR EXISTS (SELECT 1 FROM group_offered_sets)'
  })`;

// Turns of a dealt pair (alias c, of group_cycle) among the first `x` turns of the cycle, repeated
// when the walk holds all of it (r.total, of group_round; NULL otherwise).
const upTo = (x: string): string => `CASE WHEN r.total IS NULL
        THEN least(greatest(${x} - c.start_at, 0), c.weight)
        ELSE ${x} / r.total * c.weight + least(greatest(${x} % r.total - c.start_at, 0), c.weight) END`;

/**
 * The grouped CTEs, from `group_places` to `grouped`, after `ready` and `due` (whose ungrouped rows
 * take places first). $2 limit; `labels`: a labelled worker's labels (its parameter), whose statement
 * has `group_offered_sets` (worker-labels.ts), or null; `limits` false in the lean statement, whose
 * walk, like its scans, does not run once `limited` found a limited queue.
 */
export const jobClaimGroups = (
  s: string,
  scope: GroupClaimScope,
  labels: string | null,
  limits: boolean,
): string => {
  const places = `greatest(0, $2::integer - (SELECT count(*) FROM ready)::integer
      - (SELECT count(*) FROM due WHERE group_key IS NULL AND ${scope.open('due.queue')})::integer)`;
  return `group_places AS (
    SELECT ${limits ? places : `CASE WHEN (SELECT found FROM limited) THEN 0 ELSE ${places} END`} AS n,
      EXISTS (SELECT 1 FROM ${s}.job_groups) AS weighted
  ), group_start AS (
    SELECT h.head, coalesce(c.queue, '') AS queue, coalesce(c.group_key, '') AS group_key, coalesce(c.used, 0) AS used,
           c.queue IS NOT NULL AS has_cursor, coalesce(g.weight, 1) AS weight,
           coalesce(h.queue IS NOT NULL AND ${scope.open('h.queue')} AND ${jobClaimKeyOpen(s, 'h')}
                    AND c.used < coalesce(g.weight, 1), false) AS visit
    FROM (SELECT 1) one
    LEFT JOIN ${s}.job_group_cursors c ON c.queue_set = ${scope.queueSet}
    LEFT JOIN LATERAL ${head(s, labels, `${QUEUE} = c.queue AND group_key = c.group_key`, 'false')} h ON true
    LEFT JOIN ${s}.job_groups g ON g.group_key = c.group_key AND ${WEIGHTED}
    WHERE ${PLACES} > 0 AND ${jobClaimGroupsWaiting(s, labels)}
  ), group_walk (step, head, queue, group_key, weight, visit, wrapped, covered) AS (
    SELECT 0, head, queue, group_key, weight, visit, false,
           CASE WHEN visit THEN least(weight - used, ${PLACES}) ELSE 0 END
    FROM group_start
    UNION ALL
    SELECT w.step + 1, n.head, n.queue, n.group_key, n.weight, n.visit, n.wrapped,
           w.covered + CASE WHEN n.visit THEN least(n.weight, ${PLACES}) ELSE 0 END
    FROM group_walk w
    CROSS JOIN LATERAL (
      SELECT h.head, h.queue, h.group_key, coalesce(g.weight, 1) AS weight, h.wrapped,
             ${scope.open('h.queue')} AND ${jobClaimKeyOpen(s, 'h')} AS visit
      FROM (${head(s, labels, `(${QUEUE}, group_key) > (w.queue, w.group_key) AND ${scope.open('w.queue')}`, 'w.wrapped')}
        UNION ALL ${head(s, labels, `${QUEUE} > w.queue AND NOT ${scope.open('w.queue')}`, 'w.wrapped')}
        UNION ALL ${head(s, labels, 'NOT w.wrapped AND (SELECT has_cursor FROM group_start)', 'true')}
        LIMIT 1) h
      LEFT JOIN ${s}.job_groups g ON g.group_key = h.group_key AND ${WEIGHTED}
    ) n
    WHERE w.covered < ${PLACES}
      -- Back at the start: the cursor's pair ends the round unless it opened it.
      AND NOT (n.wrapped
               AND (n.queue, n.group_key) >= ((SELECT queue FROM group_start), (SELECT group_key FROM group_start))
               AND ((n.queue, n.group_key) <> ((SELECT queue FROM group_start), (SELECT group_key FROM group_start))
                    OR (SELECT visit FROM group_start)))
  ), group_cycle AS (
    SELECT step, head, queue, group_key, weight, (sum(weight) OVER (ORDER BY step) - weight)::integer AS start_at
    FROM group_walk WHERE visit
  ), group_round AS (
    SELECT CASE WHEN (SELECT covered FROM group_walk ORDER BY step DESC LIMIT 1) < ${PLACES}
                THEN (SELECT sum(weight) FROM group_cycle)::integer END AS total,
           CASE WHEN (SELECT visit FROM group_start) THEN (SELECT used FROM group_start) ELSE 0 END AS used
  ), group_dealt AS (
    SELECT c.step, c.head, c.queue, c.group_key, c.weight, c.start_at,
           ${upTo(`(r.used + ${PLACES})`)} - ${upTo('r.used')} AS turns,
           CASE WHEN r.total IS NULL THEN r.used + ${PLACES} - 1
                ELSE (r.used + ${PLACES} - 1) % r.total END AS last_turn
    FROM group_cycle c CROSS JOIN group_round r
  ), group_heads AS (
    SELECT ${CANDIDATE}
    FROM ${s}.job_queue
    WHERE ctid = ANY(ARRAY(SELECT head FROM group_dealt WHERE turns = 1)) AND state = 'queued'
    FOR UPDATE SKIP LOCKED
  ), grouped AS (
    SELECT h.*, d.step AS turn_rank FROM group_heads h JOIN group_dealt d ON d.head = h.row_id
    UNION ALL
    SELECT r.*, d.step AS turn_rank
    FROM group_dealt d
    CROSS JOIN LATERAL (
      ${pairRows(s, labels)}
    ) r
    WHERE d.turns > 1 OR (d.turns = 1 AND NOT EXISTS (SELECT 1 FROM group_heads h WHERE h.row_id = d.head))
  )`;
};

/** The cursor's write, after `picked` (see above). */
export const jobClaimGroupCursorSet = (s: string, scope: GroupClaimScope): string => `group_cursor_set AS (
    INSERT INTO ${s}.job_group_cursors AS c (queue_set, queue, group_key, used)
    SELECT ${scope.queueSet}, d.queue, d.group_key, d.last_turn - d.start_at + 1 FROM group_dealt d
    WHERE d.start_at <= d.last_turn AND d.last_turn < d.start_at + d.weight
      AND (SELECT count(*) FROM picked) >= 0
    ON CONFLICT (queue_set) DO UPDATE
    SET queue = excluded.queue, group_key = excluded.group_key, used = excluded.used
  )`;

/**
 * Groups after $1 by name with ready or running jobs or a weight, at most $2, with their counts; $3
 * true keeps only groups with running jobs. Ready jobs are counted from job_queue: the queued ones by
 * its two grouped ready indexes (without and with requirements), and the scheduled ones due by the
 * store's clock, which read queued before a claim promotes them (README "Job states"), by the range of
 * job_queue_scheduled_idx up to now, never the jobs due later. Running ones through the job_leases
 * rows of the claims that took a grouped job (or may have: `grouped` NULL, migration 025): a row keeps
 * every id of its claim until the rescue's sweep after its last job ended (`jobLeaseSweep`), so
 * reading them all would look up every job claimed since, grouped or not, finished or not. The read
 * is bounded by the grouped backlog, the due jobs and the jobs of the grouped claims still held.
 */
export const groupList = (s: string): string => `
  WITH queued AS (
    SELECT group_key, count(*)::integer AS n FROM (
      SELECT group_key FROM ${s}.job_queue WHERE ${GROUPED} AND requires IS NULL
      UNION ALL
      SELECT group_key FROM ${s}.job_queue WHERE ${GROUPED} AND requires IS NOT NULL
      UNION ALL
      SELECT group_key FROM ${s}.job_queue
      WHERE state = 'scheduled' AND run_at <= ${s}.nightshift_now() AND group_key IS NOT NULL
    ) q GROUP BY group_key
  ), running AS (
    SELECT j.group_key, count(*)::integer AS n FROM ${s}.jobs j
    WHERE j.id = ANY(ARRAY(SELECT unnest(job_ids) FROM ${s}.job_leases WHERE grouped IS NOT FALSE))
      AND j.state = 'running' AND j.group_key IS NOT NULL
    GROUP BY j.group_key
  ), names AS (
    SELECT group_key FROM queued UNION SELECT group_key FROM running UNION SELECT group_key FROM ${s}.job_groups
  )
  SELECT n.group_key AS "group", coalesce(g.weight, 1) AS weight, coalesce(q.n, 0) AS queued,
         coalesce(r.n, 0) AS running
  FROM names n
  LEFT JOIN ${s}.job_groups g ON g.group_key = n.group_key
  LEFT JOIN queued q ON q.group_key = n.group_key
  LEFT JOIN running r ON r.group_key = n.group_key
  WHERE n.group_key > $1 AND (NOT $3 OR r.n > 0)
  ORDER BY n.group_key LIMIT $2`;

/** Sets the weight of group $1 to $2; a group never enqueued gets its row now. */
export const groupSetWeight = (s: string): string => `
  INSERT INTO ${s}.job_groups (group_key, weight) VALUES ($1, $2)
  ON CONFLICT (group_key) DO UPDATE SET weight = excluded.weight`;

/** Removes the weight of group $1: back to 1. */
export const groupSetWeightDefault = (s: string): string =>
  `DELETE FROM ${s}.job_groups WHERE group_key = $1`;
