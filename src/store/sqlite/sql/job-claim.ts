/** Claiming due jobs for a worker. */
import { jobClaimFullQueues, jobClaimKeyOpen } from './concurrency-limits.js';

/**
 * Moves due scheduled jobs (delayed, or waiting out a retry backoff) into the ready set. Bounded so a
 * claim never holds the write lock for one huge update after a long outage; the rest follow at the
 * next claims, oldest due first.
 */
export const jobClaimPromoteDue = `
UPDATE jobs SET state = 'queued', updated_at = @now
WHERE id IN (
  SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= @now ORDER BY run_at LIMIT @limit
)`;

/** Milliseconds from @now until the earliest scheduled job is due (jobs_scheduled); no row: none. */
export const jobClaimNextDue = `
SELECT run_at - @now AS wait FROM jobs WHERE state = 'scheduled' ORDER BY run_at LIMIT 1`;

/**
 * The next ready jobs without requirements (jobs with labels: sql/worker-labels.ts) and without a
 * group (grouped ones are claimed by turns, job-groups.ts) of all queues in claim order, when no queue
 * is paused: walks jobs_ready without a sort and without the paused-queue lookup; each walked row is
 * read for its queue and key, so jobs of full queues and full keys are skipped (concurrency-limits.ts).
 */
export const jobClaimReadySelect = `
SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit FROM jobs
WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL AND run_at <= @now
  AND queue NOT IN (${jobClaimFullQueues}) AND ${jobClaimKeyOpen}
ORDER BY priority DESC, run_at, id
LIMIT @limit`;

/**
 * The same while some queue is paused (migration 005): rows of paused queues are skipped by a lookup in
 * a table of a handful of rows, built once per statement. Each walked row is read for its queue, and a
 * paused queue's rows that sort ahead of the first unpaused one are still walked past.
 */
export const jobClaimReadySelectUnpaused = `
SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit FROM jobs
WHERE state = 'queued' AND requires IS NULL AND group_key IS NULL AND run_at <= @now AND queue NOT IN (SELECT queue FROM paused_queues)
  AND queue NOT IN (${jobClaimFullQueues}) AND ${jobClaimKeyOpen}
ORDER BY priority DESC, run_at, id
LIMIT @limit`;

/** Whether any queue is paused: one probe of a table of a handful of rows. */
export const jobClaimAnyPaused = `SELECT EXISTS (SELECT 1 FROM paused_queues) AS paused`;

/**
 * The next ready jobs without a group of one queue in claim order; walks jobs_ready_queue without a
 * sort. Nothing when the queue is paused: the test on @queue does not depend on the row, so SQLite
 * runs it once.
 */
export const jobClaimReadySelectQueue = `
SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit FROM jobs
WHERE state = 'queued' AND queue = @queue AND requires IS NULL AND group_key IS NULL AND run_at <= @now AND ${jobClaimKeyOpen}
  AND NOT EXISTS (SELECT 1 FROM paused_queues WHERE queue = @queue)
  AND @queue NOT IN (${jobClaimFullQueues})
ORDER BY priority DESC, run_at, id
LIMIT @limit`;

/** The rarely set columns (CLAIM_RARE_COLUMNS) that are NULL when unset: all but cancel_requested, 0. */
const CLAIM_RARE_NULLABLE = [
  'error',
  'idempotency_key',
  'concurrency_key',
  'lease_ms',
  'timeout_ms',
  'checkpoint',
  'schedule_id',
  'schedule_slot',
  'parent_id',
  'trace_context',
  'requires',
  'group_key',
];
/**
 * The claimed columns a job rarely sets (keys, overrides, a previous error, a checkpoint, its schedule
 * or parent, trace context, labels, group, a cancel request), in ClaimRare order (job-row.ts): one JSON array, or NULL
 * when all of them are unset, which is nearly every job. Read one by one, these 13 columns cost a
 * claim ~1.3 µs per job (of ~8) in better-sqlite3's conversion of each to a JavaScript value.
 */
const CLAIM_RARE_COLUMNS = ['cancel_requested', ...CLAIM_RARE_NULLABLE];

/**
 * Starts the attempts of a batch in one statement: `@ids` is a JSON array of the jobs' ids, `@slotted`
 * those of them that took a slot of their queue's limit; every attempt of the claim gets the claim's
 * fresh `@leaseToken` (a token names an attempt together with its job's id; a job's next claim gets
 * another), attempt + 1 and a lease on the store's clock. Returns only what the claimer cannot know
 * itself, in ClaimRow order (job-row.ts, read raw as arrays): state, worker, start, update, lease token
 * and lease end follow from the claim's own parameters, and finish and result are NULL on every running
 * row; the rarely set columns come folded into one value (CLAIM_RARE_COLUMNS). Against an UPDATE ...
 * RETURNING * per job decoded by toJob, a claim of 100 costs ~35 us of CPU per job instead of ~65. Each
 * id finds its job by primary key. The ids as a plain list (`IN`) instead of a join to [id, token,
 * slot] triples cost ~20% less per job (9.3 against 11.8 us for claims of 470).
 */
export const jobClaim = `
UPDATE jobs SET
  state = 'running',
  attempt = attempt + 1,
  lease_token = @leaseToken,
  queue_slot = id IN (SELECT value FROM json_each(@slotted)),
  lease_expires_at = @now + coalesce(lease_ms, @leaseMs),
  started_at = @now,
  worker_id = @workerId,
  updated_at = @now
WHERE id IN (SELECT value FROM json_each(@ids)) AND state = 'queued'
RETURNING id, task, queue, payload, priority, attempt, max_attempts, run_at, created_at,
  CASE WHEN cancel_requested = 0 AND coalesce(${CLAIM_RARE_NULLABLE.join(', ')}) IS NULL THEN NULL
       ELSE json_array(${CLAIM_RARE_COLUMNS.join(', ')}) END`;
