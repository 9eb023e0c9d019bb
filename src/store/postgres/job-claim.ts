/**
 * Claiming jobs and renewing their leases. A claim is one statement per batch (FOR UPDATE SKIP LOCKED
 * in sql/job-claim.ts) answering one text value that job-batch.ts decodes.
 */
import { GROUPED_LEFT_CLAIM_MS, groupCursorKey } from '../fair-turns.js';
import type { ClaimedJob, JobClaimParams, JobLeaseRenewParams, JobLeaseRenewResult } from '../store.js';
import type { PostgresConnection } from './connection.js';
import { decodeClaimedBatch, type ClaimedBatchRow } from './job-batch.js';
import { isUuid } from './job-row.js';

// Statements one claim may take: see jobClaim.
const CLAIM_STATEMENTS = 3;
// Full claims in a row that must meet no limited queue and no keyed job before the lean statements
// are tried again: a lean claim that meets them takes only part of its batch and costs a second
// statement, so a store whose jobs use keys stays on the full statements.
const LEAN_RETRY_CLAIMS = 16;

/**
 * `jobClaim`: moves up to `limit` due jobs to `running` for `workerId`.
 *
 * Two pairs of statements: without grouped jobs, the claim statements carry no part for them (jobs
 * without a group pay one index probe when a batch is short, nothing else); while grouped jobs wait,
 * the grouped ones (sql/job-groups.ts). The store runs the pair its last claims called for
 * (`conn.claimGroups`), and its batch's answer says whether grouped jobs wait. A short batch is
 * claimed further at once, up to CLAIM_STATEMENTS statements, when a statement without the grouped
 * part found grouped jobs waiting, promoted grouped due jobs (they take their turns from the next
 * statement on), or dealt groups more turns than they had jobs (a group's turns go round, and one
 * with few jobs left leaves the rest unused): the next statement deals the places left from where
 * this one stopped.
 *
 * A worker without labels claims with the lean statements (sql/job-claim.ts `jobClaimLean`, with the
 * grouped part `jobClaimGroupedLean`) while its last claims met no limited queue and no keyed job; a
 * lean claim that meets one says so (`limits_needed`), and a short batch is then claimed further at
 * once with the full statement. The lean statements never take a keyed job or a job of a limited
 * queue, so the limits stay exact whichever statement runs.
 */
export async function jobClaim(conn: PostgresConnection, params: JobClaimParams): Promise<ClaimedJob[]> {
  const limit = Math.floor(params.limit);
  if (limit <= 0 || params.queues?.length === 0) return [];
  const leaseMs = Math.round(params.leaseMs);
  // Labels (sql/worker-labels.ts): a worker offering none takes only jobs without requirements.
  const labels = params.labels !== undefined && params.labels.length > 0 ? params.labels : null;
  let claimed: ClaimedJob[] = [];
  let limitsMet = false;
  let nextDueInMs: number | null = null;
  // The last statement was grouped and filled fewer places than it dealt turns (fair-turns.ts).
  let groupedLeft = false;
  for (let statement = 0; statement < CLAIM_STATEMENTS && claimed.length < limit; statement += 1) {
    const grouped = conn.claimGroups;
    const lean = labels === null && conn.claimLimitsFor === 0;
    const row = await claimBatch(conn, params, labels, limit - claimed.length, leaseMs, grouped, lean);
    const batch = decodeClaimedBatch(row, params.workerId, leaseMs);
    claimed = statement === 0 ? batch : [...claimed, ...batch];
    if (row === undefined) break;
    conn.claimGroups = row.grouped_waiting || row.grouped_promoted > 0;
    limitsMet ||= row.limits_needed;
    nextDueInMs = row.next_due_ms;
    groupedLeft = grouped && row.grouped_short;
    if (row.limits_needed) conn.claimLimitsFor = LEAN_RETRY_CLAIMS;
    else if (!lean && conn.claimLimitsFor > 0) conn.claimLimitsFor -= 1;
    const again =
      (lean && row.limits_needed) ||
      (grouped ? row.grouped_promoted > 0 || row.grouped_short : conn.claimGroups);
    if (!again) break;
  }
  if (claimed.length > 0) conn.eventsWritten();
  // Grouped jobs may be left ready (GROUPED_LEFT_CLAIM_MS): the groups dealt had fewer jobs than turns
  // in every statement, or a claim of the same queues at once walked the groups from the same cursor
  // and the jobs it holds were skipped here (SKIP LOCKED) instead of the walk going on past them as an
  // ungrouped scan does. Seen: a worker's two claim lanes each short at once, 49,000 grouped jobs left
  // waiting for the 30 s poll.
  if (groupedLeft && claimed.length < limit) nextDueInMs = GROUPED_LEFT_CLAIM_MS;
  params.report?.({ limitsMet, nextDueInMs });
  return claimed;
}

async function claimBatch(
  conn: PostgresConnection,
  params: JobClaimParams,
  labels: string[] | null,
  limit: number,
  leaseMs: number,
  grouped: boolean,
  lean: boolean,
): Promise<ClaimedBatchRow | undefined> {
  const sql = conn.sql;
  const labelled = labels === null ? [] : [labels];
  if (params.queues === undefined) {
    const statement =
      labels === null
        ? grouped
          ? lean
            ? sql.jobClaimGroupedLean
            : sql.jobClaimGrouped
          : lean
            ? sql.jobClaimLean
            : sql.jobClaim
        : grouped
          ? sql.jobClaimGroupedLabeled
          : sql.jobClaimLabeled;
    return (await conn.rows<ClaimedBatchRow>(statement, [params.workerId, limit, leaseMs, ...labelled]))[0];
  }
  // A queue named twice would be scanned twice, and its rows (locked by this statement already, so
  // not skipped) would take two places in the batch.
  const queues = [...new Set(params.queues)];
  const statement =
    labels === null
      ? grouped
        ? lean
          ? sql.jobClaimGroupedLeanFromQueues
          : sql.jobClaimGroupedFromQueues
        : lean
          ? sql.jobClaimLeanFromQueues
          : sql.jobClaimFromQueues
      : grouped
        ? sql.jobClaimGroupedFromQueuesLabeled
        : sql.jobClaimFromQueuesLabeled;
  const rows = await conn.rows<ClaimedBatchRow>(statement, [
    params.workerId,
    limit,
    leaseMs,
    queues,
    ...labelled,
    ...(grouped ? [groupCursorKey(queues)] : []),
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
