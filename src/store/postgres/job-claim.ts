/**
 * Claiming jobs and renewing their leases. A claim is one statement per batch (FOR UPDATE SKIP LOCKED
 * in sql/job-claim.ts) answering one text value that job-batch.ts decodes.
 */
import type { ClaimedJob, JobClaimParams, JobLeaseRenewParams, JobLeaseRenewResult } from '../store.js';
import type { PostgresConnection } from './connection.js';
import { decodeClaimedBatch, type ClaimedBatchRow } from './job-batch.js';
import { isUuid } from './job-row.js';

/** `jobClaim`: moves up to `limit` due jobs to `running` for `workerId`. */
export async function jobClaim(conn: PostgresConnection, params: JobClaimParams): Promise<ClaimedJob[]> {
  const limit = Math.floor(params.limit);
  if (limit <= 0 || params.queues?.length === 0) return [];
  const leaseMs = Math.round(params.leaseMs);
  // Labels (sql/worker-labels.ts): a worker offering none takes only jobs without requirements.
  const labels = params.labels !== undefined && params.labels.length > 0 ? params.labels : null;
  const rows =
    params.queues === undefined
      ? await conn.rows<ClaimedBatchRow>(labels === null ? conn.sql.jobClaim : conn.sql.jobClaimLabeled, [
          params.workerId,
          limit,
          leaseMs,
          ...(labels === null ? [] : [labels]),
        ])
      : await conn.rows<ClaimedBatchRow>(
          labels === null ? conn.sql.jobClaimFromQueues : conn.sql.jobClaimFromQueuesLabeled,
          [
            params.workerId,
            limit,
            leaseMs,
            // A queue named twice would be scanned twice, and its rows (locked by this statement
            // already, so not skipped) would take two places in the batch.
            [...new Set(params.queues)],
            ...(labels === null ? [] : [labels]),
          ],
        );
  const claimed = decodeClaimedBatch(rows[0], params.workerId, leaseMs);
  if (claimed.length > 0) conn.eventsWritten();
  return claimed;
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
