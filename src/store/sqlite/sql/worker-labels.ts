/**
 * Worker labels in the claim (migration 013): a job whose `requires` is not NULL is claimed only by a
 * worker offering every label of it. The claim of a worker without labels reads only jobs_ready and
 * jobs_ready_queue, which hold the jobs without requirements; a worker with labels also walks the
 * requirement sets it meets (job-claim.ts): it finds the sets present among queued jobs one index probe
 * at a time (`jobClaimLabelSetNext`), keeps those whose every label it offers, and reads each such set
 * in claim order. Sets it does not meet are never walked.
 */
import { jobClaimFullQueues, jobClaimKeyOpen } from './concurrency-limits.js';

/** The first requirement set (canonical JSON text) after @after among queued jobs: one probe of jobs_ready_labels. */
export const jobClaimLabelSetNext = `
SELECT requires FROM jobs
WHERE state = 'queued' AND requires IS NOT NULL AND group_key IS NULL AND requires > @after
ORDER BY requires LIMIT 1`;

/**
 * The next ready jobs requiring exactly @requires, of all queues, in claim order: walks that set in
 * jobs_ready_labels without a sort; paused and full queues and full keys skipped as in the plain walk.
 */
export const jobClaimReadySelectLabels = `
SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit FROM jobs
WHERE state = 'queued' AND requires = @requires AND group_key IS NULL AND run_at <= @now
  AND queue NOT IN (SELECT queue FROM paused_queues) AND queue NOT IN (${jobClaimFullQueues})
  AND ${jobClaimKeyOpen}
ORDER BY priority DESC, run_at, id
LIMIT @limit`;

/** The same for one queue: walks (@queue, @requires) in jobs_ready_labels_queue, covering. */
export const jobClaimReadySelectLabelsQueue = `
SELECT id, priority, run_at, queue, concurrency_key, concurrency_limit FROM jobs
WHERE state = 'queued' AND queue = @queue AND requires = @requires AND group_key IS NULL AND run_at <= @now
  AND ${jobClaimKeyOpen}
  AND NOT EXISTS (SELECT 1 FROM paused_queues WHERE queue = @queue)
  AND @queue NOT IN (${jobClaimFullQueues})
ORDER BY priority DESC, run_at, id
LIMIT @limit`;
