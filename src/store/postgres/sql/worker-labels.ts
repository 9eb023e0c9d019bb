/**
 * Worker labels in the claim (migrations 017, 018 and 019): a job whose `requires` is not NULL is
 * claimed only by a worker offering every label of it. Kept to fragments that the claim statements (sql/job-claim.ts)
 * splice in, so the claim of a worker without labels differs from the claim before labels by one
 * `requires IS NULL` per scan (the ready indexes are partial on it) and nothing else.
 *
 * A worker with labels ($N, its sorted labels as text[]):
 * - `label_sets`: the distinct requirement sets among queued jobs, found by a recursive walk of
 *   `job_queue_ready_labels_idx` that jumps from one set to the next (one index probe per set, never
 *   a walk of a set's jobs);
 * - `offered_sets`: those the worker meets (`requires <@ labels`: every required label is offered);
 * - `ready_labeled`: per offered set (per queue too, with a queue filter), its first `limit` rows in
 *   claim order, under FOR UPDATE SKIP LOCKED like the plain `ready` scan. Sets it does not meet are
 *   never walked: a labelled claim reads one probe per distinct set plus, per offered set, the rows
 *   it locks (and any it walks past, as the plain scan does: full keys, paused queues).
 * Grouped jobs, with requirements or without, are left to the grouped walk (sql/job-groups.ts),
 * whose labelled rows have their own index and sets (`jobClaimGroupOfferedSets`). Due scheduled rows
 * are tested by `jobClaimLabelsFit` in the candidates: one whose labels the worker lacks is promoted
 * to `queued` (like a paused queue's) and waits there for a worker that has them.
 */
import { jobClaimKeyColumns, jobClaimKeyOpen } from './concurrency-limits.js';
import { jobClaimGroupColumns } from './job-groups.js';

/** The candidate rows a claim may take: none with requirements, or ($N given) those `labels` meets. */
export const jobClaimLabelsFit = (labels: string | null): string =>
  labels === null ? 'requires IS NULL' : `(requires IS NULL OR requires <@ ${labels}::text[])`;

// The requirement sets among the ready rows of one ready index, one probe per distinct set: `grouped`
// picks job_queue_ready_group_labels_idx (grouped rows) over job_queue_ready_labels_idx. The walk
// starts from the empty set, which no job stores (no requirements is NULL) and which sorts before
// every other: so the first probe is the same ranged descent (`requires > ...`) as every later one.
// A first probe without that range was planned, with statistics taken while the table was small, as a
// read of every labelled ready row through the queue-led index and a sort of them all (5,005 rows in
// test/postgres/hot-plans.test.ts), growing with the labelled backlog. Each probe is a call of
// nightshift_next_requirement_set (migration 021), which plans it with sorts off: inline, a replanning
// with such statistics chose to read every labelled row after the cursor and sort them.
const setWalk = (s: string, name: string, grouped: boolean): string => `${name} AS (
    SELECT '{}'::text[] AS requires
    UNION ALL
    SELECT ${s}.nightshift_next_requirement_set(l.requires, ${grouped})
    FROM ${name} l WHERE l.requires IS NOT NULL
  )`;

/** `label_sets` and `offered_sets` (see above); needs `WITH RECURSIVE`. */
export const jobClaimOfferedSets = (
  s: string,
  labels: string,
): string => `${setWalk(s, 'label_sets', false)}, offered_sets AS (
    SELECT requires FROM label_sets WHERE requires <> '{}' AND requires <@ ${labels}::text[]
  )`;

/**
 * `group_label_sets` and `group_offered_sets`: the same for grouped rows, the sets a labelled worker's
 * grouped walk reads beside the rows without requirements (sql/job-groups.ts); needs `WITH RECURSIVE`.
 * Unread, so never run, while the claim leaves grouped jobs no place.
 */
export const jobClaimGroupOfferedSets = (
  s: string,
  labels: string,
): string => `${setWalk(s, 'group_label_sets', true)}, group_offered_sets AS (
    SELECT requires FROM group_label_sets WHERE requires <> '{}' AND requires <@ ${labels}::text[]
  )`;

/**
 * `ready_labeled`: the first `scanLimit` rows of each offered set in claim order, from every queue but
 * the paused and full ones (`restricted` false), or from each of `open_queues` (true).
 */
export const jobClaimReadyLabeled = (s: string, restricted: boolean, scanLimit: string): string =>
  restricted
    ? `ready_labeled AS (
    SELECT r.* FROM open_queues AS q CROSS JOIN offered_sets AS o
    CROSS JOIN LATERAL (
      SELECT ctid AS row_id, id, priority, run_at, queue, ${jobClaimKeyColumns}, requires, ${jobClaimGroupColumns}
      FROM ${s}.job_queue
      WHERE state = 'queued' AND queue = q.name AND requires = o.requires AND group_key IS NULL
        AND ${jobClaimKeyOpen(s, 'job_queue')}
      -- job_queue_ready_labels_queue_idx's order (see the plain per-queue scan in job-claim.ts).
      ORDER BY -(priority::bigint), run_at, id
      LIMIT ${scanLimit}
      FOR UPDATE SKIP LOCKED
    ) r
  )`
    : `ready_labeled AS (
    SELECT r.* FROM offered_sets AS o
    CROSS JOIN LATERAL (
      SELECT ctid AS row_id, id, priority, run_at, queue, ${jobClaimKeyColumns}, requires, ${jobClaimGroupColumns}
      FROM ${s}.job_queue
      WHERE state = 'queued' AND requires = o.requires AND group_key IS NULL
        AND queue <> ALL((SELECT names FROM paused)::text[]) AND ${jobClaimKeyOpen(s, 'job_queue')}
      ORDER BY priority DESC, run_at, id
      LIMIT ${scanLimit}
      FOR UPDATE SKIP LOCKED
    ) r
  )`;
