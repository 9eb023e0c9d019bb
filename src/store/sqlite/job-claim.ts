/** Claiming due jobs and renewing the leases of running attempts. */
import { randomUUID } from 'node:crypto';
import type { ClaimedJob, LeaseRef } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { toJob, type JobRow } from './job-row.js';
import { JOB_CLAIM, JOB_PROMOTE_DUE, JOB_READY_SELECT } from './sql/job-claim.js';
import { JOB_LEASE_RENEW } from './sql/job-lease.js';

// At most this many due scheduled rows move to the ready set per claim: ~1 ms of work, so a backlog
// after downtime drains over several claims instead of one long write lock.
const PROMOTE_BATCH = 1_000;

/** Parameters of `jobClaim`. */
export interface ClaimParams {
  workerId: string;
  queues?: string[];
  limit: number;
  leaseMs: number;
}

/**
 * Claims up to `limit` jobs in one IMMEDIATE transaction. SQLite has one writer at a time, so the
 * select-then-update cannot race another claimer: no job is handed out twice.
 */
export function jobClaim(conn: SqliteConnection, params: ClaimParams): Promise<ClaimedJob[]> {
  if (params.limit <= 0 || params.queues?.length === 0) return Promise.resolve([]);
  const queues = params.queues ? JSON.stringify(params.queues) : null;
  return conn.write((now) => {
    conn.stmt(JOB_PROMOTE_DUE).run({ now, limit: PROMOTE_BATCH });
    const ready = conn.stmt(JOB_READY_SELECT).all({ now, queues, limit: params.limit }) as Array<{
      id: string;
    }>;
    const claimed: ClaimedJob[] = [];
    for (const { id } of ready) {
      const leaseToken = randomUUID();
      const row = conn
        .stmt(JOB_CLAIM)
        .get({ id, now, leaseToken, leaseMs: params.leaseMs, workerId: params.workerId }) as
        JobRow | undefined;
      if (row) claimed.push({ ...toJob(row), leaseToken });
    }
    return claimed;
  });
}

/** Parameters of `jobLeaseRenew`. */
export interface RenewParams {
  leases: LeaseRef[];
  leaseMs: number;
}

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
      .stmt(JOB_LEASE_RENEW)
      .get({ id: lease.id, leaseToken: lease.leaseToken, now, leaseMs: params.leaseMs }) as
      { id: string; cancel_requested: number } | undefined;
    if (row) renewed.push({ id: row.id, cancelRequested: row.cancel_requested !== 0 });
  }
  return { renewed };
}
