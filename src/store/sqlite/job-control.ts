/** Operator actions on one job: cancel and manual retry. */
import type { Job } from '../../job.js';
import { isFinalState } from '../../job.js';
import type { LeaseRef } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { toJob, type JobRow } from './job-row.js';
import {
  JOB_CANCEL_REQUEST,
  JOB_CANCEL_REQUESTED,
  JOB_CANCEL_WAITING,
  JOB_RETRY,
} from './sql/job-control.js';
import { JOB_GET } from './sql/job-read.js';

/** What `jobCancel` reports. */
export type CancelResult = {
  outcome: 'cancelled' | 'cancel_requested' | 'already_final' | 'not_found';
  job?: Job;
};

/** What `jobRetry` reports. */
export type RetryResult = { outcome: 'retried' | 'not_retryable' | 'not_found'; job?: Job };

/** Cancels a waiting job at once, or flags a running one for its worker to stop. */
export async function jobCancel(conn: SqliteConnection, id: string): Promise<CancelResult> {
  const result = await conn.write((now): CancelResult => {
    const before = conn.stmt(JOB_GET).get(id) as JobRow | undefined;
    if (!before) return { outcome: 'not_found' };
    if (isFinalState(before.state)) return { outcome: 'already_final', job: toJob(before) };
    const running = before.state === 'running';
    conn.stmt(running ? JOB_CANCEL_REQUEST : JOB_CANCEL_WAITING).run({ id, now });
    const after = toJob(conn.stmt(JOB_GET).get(id) as JobRow);
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
    const statement = conn.stmt(JOB_CANCEL_REQUESTED);
    const cancelRequested: string[] = [];
    for (const { id, leaseToken } of leases) {
      if (statement.get({ id, leaseToken }) !== undefined) cancelRequested.push(id);
    }
    return { cancelRequested };
  });
}

/** Requeues a failed or cancelled job, due now, with one more attempt allowed. */
export async function jobRetry(conn: SqliteConnection, id: string): Promise<RetryResult> {
  const result = await conn.write((now): RetryResult => {
    const before = conn.stmt(JOB_GET).get(id) as JobRow | undefined;
    if (!before) return { outcome: 'not_found' };
    if (conn.stmt(JOB_RETRY).run({ id, now }).changes === 0)
      return { outcome: 'not_retryable', job: toJob(before) };
    return { outcome: 'retried', job: toJob(conn.stmt(JOB_GET).get(id) as JobRow) };
  });
  if (result.job && result.outcome === 'retried') conn.emit('job:ready', { queue: result.job.queue });
  return result;
}
