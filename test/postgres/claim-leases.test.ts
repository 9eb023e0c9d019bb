/**
 * job_leases on PostgreSQL: one row per claim, holding the earliest lease end among its jobs still
 * running. The rescue reads only these rows, so each must never end later than a lease of its jobs:
 * a job whose worker stopped renewing it (stuck past its timeout) is rescued on time even while the
 * other jobs of its claim are renewed, and a claim whose jobs all ended leaves no row behind.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, withAdmin } from '../support/postgres-harness.js';
import { PostgresTestClock } from '../support/postgres-test-clock.js';

const HOUR = 3_600_000;

const db = migratedStore('leases', { poolSize: 2 });
const { schema } = db;
const clock = new PostgresTestClock(schema);

/**
 * Two jobs claimed together (one token) with a lease of `leaseMs`, or of `firstLeaseMs` for the first
 * when given (its own override). Leases lapse by moving the store's clock (tests of this file share
 * it: a lapse takes seconds, and the jobs meant to stay held are leased for an hour).
 */
async function claimTwo(
  queue: string,
  leaseMs: number,
  firstLeaseMs?: number,
): Promise<[ClaimedJob, ClaimedJob]> {
  const first = newJob({ queue, ...(firstLeaseMs !== undefined && { leaseMs: firstLeaseMs }) });
  const second = newJob({ queue });
  await db.store.jobInsertMany({ jobs: [first, second] });
  const claimed = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 2, leaseMs });
  const a = claimed.find((j) => j.id === first.id);
  const b = claimed.find((j) => j.id === second.id);
  if (!a || !b) throw new Error('claimed fewer than two jobs');
  expect(a.leaseToken).toBe(b.leaseToken);
  return [a, b];
}

async function leaseRow(token: string): Promise<{ lapsed: boolean; ends: Date } | undefined> {
  const rows = await withAdmin((client) =>
    client.query<{ lapsed: boolean; ends: Date }>(
      `SELECT expires_at < "${schema}".nightshift_now() AS lapsed, expires_at AS ends
       FROM "${schema}".job_leases WHERE token = $1`,
      [token],
    ),
  );
  return rows.rows[0];
}

async function leaseEnd(id: string): Promise<Date | null | undefined> {
  return (await db.store.jobGet({ id }))?.leaseExpiresAt;
}

describe('job_leases', () => {
  it('rescues a lapsed job of a claim and keeps the row for the job still held', async () => {
    const [lapsed, held] = await claimTwo('rescue-one', HOUR, 1_000);
    await clock.advance(2_000);
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [lapsed.id], failed: [] });
    expect((await db.store.jobGet({ id: held.id }))?.state).toBe('running');
    expect(await leaseRow(held.leaseToken)).toEqual({ lapsed: false, ends: await leaseEnd(held.id) });
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
  });

  it('still rescues a job no longer renewed while its claim-mate is', async () => {
    const [stuck, renewed] = await claimTwo('rescue-stuck', HOUR, 1_000);
    await clock.advance(2_000);
    // The worker renews only the attempt it still keeps: the row must not move past the stuck lease.
    const { renewed: answer } = await db.store.jobLeaseRenew({ leases: [renewed], leaseMs: HOUR });
    expect(answer.map((r) => r.id)).toEqual([renewed.id]);
    expect((await leaseRow(renewed.leaseToken))?.lapsed).toBe(true);
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [stuck.id], failed: [] });
    // Then the row follows the one still held, renewed to its new end.
    expect(await leaseRow(renewed.leaseToken)).toEqual({ lapsed: false, ends: await leaseEnd(renewed.id) });
  });

  it('moves the row with a renewal of every job it holds', async () => {
    const [a, b] = await claimTwo('renew-all', 1_000);
    await clock.advance(2_000);
    expect((await leaseRow(a.leaseToken))?.lapsed).toBe(true);
    await db.store.jobLeaseRenew({ leases: [a, b], leaseMs: HOUR });
    const ends = [await leaseEnd(a.id), await leaseEnd(b.id)].map((d) => d?.getTime() ?? 0);
    expect(await leaseRow(a.leaseToken)).toEqual({ lapsed: false, ends: new Date(Math.min(...ends)) });
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
  });

  it('drops the row of a claim whose jobs all finished once it ends', async () => {
    const [a, b] = await claimTwo('all-done', 1_000);
    await db.store.jobFinishMany({
      finishes: [a, b].map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const })),
    });
    await clock.advance(2_000);
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
    expect(await leaseRow(a.leaseToken)).toBeUndefined();
    expect((await db.store.jobGet({ id: a.id }))?.state).toBe('completed');
  });
});
