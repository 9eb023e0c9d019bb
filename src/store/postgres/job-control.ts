/**
 * Operator actions on jobs: cancel, retry and delete one job, the same for every job matching filters
 * (in bounded batches, each its own statement), and the cancel check a polling worker makes.
 */
import { inBatches } from '../batches.js';
import type { JobState } from '../../job.js';
import {
  WAITING_SETS,
  type JobCancelCheckParams,
  type JobCancelMatchingParams,
  type JobCancelMatchingResult,
  type JobCancelResult,
  type JobDeleteResult,
  type JobIdParams,
  type JobRetryMatchingParams,
  type JobRetryResult,
} from '../store.js';
import type { PostgresConnection } from './connection.js';
import { jobGet, matchValues } from './job-read.js';
import { isUuid, toJob, type JobRow } from './job-row.js';

/** `jobCancel`: cancels a waiting job at once, or flags a running one for its worker to stop. */
export async function jobCancel(conn: PostgresConnection, params: JobIdParams): Promise<JobCancelResult> {
  if (!isUuid(params.id)) return { outcome: 'not_found' };
  const [row] = await conn.rows<JobRow & { previous_state: JobState }>(conn.sql.jobCancel, [
    params.id,
    conn.notify.channel,
    conn.notify.origin,
  ]);
  if (!row) return { outcome: 'not_found' };
  if (row.id === null) {
    const job = await jobGet(conn, { id: params.id });
    return job ? { outcome: 'already_final', job } : { outcome: 'not_found' };
  }
  const job = toJob(row);
  if (job.state === 'cancelled') {
    conn.emit('job:finished', { id: job.id, state: job.state });
    conn.eventsWritten();
    return { outcome: 'cancelled', job };
  }
  conn.emit('job:cancel_requested', { id: job.id });
  return { outcome: 'cancel_requested', job };
}

/** `jobCancelCheck`: the current attempts among `leases` whose job was asked to cancel. */
export async function jobCancelCheck(
  conn: PostgresConnection,
  params: JobCancelCheckParams,
): Promise<{ cancelRequested: string[] }> {
  const leases = params.leases.filter((l) => isUuid(l.id) && isUuid(l.leaseToken));
  if (leases.length === 0) return { cancelRequested: [] };
  const rows = await conn.rows<{ id: string }>(conn.sql.jobCancelCheck, [
    leases.map((l) => l.id),
    leases.map((l) => l.leaseToken),
  ]);
  return { cancelRequested: rows.map((r) => r.id) };
}

/** `jobRetry`: requeues a failed or cancelled job. */
export async function jobRetry(conn: PostgresConnection, params: JobIdParams): Promise<JobRetryResult> {
  if (!isUuid(params.id)) return { outcome: 'not_found' };
  const [row] = await conn.rows<JobRow>(conn.sql.jobRetry, [
    params.id,
    conn.notify.channel,
    conn.notify.origin,
  ]);
  if (row) {
    conn.emit('job:ready', { queue: row.queue });
    conn.eventsWritten();
    return { outcome: 'retried', job: toJob(row) };
  }
  const job = await jobGet(conn, { id: params.id });
  return job ? { outcome: 'not_retryable', job } : { outcome: 'not_found' };
}

/** `jobDelete`: deletes a final job with its runs, steps and log lines. */
export async function jobDelete(conn: PostgresConnection, params: JobIdParams): Promise<JobDeleteResult> {
  if (!isUuid(params.id)) return { outcome: 'not_found' };
  const [row] = await conn.rows<{ deleted: number; present: boolean }>(conn.sql.jobDelete, [params.id]);
  if (row?.deleted === 1) return { outcome: 'deleted' };
  return { outcome: row?.present === true ? 'not_final' : 'not_found' };
}

/** `jobRetryMatching`: requeues failed (or cancelled) jobs matching the filters, batch by batch. */
export async function jobRetryMatching(
  conn: PostgresConnection,
  params: JobRetryMatchingParams,
): Promise<{ retried: number }> {
  const { match } = params;
  let after: string | null = null;
  const retried = await inBatches(params.limit, async (size) => {
    const [row] = await conn.rows<{
      picked: number;
      last: string | null;
      changed: number;
      queues: string[];
    }>(conn.sql.jobRetryMatching, [
      match.state ?? 'failed',
      match.queue ?? null,
      match.task ?? null,
      after,
      size,
      conn.notify.channel,
      conn.notify.origin,
      ...matchValues(match),
    ]);
    after = row?.last ?? after;
    for (const queue of row?.queues ?? []) conn.emit('job:ready', { queue });
    if ((row?.changed ?? 0) > 0) conn.eventsWritten();
    return { seen: row?.picked ?? 0, changed: row?.changed ?? 0 };
  });
  return { retried };
}

/** `jobCancelMatching`: cancels waiting jobs and flags running ones matching the filters, batch by batch. */
export async function jobCancelMatching(
  conn: PostgresConnection,
  params: JobCancelMatchingParams,
): Promise<JobCancelMatchingResult> {
  const { match } = params;
  const filters = [match.queue ?? null, match.task ?? null];
  let cancelled = 0;
  const statements = {
    later: conn.sql.jobCancelMatchingLater,
    due: conn.sql.jobCancelMatchingDue,
    queued: conn.sql.jobCancelMatchingQueued,
  };
  for (const { set, reads } of WAITING_SETS) {
    if (match.state !== undefined && match.state !== reads) continue;
    const statement = statements[set];
    cancelled += await inBatches(params.limit - cancelled, async (size) => {
      const [row] = await conn.rows<{ picked: number; ids: string[] }>(statement, [
        ...filters,
        size,
        conn.notify.channel,
        conn.notify.origin,
        ...matchValues(match),
      ]);
      for (const id of row?.ids ?? []) conn.emit('job:finished', { id, state: 'cancelled' });
      if ((row?.ids.length ?? 0) > 0) conn.eventsWritten();
      return { seen: row?.picked ?? 0, changed: row?.ids.length ?? 0 };
    });
  }
  let cancelRequested = 0;
  if (match.state === undefined || match.state === 'running') {
    cancelRequested = await inBatches(params.limit - cancelled, async (size) => {
      const rows = await conn.rows(conn.sql.jobCancelMatchingRunning, [
        ...filters,
        size,
        ...matchValues(match),
      ]);
      return { seen: rows.length, changed: rows.length };
    });
  }
  return { cancelled, cancelRequested };
}
