/** Claiming due jobs and renewing the leases of running attempts. */
import { randomUUID } from 'node:crypto';
import type { ClaimedJob, ClaimReport, JobClaimParams, JobLeaseRenewParams } from '../store.js';
import { GROUPED_LEFT_CLAIM_MS } from '../fair-turns.js';

import { appendJobEvents } from './event-log.js';
import { admitByLimits, type LimitedCandidate } from './limits.js';
import type { SqliteConnection } from './connection.js';
import { groupedJobs } from './job-groups.js';
import {
  toClaimedJob,
  toReadyCandidate,
  type ClaimRow,
  type RawReadyCandidate,
  type ReadyCandidate,
} from './job-row.js';
import * as sql from './sql/job-claim.js';
import * as groupSql from './sql/job-groups.js';
import * as jobLeaseSql from './sql/job-lease.js';
import * as labelSql from './sql/worker-labels.js';
import * as rateSql from './sql/rate-limits.js';

// At most this many due scheduled rows move to the ready set per claim. Promoting 1,000 took 10-40 ms
// on a shared 2-core machine, all of it under the write lock; 500 halves that, and a backlog after
// downtime drains over several claims, oldest due first. While it drains, a claim may take a queued
// job ahead of a not yet promoted one of higher priority.
const PROMOTE_BATCH = 500;

// Deals of grouped turns one claim may make: a deal whose groups had fewer jobs than turns (a group's
// turns go round, and one with few jobs left leaves the rest unused) is followed by another for the
// places left, from where it stopped, after its jobs are started.
const GROUP_DEALS = 3;

/**
 * Claims up to `limit` jobs in one IMMEDIATE transaction. SQLite has one writer at a time, so the
 * select-then-update cannot race another claimer: no job is handed out twice. Jobs without a group
 * come first, in claim order; grouped jobs take the places they leave, by turns between the groups
 * (job-groups.ts).
 */
export async function jobClaim(conn: SqliteConnection, params: JobClaimParams): Promise<ClaimedJob[]> {
  if (params.limit <= 0 || params.queues?.length === 0) return [];
  const { jobs, report } = await conn.write((now) => {
    conn.stmt(sql.jobClaimPromoteDue).run({ now, limit: PROMOTE_BATCH });
    const claims = new ClaimBatch(conn);
    claims.admit(readyJobs(conn, params, now), now);
    const rows: ClaimedJob[] = [];
    // The grouped requirement sets this worker meets, found once, when grouped jobs get places.
    let sets: string[] | undefined;
    // The last deal filled fewer places than it dealt turns: grouped jobs may be left ready.
    let groupedLeft = false;
    for (let deal = 0; deal < GROUP_DEALS && rows.length + claims.size < params.limit; deal += 1) {
      sets ??= offeredSets(conn, params.labels, groupSql.jobClaimGroupLabelSetNext);
      const grouped = groupedJobs(conn, params, now, params.limit - rows.length - claims.size, sets);
      claims.admit(grouped.jobs, now);
      groupedLeft = grouped.short;
      if (!grouped.short) break;
      rows.push(...claims.start(conn, params, now));
    }
    rows.push(...claims.start(conn, params, now));
    let nextDueInMs: number | null = null;
    if (rows.length < params.limit) {
      nextDueInMs = groupedLeft ? GROUPED_LEFT_CLAIM_MS : nextStartInMs(conn, params, now);
    }
    const report: ClaimReport = { limitsMet: claims.limitsMet, nextDueInMs };
    return { jobs: rows, report };
  });
  params.report?.(report);
  return jobs;
}

/**
 * For a short claim's report: milliseconds until the next scheduled job is due or a rate out of starts
 * allows one again, whichever is sooner; null for neither. The promotion at the claim's start made
 * every due job ready (at most PROMOTE_BATCH per claim, in due order), so the next one is in the
 * future unless more were due than one claim promotes. Read in the claim's transaction: the rates
 * it advanced are read as advanced.
 */
function nextStartInMs(conn: SqliteConnection, params: JobClaimParams, now: number): number | null {
  const due = conn.stmt(sql.jobClaimNextDue).get({ now }) as { wait: number } | undefined;
  const rate = conn.stmt(rateSql.jobClaimRateWait).get({
    now,
    queues: params.queues === undefined ? null : JSON.stringify(params.queues),
  }) as { wait: number | null };
  const waits = [due?.wait, rate.wait].filter((wait): wait is number => typeof wait === 'number');
  return waits.length === 0 ? null : Math.min(...waits);
}

/** Jobs admitted by a claim and not yet started, in the order admitted. */
class ClaimBatch {
  private ids: string[] = [];
  private slotted: string[] = [];
  /** Whether the claim met a limit (ClaimReport `limitsMet`). */
  limitsMet = false;

  constructor(private readonly conn: SqliteConnection) {}

  get size(): number {
    return this.ids.length;
  }

  /** Admits the candidates (in claim order) that their limits let start (limits.ts). */
  admit<T extends LimitedCandidate & { id: string }>(candidates: T[], now: number): void {
    const admission = admitByLimits(this.conn, candidates, now);
    if (admission.limitsMet) this.limitsMet = true;
    for (const job of admission.admitted) {
      this.ids.push(job.id);
      if (admission.queueSlot(job)) this.slotted.push(job.id);
    }
  }

  /** Starts the attempts of the jobs admitted since the last start, in the order admitted. */
  start(conn: SqliteConnection, params: JobClaimParams, now: number): ClaimedJob[] {
    if (this.ids.length === 0) return [];
    const leaseToken = randomUUID();
    const rows = conn.rawStmt(sql.jobClaim).all({
      ids: JSON.stringify(this.ids),
      slotted: JSON.stringify(this.slotted),
      leaseToken,
      now,
      leaseMs: params.leaseMs,
      workerId: params.workerId,
    }) as ClaimRow[];
    // RETURNING order is unspecified: put the jobs back in the order they were admitted.
    const rank = new Map(this.ids.map((id, index) => [id, index]));
    this.ids = [];
    this.slotted = [];
    rows.sort((a, b) => (rank.get(a[0]) ?? 0) - (rank.get(b[0]) ?? 0));
    const context = { workerId: params.workerId, now, defaultLeaseMs: params.leaseMs, leaseToken };
    const jobs = rows.map((row) => toClaimedJob(row, context));
    // The claim writes its own `job:started` events, one log row (migration 018).
    const started = jobs.map((job) => ({
      id: job.id,
      task: job.task,
      queue: job.queue,
      attempt: job.attempt,
      state: 'running',
      scheduleId: job.scheduleId,
    }));
    appendJobEvents(conn, conn.db, 'job:started', started, now);
    return jobs;
  }
}

/** The rows of one of the claim's ready walks, read raw (job-row.ts `RawReadyCandidate`). */
function readyRows(
  conn: SqliteConnection,
  select: string,
  values: Record<string, unknown>,
): ReadyCandidate[] {
  return (conn.rawStmt(select).all(values) as RawReadyCandidate[]).map(toReadyCandidate);
}

/**
 * The next `limit` ready jobs in claim order. From chosen queues: the first `limit` of each queue
 * (an index walk each), merged; the overall first `limit` are among them. A worker with labels also
 * walks each requirement set it meets (sql/worker-labels.ts) the same way, merged with the rest.
 */
function readyJobs(conn: SqliteConnection, params: JobClaimParams, now: number): ReadyCandidate[] {
  const { limit, queues } = params;
  const sets = offeredSets(conn, params.labels, labelSql.jobClaimLabelSetNext);
  let candidates: ReadyCandidate[];
  if (queues === undefined) {
    // Asked in the claim's write transaction, so a pause committed before it is obeyed exactly; with
    // nothing paused (the usual case) the walk reads only the ready index.
    const { paused } = conn.stmt(sql.jobClaimAnyPaused).get() as { paused: number };
    const select = paused === 0 ? sql.jobClaimReadySelect : sql.jobClaimReadySelectUnpaused;
    candidates = readyRows(conn, select, { now, limit });
    if (sets.length === 0) return candidates;
    for (const requires of sets) {
      candidates.push(...readyRows(conn, labelSql.jobClaimReadySelectLabels, { now, limit, requires }));
    }
  } else {
    candidates = [...new Set(queues)].flatMap((queue) => [
      ...readyRows(conn, sql.jobClaimReadySelectQueue, { now, queue, limit }),
      ...sets.flatMap((requires) =>
        readyRows(conn, labelSql.jobClaimReadySelectLabelsQueue, { now, queue, requires, limit }),
      ),
    ]);
    if (queues.length === 1 && sets.length === 0) return candidates;
  }
  return candidates
    .sort(
      (a, b) => b.priority - a.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .slice(0, limit);
}

/**
 * The requirement sets among queued jobs that `labels` meets (each required label offered), as stored
 * (canonical JSON text): one index probe per distinct set present (`next`: the sets of jobs without a
 * group, or of grouped ones), in the claim's transaction. None for a worker without labels.
 */
function offeredSets(conn: SqliteConnection, labels: string[] | undefined, next: string): string[] {
  if (labels === undefined || labels.length === 0) return [];
  const offered = new Set(labels);
  const sets: string[] = [];
  const probe = conn.stmt(next);
  // Every stored set is a JSON array, so its text sorts after the empty string.
  let after = '';
  for (;;) {
    const row = probe.get({ after }) as { requires: string } | undefined;
    if (row === undefined) return sets;
    after = row.requires;
    if ((JSON.parse(row.requires) as string[]).every((label) => offered.has(label))) sets.push(row.requires);
  }
}

/** `jobLeaseRenew`'s parameters other than the transaction handle. */
export type RenewParams = Omit<JobLeaseRenewParams, 'tx'>;

/** Extends every still-current lease in one transaction; stale tokens are left out of `renewed`. */
export function jobLeaseRenew(
  conn: SqliteConnection,
  params: RenewParams,
): Promise<{ renewed: Array<{ id: string; cancelRequested: boolean }> }> {
  if (params.leases.length === 0) return Promise.resolve({ renewed: [] });
  return conn.write((now) => renewLeases(conn, params, now));
}

/** The renewal's statements on the store's connection, inside whatever transaction is open there. */
export function renewLeases(
  conn: SqliteConnection,
  params: RenewParams,
  now: number,
): { renewed: Array<{ id: string; cancelRequested: boolean }> } {
  const renewed: Array<{ id: string; cancelRequested: boolean }> = [];
  for (const lease of params.leases) {
    const row = conn
      .stmt(jobLeaseSql.jobLeaseRenew)
      .get({ id: lease.id, leaseToken: lease.leaseToken, now, leaseMs: params.leaseMs }) as
      { id: string; cancel_requested: number } | undefined;
    if (row) renewed.push({ id: row.id, cancelRequested: row.cancel_requested !== 0 });
  }
  return { renewed };
}
