/** Operator actions on one job: cancel and manual retry. */
import { isFinalState } from '../../job.js';
import type { JobCancelResult, JobRetryResult, LeaseRef } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { toJob, type JobRow } from './job-row.js';
import { inBatches } from '../batches.js';
import { WAITING_SETS, type JobMatch } from '../store.js';
import { matchParams } from './job-read.js';
import * as sql from './sql/job-control.js';
import * as jobReadSql from './sql/job-read.js';

/** Cancels a waiting job at once, or flags a running one for its worker to stop. */
export async function jobCancel(conn: SqliteConnection, id: string): Promise<JobCancelResult> {
  const result = await conn.write((now): JobCancelResult => {
    const before = conn.stmt(jobReadSql.jobGet).get({ id, now }) as JobRow | undefined;
    if (!before) return { outcome: 'not_found' };
    if (isFinalState(before.state)) return { outcome: 'already_final', job: toJob(before) };
    const running = before.state === 'running';
    conn.stmt(running ? sql.jobCancelRequest : sql.jobCancelWaiting).run({ id, now });
    const after = toJob(conn.stmt(jobReadSql.jobGet).get({ id, now }) as JobRow);
    return { outcome: running ? 'cancel_requested' : 'cancelled', job: after };
  });
  if (result.outcome === 'cancelled') conn.emit('job:finished', { id, state: 'cancelled' });
  if (result.outcome === 'cancel_requested') conn.emit('job:cancel_requested', { id });
  return result;
}

/** Of these attempts, the current ones whose job was asked to cancel. */
export function jobCancelCheck(
  conn: SqliteConnection,
  leases: LeaseRef[],
): Promise<{ cancelRequested: string[] }> {
  return conn.read(() => {
    const statement = conn.stmt(sql.jobCancelCheck);
    const cancelRequested: string[] = [];
    for (const { id, leaseToken } of leases) {
      if (statement.get({ id, leaseToken }) !== undefined) cancelRequested.push(id);
    }
    return { cancelRequested };
  });
}

/** Requeues a failed or cancelled job, due now, with one more attempt allowed. */
export async function jobRetry(conn: SqliteConnection, id: string): Promise<JobRetryResult> {
  const result = await conn.write((now): JobRetryResult => {
    const before = conn.stmt(jobReadSql.jobGet).get({ id, now }) as JobRow | undefined;
    if (!before) return { outcome: 'not_found' };
    if (conn.stmt(sql.jobRetry).run({ id, now }).changes === 0)
      return { outcome: 'not_retryable', job: toJob(before) };
    return { outcome: 'retried', job: toJob(conn.stmt(jobReadSql.jobGet).get({ id, now }) as JobRow) };
  });
  if (result.job && result.outcome === 'retried') conn.emit('job:ready', { queue: result.job.queue });
  return result;
}

/** Deletes a final job with its runs and steps. */
export function jobDelete(
  conn: SqliteConnection,
  id: string,
): Promise<{ outcome: 'deleted' | 'not_final' | 'not_found' }> {
  return conn.write((now) => {
    if (conn.stmt(sql.jobDelete).run({ id }).changes === 1) return { outcome: 'deleted' as const };
    return {
      outcome:
        conn.stmt(jobReadSql.jobGet).get({ id, now }) === undefined
          ? ('not_found' as const)
          : ('not_final' as const),
    };
  });
}

/** Requeues failed (or cancelled) jobs matching the filters, in batches. */
export async function jobRetryMatching(
  conn: SqliteConnection,
  match: JobMatch<'failed' | 'cancelled'>,
  limit: number,
): Promise<{ retried: number }> {
  const retried = await inBatches(limit, async (size) => {
    const rows = await conn.write(
      (now) =>
        conn
          .stmt(sql.jobRetryMatching)
          .all({ ...matchParams(match), state: match.state ?? 'failed', limit: size, now }) as Array<{
          queue: string;
        }>,
    );
    for (const queue of new Set(rows.map((r) => r.queue))) conn.emit('job:ready', { queue });
    return { seen: rows.length, changed: rows.length };
  });
  return { retried };
}

/** Cancels waiting jobs and flags running ones matching the filters, in batches. */
export async function jobCancelMatching(
  conn: SqliteConnection,
  match: JobMatch<'scheduled' | 'queued' | 'running'>,
  limit: number,
): Promise<{ cancelled: number; cancelRequested: number }> {
  let cancelled = 0;
  for (const { set, reads } of WAITING_SETS) {
    if (match.state !== undefined && match.state !== reads) continue;
    cancelled += await inBatches(limit - cancelled, async (size) => {
      const rows = await conn.write(
        (now) =>
          conn
            .stmt(sql.jobCancelMatchingWaiting(set))
            .all({ ...matchParams(match), limit: size, now }) as Array<{
            id: string;
          }>,
      );
      for (const { id } of rows) conn.emit('job:finished', { id, state: 'cancelled' });
      return { seen: rows.length, changed: rows.length };
    });
  }
  let cancelRequested = 0;
  if (match.state === undefined || match.state === 'running') {
    cancelRequested = await inBatches(limit - cancelled, async (size) => {
      const rows = await conn.write((now) =>
        conn.stmt(sql.jobCancelMatchingRunning).all({ ...matchParams(match), limit: size, now }),
      );
      return { seen: rows.length, changed: rows.length };
    });
  }
  return { cancelled, cancelRequested };
}
