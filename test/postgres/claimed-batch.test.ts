/**
 * A claim returns its batch as one json value (src/store/postgres/job-batch.ts); every field must
 * decode exactly as the typed row read of jobGet does, down to the millisecond and the boxed checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { decodeClaimedBatch } from '../../src/store/postgres/job-batch.js';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import { migratedStore, resyncIndexTables, withAdmin } from '../support/postgres-harness.js';

const db = migratedStore('batch');
const { schema } = db;

// Quotes and a backslash, which the claim's answer must escape as json text.
const TRACE_CONTEXT =
  '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"k=\\"v\\""}';

describe('PostgreSQL claimed batch decoding', () => {
  it('decodes every field of a claimed job exactly as jobGet reads it', async () => {
    const queue = 'decode';
    const full = newJob({
      queue,
      task: 'decode.full',
      payload: { text: 'zażółć "quoted" \\ slash', list: [1, 2.5, null, true], nested: { deep: { x: 'y' } } },
      priority: 3,
      maxAttempts: 7,
      idempotencyKey: 'decode-key',
      concurrencyKey: 'tenant-9',
      leaseMs: 45_000,
      timeoutMs: 9_000,
      scheduleId: 'nightly',
      scheduleSlot: new Date('2026-01-02T03:04:05.678Z'),
      parentId: 'parent-x',
      traceContext: TRACE_CONTEXT,
    });
    const bare = newJob({ queue, payload: null });
    await db.store.jobInsertMany({ jobs: [full, bare] });
    // A first attempt that failed with an error and saved a checkpoint of null, then came back due.
    const [first] = await db.store.jobClaim({ workerId: 'w1', queues: [queue], limit: 1, leaseMs: 30_000 });
    if (!first) throw new Error('nothing claimed');
    expect(
      await db.store.jobCheckpointSave({ id: first.id, leaseToken: first.leaseToken, checkpoint: null }),
    ).toBe(true);
    await db.store.jobFinishMany({
      finishes: [
        {
          id: first.id,
          leaseToken: first.leaseToken,
          outcome: 'failed',
          error: { message: 'boom', name: 'Error', reason: 'failed' },
          retryDelayMs: 0,
        },
      ],
    });
    // Sub-millisecond timestamps, as the database writes them, must truncate like node-postgres does.
    await withAdmin(async (client) => {
      await client.query(
        `UPDATE "${schema}".jobs SET run_at = now() - interval '1.2345 seconds' WHERE id = $1`,
        [first.id],
      );
      await client.query(resyncIndexTables(schema), [first.id, false]);
    });

    const claimed = await db.store.jobClaim({ workerId: 'w2', queues: [queue], limit: 10, leaseMs: 30_000 });
    expect(claimed.map((j) => j.id)).toEqual([full.id, bare.id]);
    for (const job of claimed) {
      const { leaseToken, traceContext, ...record } = job;
      expect(record).toEqual(await db.store.jobGet({ id: job.id }));
      expect(leaseToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(traceContext).toBe(job.id === full.id ? TRACE_CONTEXT : null);
    }
    expect(claimed[0]).toMatchObject({
      attempt: 2,
      checkpoint: null,
      error: { message: 'boom' },
      workerId: 'w2',
    });
    expect(claimed[1]).toMatchObject({ attempt: 1, checkpoint: undefined, error: null, payload: null });
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

  it('answers an enqueue with each new job exactly as jobGet reads it', async () => {
    const jobs = [
      newJob({ queue: 'insert', payload: { at: new Date('2026-01-02T03:04:05.678Z'), skip: undefined } }),
      newJob({ queue: 'insert', payload: undefined, runAt: new Date(Date.now() + 3_600_000) }),
      newJob({ queue: 'insert', delayMs: 90_000, idempotencyKey: 'insert-key', leaseMs: 5_000 }),
      newJob({ queue: 'insert', scheduleSlot: new Date('2026-03-04T05:06:07.089Z'), parentId: 'p' }),
    ];
    const upper = newJob({ queue: 'insert' });
    upper.id = upper.id.toUpperCase();
    const results = await db.store.jobInsertMany({ jobs: [...jobs, upper] });
    expect(results.map((r) => r.created)).toEqual([true, true, true, true, true]);
    expect(results.map((r) => r.job.state)).toEqual(['queued', 'scheduled', 'scheduled', 'queued', 'queued']);
    expect(results[0]?.job.payload).toEqual({ at: '2026-01-02T03:04:05.678Z' });
    for (const { job } of results) expect(job).toEqual(await db.store.jobGet({ id: job.id }));
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
        leaseMs === null ? null : [null, null, null, leaseMs, null, null, false, null, null, null],
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
