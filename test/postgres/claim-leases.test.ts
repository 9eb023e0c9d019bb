/**
 * job_leases on PostgreSQL: one row per claim, holding the earliest lease end among its jobs still
 * running. The rescue reads only these rows, so each must never end later than a lease of its jobs:
 * a job whose worker stopped renewing it (stuck past its timeout) is rescued on time even while the
 * other jobs of its claim are renewed, and a claim whose jobs all ended leaves no row behind.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, resyncIndexTables, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('leases', { poolSize: 2 });
const { schema } = db;

async function claimTwo(queue: string): Promise<[ClaimedJob, ClaimedJob]> {
  await db.store.jobInsertMany({ jobs: [newJob({ queue }), newJob({ queue })] });
  const [a, b] = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 2, leaseMs: 3_600_000 });
  if (!a || !b) throw new Error('claimed fewer than two jobs');
  expect(a.leaseToken).toBe(b.leaseToken);
  return [a, b];
}

/** Ends a job's own lease `agoMs` before the database's now, as a worker that stopped renewing it. */
async function lapse(id: string, agoMs: number): Promise<void> {
  await withAdmin(async (client) => {
    await client.query(
      `UPDATE "${schema}".jobs SET lease_expires_at = now() - $2 * interval '1 millisecond' WHERE id = $1`,
      [id, agoMs],
    );
    await client.query(resyncIndexTables(schema), [id, false]);
  });
}

async function leaseRow(token: string): Promise<{ lapsed: boolean; ends: Date } | undefined> {
  const rows = await withAdmin((client) =>
    client.query<{ lapsed: boolean; ends: Date }>(
      `SELECT expires_at < now() AS lapsed, expires_at AS ends FROM "${schema}".job_leases WHERE token = $1`,
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
    const [lapsed, held] = await claimTwo('rescue-one');
    await lapse(lapsed.id, 1_000);
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [lapsed.id], failed: [] });
    expect((await db.store.jobGet({ id: held.id }))?.state).toBe('running');
    expect(await leaseRow(held.leaseToken)).toEqual({ lapsed: false, ends: await leaseEnd(held.id) });
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
  });

  it('still rescues a job no longer renewed while its claim-mate is', async () => {
    const [stuck, renewed] = await claimTwo('rescue-stuck');
    await lapse(stuck.id, 1_000);
    // The worker renews only the attempt it still keeps: the row must not move past the stuck lease.
    const { renewed: answer } = await db.store.jobLeaseRenew({ leases: [renewed], leaseMs: 3_600_000 });
    expect(answer.map((r) => r.id)).toEqual([renewed.id]);
    expect((await leaseRow(renewed.leaseToken))?.lapsed).toBe(true);
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [stuck.id], failed: [] });
    // Then the row follows the one still held, renewed to its new end.
    expect(await leaseRow(renewed.leaseToken)).toEqual({ lapsed: false, ends: await leaseEnd(renewed.id) });
  });

  it('moves the row with a renewal of every job it holds', async () => {
    const [a, b] = await claimTwo('renew-all');
    await lapse(a.id, 1_000);
    await lapse(b.id, 2_000);
    expect((await leaseRow(a.leaseToken))?.lapsed).toBe(true);
    await db.store.jobLeaseRenew({ leases: [a, b], leaseMs: 3_600_000 });
    const ends = [await leaseEnd(a.id), await leaseEnd(b.id)].map((d) => d?.getTime() ?? 0);
    expect(await leaseRow(a.leaseToken)).toEqual({ lapsed: false, ends: new Date(Math.min(...ends)) });
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
  });

  it('drops the row of a claim whose jobs all finished once it ends', async () => {
    const [a, b] = await claimTwo('all-done');
    await db.store.jobFinishMany({
      finishes: [a, b].map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const })),
    });
    await withAdmin((client) =>
      client.query(
        `UPDATE "${schema}".job_leases SET expires_at = now() - interval '1 second' WHERE token = $1`,
        [a.leaseToken],
      ),
    );
    expect(await db.store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
    expect(await leaseRow(a.leaseToken)).toBeUndefined();
    expect((await db.store.jobGet({ id: a.id }))?.state).toBe('completed');
  });
});
