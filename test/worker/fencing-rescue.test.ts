import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import type { JobContext } from '../../src/task.js';
import { engineEnv, FAST_WORKER, gate, nextEvent } from './engine-harness.js';

const env = engineEnv();

/**
 * Makes the job's current lease lapse now and rescues it, as if its worker had been paused. A live
 * worker with a short lease may renew between the two statements (a renewal extends the lapsed lease
 * again), so the pair is repeated until the rescue wins, a bounded number of times.
 */
async function lapseAndRescue(ns: Awaited<ReturnType<typeof env.connect>>, id: string): Promise<void> {
  let requeued: string[] = [];
  for (let attempt = 0; attempt < 20 && !requeued.includes(id); attempt++) {
    const past = new Date((await ns.store.now()).getTime() - 1_000);
    await env.harness().setJobFields(ns.store, id, { leaseExpiresAt: past });
    ({ requeued } = await ns.store.jobRescueLapsed({ limit: 10 }));
  }
  expect(requeued).toContain(id);
}

describe('fencing', () => {
  it('refuses every write of a stale attempt after another worker re-claimed the job', async () => {
    const started = gate<JobContext>();
    const proceed = gate();
    const wrote = gate<PromiseSettledResult<unknown>[]>();
    const ns = await env.connect({
      tasks: {
        fenced: async (_p, ctx) => {
          started.open(ctx);
          await proceed.promise;
          wrote.open(
            await Promise.allSettled([
              ctx.saveCheckpoint({ at: 'A' }),
              ctx.step('s', () => 'A'),
              ctx.enqueue('child', {}, { key: 'k' }),
              ctx.enqueueMany([
                { task: 'child', options: { key: 'm1' } },
                { task: 'child', options: { key: 'm2' } },
              ]),
            ]),
          );
          return 'A';
        },
        child: () => null,
      },
    });
    const { id } = await ns.enqueue('fenced');
    // A long lease: renewal must not notice first, so the refusals come from the store itself. One
    // slot: the stale attempt keeps it, so this worker cannot re-claim the rescued job before B does.
    ns.startWorker({ ...FAST_WORKER, leaseMs: 60_000, concurrency: 1 });
    const ctxA = await started.promise;
    await lapseAndRescue(ns, id);
    const peer = await env.peerStore(ns);
    const [claimB] = await peer.jobClaim({ workerId: 'worker-B', limit: 1, leaseMs: 60_000 });
    expect(claimB?.id).toBe(id);

    const lost = nextEvent(ns, 'job:lease_lost', (e) => e.jobId === id);
    proceed.open();
    expect((await lost).attempt).toBe(1);
    const writes = await wrote.promise;
    expect(writes.map((w) => w.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const w of writes) expect((w as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    expect(ctxA.signal.aborted).toBe(true);
    expect(ctxA.signal.reason).toBeInstanceOf(LeaseLostError);

    const job = await ns.getJob(id);
    expect(job).toMatchObject({ state: 'running', workerId: 'worker-B', attempt: 2, result: null });
    expect(job?.checkpoint).toBeUndefined();
    expect(await ns.store.jobStepGet({ jobId: id, name: 's' })).toMatchObject({ found: false });
    expect((await ns.listJobs({ task: 'child' })).jobs).toEqual([]);

    // B's result stands.
    const { accepted } = await peer.jobFinishMany({
      finishes: [{ id, leaseToken: claimB!.leaseToken, outcome: 'completed', result: 'B' }],
    });
    expect(accepted).toEqual([id]);
    expect(await ns.getJob(id)).toMatchObject({ state: 'completed', result: 'B' });
    expect((await ns.getJobRuns(id)).map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'lease_lapsed'],
      [2, 'completed'],
    ]);
  });

  it('refuses the completion of a stale attempt and reports the lost lease', async () => {
    const started = gate();
    const proceed = gate();
    const ns = await env.connect({
      tasks: {
        fenced: async () => {
          started.open();
          await proceed.promise;
          return 'A';
        },
      },
    });
    const { id } = await ns.enqueue('fenced');
    ns.startWorker({ ...FAST_WORKER, leaseMs: 60_000, concurrency: 1 });
    await started.promise;
    await lapseAndRescue(ns, id);
    const peer = await env.peerStore(ns);
    const [claimB] = await peer.jobClaim({ workerId: 'worker-B', limit: 1, leaseMs: 60_000 });
    const lost = nextEvent(ns, 'job:lease_lost', (e) => e.jobId === id);
    proceed.open();
    await lost;
    expect(await ns.getJob(id)).toMatchObject({ state: 'running', workerId: 'worker-B', result: null });
    expect(claimB?.attempt).toBe(2);
  });

  it('aborts a running handler when renewal finds its lease gone', async () => {
    const started = gate<JobContext>();
    const ns = await env.connect({
      tasks: {
        long: async (_p, ctx) => {
          started.open(ctx);
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          return 'ignored';
        },
      },
    });
    const { id } = await ns.enqueue('long');
    // Renewal every second: short enough to find the lease gone soon, long enough that on a loaded
    // machine a renewal rarely falls between lapseAndRescue's two statements (a 300 ms lease renewed
    // every 100 ms won that race twenty times in a row once in CI).
    ns.startWorker({ ...FAST_WORKER, leaseMs: 3_000, concurrency: 1 });
    const ctx = await started.promise;
    const lost = nextEvent(ns, 'job:lease_lost', (e) => e.jobId === id);
    await lapseAndRescue(ns, id);
    await lost;
    expect(ctx.signal.reason).toBeInstanceOf(LeaseLostError);
    await expect(ctx.heartbeat()).rejects.toBeInstanceOf(LeaseLostError);
  });
});

describe('rescue', () => {
  it('requeues the job of a worker that stopped renewing, and another worker finishes it', async () => {
    const ns = await env.connect({ tasks: { t: (_p, ctx) => `ran attempt ${ctx.job.attempt}` } });
    const { id } = await ns.enqueue('t');
    // A worker that claims and then dies: nothing ever renews this short lease.
    const [dead] = await ns.store.jobClaim({ workerId: 'dead-worker', limit: 1, leaseMs: 200 });
    expect(dead?.id).toBe(id);
    const swept = nextEvent(ns, 'rescuer:swept', (e) => e.requeued.includes(id));
    const worker = ns.startWorker({ ...FAST_WORKER, rescueIntervalMs: 50 });
    await swept;
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'completed', attempt: 2, result: 'ran attempt 2' });
    const runs = await ns.getJobRuns(id);
    expect(runs.map((r) => [r.outcome, r.workerId])).toEqual([
      ['lease_lapsed', 'dead-worker'],
      ['completed', worker.id],
    ]);
  });

  it('fails a lapsed job with no attempts left, with reason lease_lapsed', async () => {
    const ns = await env.connect({ tasks: { t: () => 'never' } });
    const { id } = await ns.enqueue('t', null, { maxAttempts: 1 });
    await ns.store.jobClaim({ workerId: 'dead-worker', limit: 1, leaseMs: 200 });
    const swept = nextEvent(ns, 'rescuer:swept', (e) => e.failed.includes(id));
    ns.startWorker({ ...FAST_WORKER, rescueIntervalMs: 50 });
    await swept;
    expect(await ns.getJob(id)).toMatchObject({
      state: 'failed',
      attempt: 1,
      error: { reason: 'lease_lapsed' },
    });
  });
});
