/** Fair claiming by group (migration 011, docs/TENANCY.md): the ready groups and their jobs. */
import { FULL_QUEUES, KEY_OPEN } from './concurrency-limits.js';

/** The first `@limit` groups with queued jobs in virtual-time order: a walk of job_groups_ready. */
export const GROUPS_READY = `
SELECT group_key AS "group", weight, queued, vtime FROM job_groups
WHERE queued > 0
ORDER BY vtime
LIMIT @limit`;

/**
 * The next `@limit` ready jobs of one group in claim order: a walk of jobs_ready_group. `@queues` (a
 * JSON array, or null for every queue) and paused or full queues are filters of that walk: a group's
 * rows of other queues that sort ahead are walked past. `+run_at` keeps the due-time test a filter:
 * as an index range, ANALYZE's statistics made SQLite skip-scan the group column instead.
 */
export const GROUP_READY_SELECT = `
SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit FROM jobs
WHERE state = 'queued' AND group_key = @group AND +run_at <= @now AND ${KEY_OPEN}
  AND (@queues IS NULL OR queue IN (SELECT value FROM json_each(@queues)))
  AND queue NOT IN (SELECT queue FROM paused_queues) AND queue NOT IN (${FULL_QUEUES})
ORDER BY priority DESC, run_at, id
LIMIT @limit`;

/**
 * Writes back the virtual times of the groups a claim dealt turns to, in one statement: `@times` is a
 * JSON array of [group, time]; each finds its row by primary key.
 */
export const GROUP_SET_VTIMES = `
UPDATE job_groups SET vtime = t.value ->> 1
FROM json_each(@times) AS t
WHERE job_groups.group_key = t.value ->> 0`;

/** Sets (@weight a number) or resets to 1 (null) a group's weight; a group never seen gets its row. */
export const GROUP_SET_WEIGHT = `
INSERT INTO job_groups (group_key, weight, vtime)
VALUES (@group, coalesce(@weight, 1), coalesce((SELECT min(vtime) FROM job_groups WHERE queued > 0), 0))
ON CONFLICT (group_key) DO UPDATE SET weight = excluded.weight`;

/** Groups after @after by name, with their weights and queued counts. */
export const GROUP_LIST = `
SELECT group_key AS "group", weight, queued FROM job_groups
WHERE group_key > @after ORDER BY group_key LIMIT @limit`;
