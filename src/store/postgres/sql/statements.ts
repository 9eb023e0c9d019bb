/**
 * Every statement of the store, rendered once for one schema. Hot-path statements whose generic plan is
 * as good as a custom one carry a name, so node-postgres prepares them once per connection (parse and
 * plan skipped on every later call); the name is only valid with this store's own pool, never on a
 * caller's transaction handle. Behind a transaction pooler nothing is named: consecutive statements of
 * a connection may run on different server connections, where a name would be missing or taken.
 */
import type pg from 'pg';
import * as claim from './job-claim.js';
import * as control from './job-control.js';
import * as health from './database-health.js';
import * as finish from './job-finish.js';
import * as insert from './job-insert.js';
import * as lease from './job-lease.js';
import * as maintenance from './job-maintenance.js';
import * as read from './job-read.js';
import * as steps from './job-steps.js';

/** A statement and, for prepared ones, its name. */
export interface Statement {
  text: string;
  name?: string;
}

/** The rendered statements of a store. */
export type Statements = ReturnType<typeof renderStatements>;

/** Renders the statements for `quotedSchema`; `prepare` false leaves every statement unnamed. */
export function renderStatements(quotedSchema: string, prepare = true) {
  const s = quotedSchema;
  const prepared = (name: string, text: string): Statement =>
    prepare ? { name: `nightshift_${name}`, text } : { text };
  const plain = (text: string): Statement => ({ text });
  return {
    jobInsertMany: prepared('insert_jobs', insert.jobInsertMany(s)),
    // Prepared as the unfenced insert: handlers that enqueue children one call at a time run it once
    // per child. Its fence is a primary-key lookup whatever the statistics (hot-plans.test.ts).
    jobInsertManyFenced: prepared('insert_jobs_fenced', insert.jobInsertMany(s, true)),
    jobInsertManyExisting: plain(insert.jobInsertManyExisting(s)),
    jobClaimLean: prepared('claim_jobs_lean', claim.jobClaimLean(s)),
    jobClaimLeanFromQueues: prepared('claim_jobs_lean_queues', claim.jobClaimLeanFromQueues(s)),
    jobClaimGroupedLean: prepared('claim_jobs_grouped_lean', claim.jobClaimGroupedLean(s)),
    jobClaimGroupedLeanFromQueues: prepared(
      'claim_jobs_grouped_lean_queues',
      claim.jobClaimGroupedLeanFromQueues(s),
    ),
    jobClaim: prepared('claim_jobs', claim.jobClaim(s)),
    jobClaimFromQueues: prepared('claim_jobs_queues', claim.jobClaimFromQueues(s)),
    jobClaimLabeled: prepared('claim_jobs_labeled', claim.jobClaim(s, true)),
    jobClaimFromQueuesLabeled: prepared('claim_jobs_queues_labeled', claim.jobClaimFromQueues(s, true)),
    jobClaimGrouped: prepared('claim_jobs_grouped', claim.jobClaimGrouped(s)),
    jobClaimGroupedFromQueues: prepared('claim_jobs_grouped_queues', claim.jobClaimGroupedFromQueues(s)),
    jobClaimGroupedLabeled: prepared('claim_jobs_grouped_labeled', claim.jobClaimGrouped(s, true)),
    jobClaimGroupedFromQueuesLabeled: prepared(
      'claim_jobs_grouped_queues_labeled',
      claim.jobClaimGroupedFromQueues(s, true),
    ),
    // Not prepared on purpose: they join a jobs scan with unnest($ids). A custom plan knows the batch
    // size and walks the primary key per id; the generic plan PostgreSQL switches a named statement to
    // after five runs guesses ten elements and may scan every running row, re-running unnest for each
    // (EXPLAIN EXECUTE under force_generic_plan: 17 ms instead of 1.6 ms per 100 jobs).
    jobFinishMany: plain(finish.jobFinishMany(s)),
    // Prepared: its one join (unnest -> primary key) has the same generic plan as custom ones, and
    // planning it cost ~1 ms per batch, as much as executing 50 completions.
    jobFinishManyComplete: prepared('complete_jobs', finish.jobFinishManyComplete(s)),
    jobFinishManyCompleteNoLimits: prepared(
      'complete_jobs_no_limits',
      finish.jobFinishManyCompleteNoLimits(s),
    ),
    jobLeaseRenew: plain(lease.jobLeaseRenew(s)),
    jobCheckpointSave: prepared('save_checkpoint', lease.jobCheckpointSave(s)),
    jobStepGet: prepared('get_step', steps.jobStepGet(s)),
    jobStepSave: prepared('save_step', steps.jobStepSave(s)),
    jobGet: prepared('get_job', read.jobGet(s)),
    jobList: plain(read.jobList(s)),
    jobListWalk: plain(read.jobListWalk(s)),
    jobListDead: plain(read.jobListDead(s)),
    jobNextDue: plain(read.jobNextDue(s)),
    jobCountByQueue: plain(read.jobCountByQueue(s)),
    jobFinishedCountByQueue: plain(read.jobFinishedCountByQueue(s)),
    jobRunList: plain(read.jobRunList(s)),
    jobCancel: plain(control.jobCancel(s)),
    jobCancelCheck: plain(control.jobCancelCheck(s)),
    jobRetry: plain(control.jobRetry(s)),
    jobDelete: plain(control.jobDelete(s)),
    jobRetryMatching: plain(control.jobRetryMatching(s)),
    jobCancelMatchingLater: plain(control.jobCancelMatchingWaiting(s, 'later')),
    jobCancelMatchingDue: plain(control.jobCancelMatchingWaiting(s, 'due')),
    jobCancelMatchingQueued: plain(control.jobCancelMatchingWaiting(s, 'queued')),
    jobCancelMatchingRunning: plain(control.jobCancelMatchingRunning(s)),
    // Prepared: every worker's rescuer runs it every few seconds, mostly to find nothing, and parsing and
    // planning its text cost more than running it (~1.1 ms of planning per run, idle). Every lookup in
    // it goes by index whatever the statistics (pinned with the generic plan in hot-plans.test.ts).
    jobRescueLapsed: prepared('rescue_lapsed', maintenance.jobRescueLapsed(s)),
    // Prepared for the same reason: an idle cluster's rescuers run it after each sweep that found nothing.
    jobIdleCheck: prepared('idle_check', maintenance.jobIdleCheck(s)),
    jobLeaseSweep: prepared('lease_sweep', maintenance.jobLeaseSweep(s)),
    jobPrune: plain(maintenance.jobPrune(s)),
    databaseHealthTables: plain(health.databaseHealthTables),
    databaseHealthOldestTransaction: plain(health.databaseHealthOldestTransaction),
  } satisfies Record<string, Statement>;
}

/** Anything that runs a query: the pool, a pooled client, or a caller's transaction client. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}
