/**
 * Exactly-once database effects (`ctx.transaction`), in one process on both backends: a handler's
 * own writes commit with its checkpoint or its completion, roll back with them, and a fenced-off
 * attempt commits nothing even when it swallows the refusal.
 */
import { describe, expect, it } from 'vitest';
import { LeaseLostError, NightshiftError } from '../../src/errors.js';
import type { JobContext } from '../../src/task.js';
import { gate, nextEvent } from '../worker/engine-harness.js';
import { BACKENDS, longJobEnv } from './backends.js';

const env = longJobEnv();
const FAST = {
  pollIntervalMs: 20,
  finishFlushMs: 1,
  rescueIntervalMs: 0,
  pruneIntervalMs: 0,
  abortGraceMs: 200,
};

describe.each(BACKENDS)('ctx.transaction on %s', (backend) => {
  it('commits effects with a checkpoint, then with the completion; the return value after it is ignored', async () => {
    const db = await env.freshDb(backend);
    const ns = await db.connect({
      tasks: {
        pay: async (_p, ctx) => {
          await ctx.transaction(async (tx) => {
            await db.insertEffect(tx, ctx.job.id, 'charge');
            await ctx.saveCheckpoint({ charged: true }, { tx });
          });
          await ctx.transaction(async (tx) => {
            await db.insertEffect(tx, ctx.job.id, 'receipt');
            await ctx.enqueue('notify', { to: 'a' }, { key: 'mail', tx });
            await ctx.enqueueMany(
              [
                { task: 'notify', payload: { to: 'b' }, options: { key: 'mail-b' } },
                { task: 'notify', payload: { to: 'c' }, options: { key: 'mail-c' } },
              ],
              { tx },
            );
            await ctx.complete({ paid: 42 }, { tx });
          });
          return 'ignored';
        },
        notify: () => null,
      },
    });
    const { id } = await ns.enqueue('pay');
    const completed = nextEvent(ns, 'job:completed', (e) => e.jobId === id);
    ns.startWorker({ ...FAST, queues: ['default'], concurrency: 1 });
    expect((await completed).result).toEqual({ paid: 42 });
    const job = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ state: 'completed', result: { paid: 42 }, checkpoint: { charged: true } });
    expect(await db.effects()).toEqual([
      { jobId: id, key: 'charge' },
      { jobId: id, key: 'receipt' },
    ]);
    expect((await ns.getJobRuns(id)).map((r) => r.outcome)).toEqual(['completed']);
    const notes = (await ns.listJobs({ task: 'notify' })).jobs;
    expect(notes.map((note) => [note.payload, note.parentId])).toEqual([
      [{ to: 'c' }, id],
      [{ to: 'b' }, id],
      [{ to: 'a' }, id],
    ]);
  });

  it('rolls back effects, checkpoint and child together when the transaction throws', async () => {
    const db = await env.freshDb(backend);
    const ns = await db.connect({
      tasks: {
        flaky: async (_p, ctx) => {
          if (ctx.job.attempt === 1) {
            await ctx.transaction(async (tx) => {
              await db.insertEffect(tx, ctx.job.id, 'half');
              await ctx.saveCheckpoint({ step: 1 }, { tx });
              await ctx.enqueue('notify', {}, { key: 'mail', tx });
              await ctx.enqueueMany([{ task: 'notify', options: { key: 'more' } }], { tx });
              throw new Error('crash between effect and commit');
            });
          }
          return { resumedFrom: ctx.checkpoint ?? null };
        },
        notify: () => null,
      },
    });
    const { id } = await ns.enqueue('flaky', {}, { maxAttempts: 2 });
    const retried = nextEvent(ns, 'job:retry', (e) => e.jobId === id);
    ns.startWorker({ ...FAST, queues: ['default'] });
    await retried;
    // Between the attempts: nothing of the first one's transaction exists.
    expect(await db.effects()).toEqual([]);
    expect((await ns.getJob(id))?.checkpoint).toBeUndefined();
    expect((await ns.listJobs({ task: 'notify' })).jobs).toEqual([]);
    const job = await ns.waitFor(id, { timeoutMs: 15_000 });
    expect(job).toMatchObject({ state: 'completed', result: { resumedFrom: null } });
  });

  it('refuses tx handles that are not an open transaction of this job', async () => {
    const db = await env.freshDb(backend);
    const errors = gate<unknown[]>();
    const ns = await db.connect({
      tasks: {
        misuse: async (_p, ctx) => {
          let leaked: unknown;
          const seen: unknown[] = [];
          await ctx.transaction((tx) => {
            leaked = tx;
          });
          for (const attempt of [
            () => ctx.saveCheckpoint(1, { tx: leaked }),
            () => ctx.complete(1, { tx: {} }),
            () => ctx.enqueue('misuse', {}, { key: 'k', tx: leaked }),
            // A misspelt `tx` outside any transaction would save without one.
            () => ctx.saveCheckpoint(2, { txx: leaked } as never),
            () => ctx.complete(2, { txx: leaked } as never),
            () => ctx.enqueueMany([{ task: 'misuse', options: { key: 'k' } }], { tx: leaked }),
            () => ctx.enqueueMany([{ task: 'misuse', options: { key: 'k' } }], { txx: leaked } as never),
          ]) {
            seen.push(await attempt().catch((error: unknown) => error));
          }
          // Job writes without { tx } inside a transaction would wait for it: refused at once.
          await ctx.transaction(async () => {
            for (const attempt of [
              () => ctx.saveCheckpoint(1),
              () => ctx.heartbeat(),
              () => ctx.step('s', () => 1),
              () => ctx.enqueue('misuse', {}, { key: 'k' }),
              () => ctx.enqueueMany([{ task: 'misuse', options: { key: 'k' } }]),
            ]) {
              seen.push(await attempt().catch((error: unknown) => error));
            }
          });
          errors.open(seen);
          return null;
        },
      },
    });
    const { id } = await ns.enqueue('misuse');
    ns.startWorker({ ...FAST, queues: ['default'] });
    const seen = await errors.promise;
    expect(seen).toHaveLength(12);
    for (const error of seen) {
      expect(error).toBeInstanceOf(NightshiftError);
      expect((error as NightshiftError).code).toBe('invalid_argument');
    }
    expect((seen[3] as Error).message).toMatch(/unknown ctx.saveCheckpoint option "txx"/);
    expect((seen[4] as Error).message).toMatch(/unknown ctx.complete option "txx"/);
    expect((seen[6] as Error).message).toMatch(/unknown ctx.enqueueMany option "txx"/);
    expect((await ns.listJobs({ task: 'misuse' })).jobs).toHaveLength(1);
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'completed', result: null });
    expect(done.checkpoint).toBeUndefined();
  });

  it('a fenced-off attempt commits nothing, even when it swallows the refusal (scenario 22, fencing)', async () => {
    const db = await env.freshDb(backend);
    const started = gate<JobContext>();
    const proceed = gate();
    const outcome = gate<unknown[]>();
    const ns = await db.connect({
      tasks: {
        stale: async (_p, ctx) => {
          started.open(ctx);
          await proceed.promise;
          const results: unknown[] = [];
          // 1: a checkpoint write refused inside, caught by the handler: the commit is still refused.
          results.push(
            await ctx
              .transaction(async (tx) => {
                await db.insertEffect(tx, ctx.job.id, 'A-1');
                await ctx.saveCheckpoint({ by: 'A' }, { tx }).catch(() => undefined);
              })
              .catch((error: unknown) => error),
          );
          // 2: no job write at all inside: the lease check before COMMIT refuses it.
          results.push(
            await ctx
              .transaction(async (tx) => {
                await db.insertEffect(tx, ctx.job.id, 'A-2');
              })
              .catch((error: unknown) => error),
          );
          outcome.open(results);
          return 'A';
        },
      },
    });
    const { id } = await ns.enqueue('stale');
    ns.startWorker({ ...FAST, queues: ['default'], leaseMs: 60_000, concurrency: 1 });
    const ctxA = await started.promise;
    // Another worker takes the job over, as after a pause past the lease: rescue, then re-claim.
    const peer = await db.openStore();
    await expireLease(db.backend, db.schema, db.url, id);
    expect((await peer.jobRescueLapsed({ limit: 10 })).requeued).toEqual([id]);
    const [claimB] = await peer.jobClaim({ workerId: 'B', limit: 1, leaseMs: 60_000 });
    expect(claimB?.id).toBe(id);
    proceed.open();
    const results = await outcome.promise;
    for (const result of results) expect(result).toBeInstanceOf(LeaseLostError);
    expect(ctxA.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(await db.effects()).toEqual([]);
    const job = await ns.getJob(id);
    expect(job).toMatchObject({ state: 'running', workerId: 'B', attempt: 2 });
    expect(job?.checkpoint).toBeUndefined();
  });
});

/** Sets a running job's lease into the past with the backend's own SQL. */
async function expireLease(backend: string, schema: string, url: string, id: string): Promise<void> {
  if (backend === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.prepare('UPDATE jobs SET lease_expires_at = lease_expires_at - 3600000 WHERE id = ?').run(id);
    } finally {
      db.close();
    }
    return;
  }
  const { resyncIndexTables, withAdmin } = await import('../support/postgres-harness.js');
  await withAdmin(async (client) => {
    await client.query(
      `UPDATE "${schema}".jobs SET lease_expires_at = now() - interval '1 hour' WHERE id = $1`,
      [id],
    );
    await client.query(resyncIndexTables(schema), [id, false]);
  });
}
