/**
 * Fair claiming by group (migrations 014 and 015, docs/TENANCY.md): the claim's walk over the ready
 * (queue, group) pairs in jobs_ready_group (and, for a worker with labels, jobs_ready_group_labels),
 * and the reads and settings of groups. Each step of the walk is one index descent per stream that
 * lands on the next pair's head: its next job in claim order.
 */
import { jobClaimFullQueues, jobClaimKeyOpen } from './concurrency-limits.js';

/**
 * Whether any grouped job without requirements is ready: one probe of jobs_ready_group, so claims
 * without groups skip the rest (a labelled worker also looks for the sets it meets, below).
 */
export const jobClaimGroupAny = `
SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NULL) AS any`;

/**
 * The first requirement set (canonical JSON text) after @after among ready grouped jobs: one probe of
 * jobs_ready_group_labels.
 */
export const jobClaimGroupLabelSetNext = `
SELECT requires FROM jobs
WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NOT NULL AND requires > @after
ORDER BY requires LIMIT 1`;

/** Queues whose jobs no claim may start now: paused, at their limit, or out of starts (@now). */
export const jobClaimGroupClosedQueues = `
SELECT queue FROM paused_queues UNION SELECT queue FROM (${jobClaimFullQueues})`;

/** The cursor of a set of queues (fair-turns.ts `groupCursorKey`). */
export const jobClaimGroupCursor = `
SELECT queue, group_key AS "group", used FROM job_group_cursors WHERE queue_set = @queueSet`;

/** Moves the cursor of a set of queues to the pair that had the claim's last turn. */
export const jobClaimGroupCursorSet = `
INSERT INTO job_group_cursors (queue_set, queue, group_key, used) VALUES (@queueSet, @queue, @group, @used)
ON CONFLICT (queue_set) DO UPDATE SET queue = excluded.queue, group_key = excluded.group_key,
  used = excluded.used`;

// A pair's head as a candidate, with the group's weight and whether the head may start now (due, its
// key open); `open` needs the head's own columns, so it is a column of the step, not a filter.
const HEAD = `SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit, group_key AS "group",
  coalesce((SELECT weight FROM job_groups g WHERE g.group_key = jobs.group_key), 1) AS weight,
  (run_at <= @now AND ${jobClaimKeyOpen}) AS open
FROM jobs`;
const PAIR_ORDER = 'ORDER BY queue, group_key, priority DESC, run_at, id LIMIT 1';

/**
 * The statements of one stream of grouped jobs: those without requirements (jobs_ready_group), or
 * those requiring exactly the set @requires (jobs_ready_group_labels, which leads with it). A worker
 * walks the first stream, and a labelled one also each set it meets, merging their answers
 * (job-groups.ts).
 */
export interface GroupStream {
  /** The head of the pair (@queue, @group), if it has ready jobs. */
  head: string;
  /** The head of the next pair of queue @queue after group @group. */
  nextInQueue: string;
  /** The head of the first pair of the next queue after @queue ('' for the first pair of all). */
  nextQueue: string;
  /**
   * The next @limit jobs of the pair (@queue, @group) that may start now, in claim order: a walk of
   * the stream's index that skips jobs of full keys (their rows are walked past).
   */
  ready: string;
}

const groupStream = (requires: string): GroupStream => {
  const ready = `state = 'queued' AND group_key IS NOT NULL AND ${requires}`;
  return {
    head: `${HEAD}
WHERE ${ready} AND queue = @queue AND group_key = @group
${PAIR_ORDER}`,
    nextInQueue: `${HEAD}
WHERE ${ready} AND queue = @queue AND group_key > @group
${PAIR_ORDER}`,
    nextQueue: `${HEAD}
WHERE ${ready} AND queue > @queue
${PAIR_ORDER}`,
    ready: `
SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit, group_key AS "group" FROM jobs
WHERE ${ready} AND queue = @queue AND group_key = @group
  AND run_at <= @now AND ${jobClaimKeyOpen}
ORDER BY priority DESC, run_at, id
LIMIT @limit`,
  };
};

/** The grouped jobs without requirements (jobs_ready_group). */
export const jobClaimGroupPlain = groupStream('requires IS NULL');
/** The grouped jobs requiring exactly @requires (jobs_ready_group_labels). */
export const jobClaimGroupLabeled = groupStream('requires = @requires');

/**
 * Groups after @after by name with ready or running jobs or a weight, at most @limit, with their
 * counts; @running 1 keeps only groups with running jobs. Ready jobs are the queued ones, counted from
 * jobs_ready_group and jobs_ready_group_labels, and the scheduled ones due at @now (the store's clock),
 * which read queued before a claim promotes them (README "Job states"), from jobs_scheduled up to
 * @now; running ones from jobs_lease: the read is bounded by the grouped backlog, the due jobs and the
 * running jobs, like the queue list.
 */
export const groupList = `
WITH queued AS (
  SELECT group_key, sum(n) AS n FROM (
    SELECT group_key, count(*) AS n FROM jobs INDEXED BY jobs_ready_group
    WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NULL GROUP BY group_key
    UNION ALL
    SELECT group_key, count(*) FROM jobs INDEXED BY jobs_ready_group_labels
    WHERE state = 'queued' AND group_key IS NOT NULL AND requires IS NOT NULL GROUP BY group_key
    UNION ALL
    SELECT group_key, count(*) FROM jobs INDEXED BY jobs_scheduled
    WHERE state = 'scheduled' AND run_at <= @now AND group_key IS NOT NULL GROUP BY group_key)
  GROUP BY group_key
), running AS (
  SELECT group_key, count(*) AS n FROM jobs INDEXED BY jobs_lease
  WHERE state = 'running' AND group_key IS NOT NULL GROUP BY group_key
), names AS (
  SELECT group_key FROM queued UNION SELECT group_key FROM running UNION SELECT group_key FROM job_groups
)
SELECT n.group_key AS "group", coalesce(g.weight, 1) AS weight, coalesce(q.n, 0) AS queued,
       coalesce(r.n, 0) AS running
FROM names n
LEFT JOIN job_groups g ON g.group_key = n.group_key
LEFT JOIN queued q ON q.group_key = n.group_key
LEFT JOIN running r ON r.group_key = n.group_key
WHERE n.group_key > @after AND (@running = 0 OR r.n > 0)
ORDER BY n.group_key LIMIT @limit`;

/** Sets a group's weight; a group never enqueued gets its row now. */
export const groupSetWeight = `
INSERT INTO job_groups (group_key, weight) VALUES (@group, @weight)
ON CONFLICT (group_key) DO UPDATE SET weight = excluded.weight`;

/** Removes a group's weight: back to 1. */
export const groupSetWeightDefault = `DELETE FROM job_groups WHERE group_key = @group`;
