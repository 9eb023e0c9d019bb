/**
 * Claiming jobs and renewing their leases. A claim is one statement per batch (FOR UPDATE SKIP LOCKED
 * in sql/job-claim.ts) answering one text value that job-batch.ts decodes.
 */
import { groupCursorKey } from '../fair-turns.js';
import type { ClaimedJob, JobClaimParams, JobLeaseRenewParams, JobLeaseRenewResult } from '../store.js';
import type { PostgresConnection } from './connection.js';
import { decodeClaimedBatch, type ClaimedBatchRow } from './job-batch.js';
import { isUuid } from './job-row.js';

/**
 * `jobClaim`: moves up to `limit` due jobs to `running` for `workerId`. Grouped due jobs are only
 * promoted by a claim statement (they take their turns from the next one): when one promoted some and
 * its batch is short, a second statement claims the rest at once.
 */
export async function jobClaim(conn: PostgresConnection, params: JobClaimParams): Promise<ClaimedJob[]> {
  const limit = Math.floor(params.limit);
  if (limit <= 0 || params.queues?.length === 0) return [];
  const leaseMs = Math.round(params.leaseMs);
  const first = await claimBatch(conn, params, limit, leaseMs);
  let claimed = decodeClaimedBatch(first, params.workerId, leaseMs);
  if (first !== undefined && first.grouped_promoted > 0 && claimed.length < limit) {
    const second = await claimBatch(conn, params, limit - claimed.length, leaseMs);
    claimed = [...claimed, ...decodeClaimedBatch(second, params.workerId, leaseMs)];
  }
  if (claimed.length > 0) conn.eventsWritten();
  return claimed;
}

async function claimBatch(
  conn: PostgresConnection,
  params: JobClaimParams,
  limit: number,
  leaseMs: number,
): Promise<ClaimedBatchRow | undefined> {
  const rows =
    params.queues === undefined
      ? await conn.rows<ClaimedBatchRow>(conn.sql.jobClaim, [params.workerId, limit, leaseMs])
      : await conn.rows<ClaimedBatchRow>(conn.sql.jobClaimFromQueues, [
          params.workerId,
          limit,
          leaseMs,
          // A queue named twice would be scanned twice, and its rows (locked by this statement
          // already, so not skipped) would take two places in the batch.
          [...new Set(params.queues)],
          groupCursorKey(params.queues),
        ]);
  return rows[0];
}

/** `jobLeaseRenew`: extends the leases still current, on the caller's `tx` when given. */
export async function jobLeaseRenew(
  conn: PostgresConnection,
  params: JobLeaseRenewParams,
): Promise<JobLeaseRenewResult> {
  const leases = params.leases.filter((l) => isUuid(l.id) && isUuid(l.leaseToken));
  if (leases.length === 0) return { renewed: [] };
  const rows = await conn.rows<{ id: string; cancel_requested: boolean }>(
    conn.sql.jobLeaseRenew,
    [leases.map((l) => l.id), leases.map((l) => l.leaseToken), Math.round(params.leaseMs)],
    params.tx,
  );
  return { renewed: rows.map((r) => ({ id: r.id, cancelRequested: r.cancel_requested })) };
}
