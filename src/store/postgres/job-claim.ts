/**
 * Claiming jobs and renewing their leases. A claim is one statement per batch (FOR UPDATE SKIP LOCKED
 * in sql/job-claim.ts) answering one text value that job-batch.ts decodes.
 */
import { groupCursorKey } from '../fair-turns.js';
import type { ClaimedJob, JobClaimParams, JobLeaseRenewParams, JobLeaseRenewResult } from '../store.js';
import type { PostgresConnection } from './connection.js';
import { decodeClaimedBatch, type ClaimedBatchRow } from './job-batch.js';
import { isUuid } from './job-row.js';

// Statements one claim may take: see jobClaim.
const CLAIM_STATEMENTS = 3;

/**
 * `jobClaim`: moves up to `limit` due jobs to `running` for `workerId`. A short batch is claimed
 * further at once (up to CLAIM_STATEMENTS statements) when the statement promoted grouped due jobs
 * (they take their turns from the next statement on) or dealt groups more turns than they had jobs
 * (a group's turns go round, and one with few jobs left leaves the rest of its turns unused): the
 * next statement deals the remaining places from where this one stopped.
 */
export async function jobClaim(conn: PostgresConnection, params: JobClaimParams): Promise<ClaimedJob[]> {
  const limit = Math.floor(params.limit);
  if (limit <= 0 || params.queues?.length === 0) return [];
  const leaseMs = Math.round(params.leaseMs);
  let claimed: ClaimedJob[] = [];
  for (let statement = 0; statement < CLAIM_STATEMENTS && claimed.length < limit; statement += 1) {
    const row = await claimBatch(conn, params, limit - claimed.length, leaseMs);
    const batch = decodeClaimedBatch(row, params.workerId, leaseMs);
    claimed = statement === 0 ? batch : [...claimed, ...batch];
    if (row === undefined || (row.grouped_promoted === 0 && !row.grouped_short)) break;
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
