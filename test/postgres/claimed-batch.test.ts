/**
 * A claim returns its batch as one json value (src/store/postgres/job-batch.ts); every field must
 * decode exactly as the typed row read of jobGet does (checked field by field on both stores by the
 * conformance suite), down to the millisecond.
 */
import { describe, expect, it } from 'vitest';
import { decodeClaimedBatch } from '../../src/store/postgres/job-batch.js';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, resyncIndexTables, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('batch');
const { schema } = db;

describe('PostgreSQL claimed batch decoding', () => {
  // Every field against jobGet: the conformance suite (test/conformance/claim.ts). Here, what only
  // PostgreSQL has: timestamps finer than a millisecond, which must truncate as node-postgres does.
  it('decodes sub-millisecond times of a claimed job exactly as jobGet reads them', async () => {
    const queue = 'decode';
    const job = newJob({ queue });
    await db.store.jobInsertMany({ jobs: [job] });
    await withAdmin(async (client) => {
      await client.query(
        `UPDATE "${schema}".jobs SET run_at = now() - interval '1.2345 seconds' WHERE id = $1`,
        [job.id],
      );
      await client.query(resyncIndexTables(schema), [job.id, false]);
    });
    const [claimed] = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 1, leaseMs: 30_000 });
    if (!claimed) throw new Error('nothing claimed');
    const { leaseToken: _token, traceContext: _trace, ...record } = claimed;
    expect(record).toEqual(await db.store.jobGet({ id: job.id }));
  });

  it('hands back a batch in claim order although the update reaches its rows in id order', async () => {
    const queue = 'order';
    const late = newJob({ queue, priority: 0 });
    const urgent = newJob({ queue, priority: 5 });
    const early = newJob({ queue, priority: 0, runAt: new Date(Date.now() - 60_000) });
    // Inserted in this order, so ids (time-ordered) run late < urgent < early.
    for (const job of [late, urgent, early]) await db.store.jobInsertMany({ jobs: [job] });
    const claimed = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 30_000 });
    expect(claimed.map((j) => j.id)).toEqual([urgent.id, early.id, late.id]);
  });

  it('gives one claim one token, fencing each job by id and token together', async () => {
    const queue = 'token';
    const [a, b] = [newJob({ queue }), newJob({ queue })];
    await db.store.jobInsertMany({ jobs: [a, b] });
    const claimed = await db.store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 30_000 });
    const [first, second] = claimed as [ClaimedJob, ClaimedJob];
    expect(second.leaseToken).toBe(first.leaseToken);
    // The first job goes back and is claimed again: the batch's token no longer fences it, but still
    // fences the second job, which this attempt holds.
    await db.store.jobFinishMany({
      finishes: [{ id: first.id, leaseToken: first.leaseToken, outcome: 'released' }],
    });
    const [again] = await db.store.jobClaim({ workerId: 'w2', queues: [queue], limit: 10, leaseMs: 30_000 });
    expect(again?.id).toBe(first.id);
    expect(again?.leaseToken).not.toBe(first.leaseToken);
    const { accepted } = await db.store.jobFinishMany({
      finishes: [
        { id: first.id, leaseToken: first.leaseToken, outcome: 'completed' },
        { id: second.id, leaseToken: first.leaseToken, outcome: 'completed' },
      ],
    });
    expect(accepted).toEqual([second.id]);
    expect((await db.store.jobGet({ id: first.id }))?.state).toBe('running');
  });

  // Every field against jobGet: the conformance suite (test/conformance/insert.ts). Here, what only
  // PostgreSQL's batch answer has to get right: an id given in upper case answers in the stored case.
  it('answers an enqueue of an upper-case id with the job as jobGet reads it', async () => {
    const upper = newJob({ queue: 'insert' });
    upper.id = upper.id.toUpperCase();
    const [result] = await db.store.jobInsertMany({ jobs: [upper] });
    expect(result?.created).toBe(true);
    expect(result?.job).toEqual(await db.store.jobGet({ id: upper.id.toLowerCase() }));
    // Out of the way of the claims of the other tests.
    await withAdmin((client) => client.query(`DELETE FROM "${schema}".jobs WHERE queue = 'insert'`));
  });

  it('returns an empty batch when nothing is due', async () => {
    expect(
      await db.store.jobClaim({ workerId: 'w', queues: ['nothing-here'], limit: 10, leaseMs: 30_000 }),
    ).toEqual([]);
    expect(await db.store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 })).toEqual([]);
  });
});

describe('claimed batch decoder', () => {
  it('gives each job its own times, sharing a Date only between equal ones', () => {
    const startedMs = Date.parse('2026-03-01T00:00:00.000Z');
    const tuple = (id: string, runMs: number, createdMs: number, leaseMs: number | null): string =>
      JSON.stringify([
        id,
        't',
        'q',
        { id },
        0,
        1,
        3,
        runMs,
        createdMs,
        leaseMs === null ? null : [null, null, null, leaseMs, null, null, false, null, null, null, null],
      ]);
    const row = {
      started_ms: startedMs,
      lease_token: 'token',
      batch: `[${[
        tuple('a', startedMs - 10, startedMs - 20, null),
        tuple('b', startedMs - 10, startedMs - 20, 5_000),
        tuple('c', startedMs - 5, startedMs - 20, null),
        tuple('d', startedMs - 5, startedMs - 7, null),
      ].join(',')}]`,
      grouped_promoted: 0,
      grouped_waiting: false,
      grouped_short: false,
      limits_needed: false,
      next_due_ms: null,
    };
    const jobs = decodeClaimedBatch(row, 'w', 30_000);
    const times = jobs.map((job) => [
      job.id,
      job.runAt.getTime() - startedMs,
      job.createdAt.getTime() - startedMs,
      (job.leaseExpiresAt?.getTime() ?? 0) - startedMs,
      job.startedAt?.getTime() === startedMs,
    ]);
    expect(times).toEqual([
      ['a', -10, -20, 30_000, true],
      ['b', -10, -20, 5_000, true],
      ['c', -5, -20, 30_000, true],
      ['d', -5, -7, 30_000, true],
    ]);
    const [a, b, c, d] = jobs as [ClaimedJob, ClaimedJob, ClaimedJob, ClaimedJob];
    expect(b.runAt).toBe(a.runAt);
    expect(d.createdAt).not.toBe(c.createdAt);
  });
});
