import { describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER, nextEvent } from './engine-harness.js';

const env = engineEnv();
const DAY = 24 * 3_600_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('pruner', () => {
  it('deletes finished jobs past retention with their run history, and keeps the rest', async () => {
    const ns = await env.connect({ tasks: { t: (n: number) => n } });
    const [old, recent] = await ns.enqueueMany([
      { task: 't', payload: 1 },
      { task: 't', payload: 2 },
    ]);
    const waiting = await ns.enqueue('t', 3, { delayMs: 60 * DAY });
    const worker = ns.startWorker(FAST_WORKER);
    await ns.waitFor(old!.id, { timeoutMs: 10_000 });
    await ns.waitFor(recent!.id, { timeoutMs: 10_000 });
    await worker.stop();
    const now = (await ns.store.now()).getTime();
    await env.harness().setJobFields(ns.store, old!.id, { finishedAt: new Date(now - 8 * DAY) });

    const pruned = nextEvent(ns, 'pruner:pruned');
    ns.startWorker({ ...FAST_WORKER, pruneIntervalMs: 50, retentionMs: 7 * DAY });
    expect((await pruned).deleted).toBe(1);
    expect(await ns.getJob(old!.id)).toBeUndefined();
    expect(await ns.getJobRuns(old!.id)).toEqual([]);
    expect((await ns.getJob(recent!.id))?.state).toBe('completed');
    expect((await ns.getJob(waiting.id))?.state).toBe('scheduled');
  });
});

describe('rescuer', () => {
  it('sweeps lapsed leases every pass and stale workers only once per stale bound', async () => {
    const ns = await env.connect({ tasks: { t: () => undefined } });
    const calls = { rescues: 0, workerSweeps: 0 };
    // Spies on the real store: every call still goes to the database.
    const rescue = ns.store.jobRescueLapsed.bind(ns.store);
    ns.store.jobRescueLapsed = (params) => {
      calls.rescues += 1;
      return rescue(params);
    };
    const sweep = ns.store.workerSweep.bind(ns.store);
    ns.store.workerSweep = (params) => {
      calls.workerSweeps += 1;
      return sweep(params);
    };
    // A job due tomorrow: the cluster is not idle, so the rescuer sweeps every pass (see below).
    await ns.enqueue('t', null, { delayMs: DAY });
    const startedAt = performance.now();
    ns.startWorker({ ...FAST_WORKER, rescueIntervalMs: 20, heartbeatIntervalMs: 500, workerStaleMs: 1_500 });
    await waitUntil(() => calls.rescues >= 10, { message: () => `${calls.rescues} rescue passes` });
    // The first pass swept the stale workers; the next sweep waits for the bound (an idle worker paid
    // one more transaction per pass for rows ns.workers() leaves out already).
    if (performance.now() - startedAt < 1_400) expect(calls.workerSweeps).toBe(1);
    await waitUntil(() => calls.workerSweeps === 2, { timeoutMs: 10_000, message: 'second sweep' });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1_450);
  });

  it("waits for work while the cluster is idle and other processes' events are heard, and still rescues at once after it", async () => {
    const ns = await env.connect({ tasks: { t: () => undefined } });
    const peer = await env.peerStore(ns);
    let passes = 0;
    const rescue = ns.store.jobRescueLapsed.bind(ns.store);
    ns.store.jobRescueLapsed = (params) => {
      passes += 1;
      return rescue(params);
    };
    // Its worker serves another queue: the job below is only ever claimed by the worker that dies.
    ns.startWorker({ ...FAST_WORKER, queues: ['other'], rescueIntervalMs: 50 });
    if (ns.store.crossProcessEvents) {
      await waitUntil(() => ns.store.crossProcessEventsLive, { message: 'the LISTEN connection is up' });
    }
    await sleep(150);
    const before = passes;
    await sleep(1_000);
    // Idle: no job waits and no lease is held, so nothing can lapse before a job is announced.
    if (ns.store.crossProcessEventsLive) expect(passes - before).toBe(0);
    else expect(passes - before).toBeGreaterThanOrEqual(5);

    // Another process enqueues a job, and its worker claims it and dies (never renews): the waiting
    // rescuer heard the enqueue and sweeps every interval again, so the job is back in about lease +
    // interval, not at the end of the idle wait (up to workerStaleMs, 30 s).
    await peer.jobInsertMany({ jobs: [newJob({ queue: 'lost' })] });
    const [claimed] = await peer.jobClaim({ workerId: 'dead', queues: ['lost'], limit: 1, leaseMs: 300 });
    if (!claimed) throw new Error('nothing claimed');
    const claimedAt = Date.now();
    await waitUntil(async () => (await ns.getJob(claimed.id))?.state === 'queued', {
      timeoutMs: 5_000,
      message: 'the lapsed job requeued',
    });
    expect(Date.now() - claimedAt).toBeLessThan(3_000);
  });
});

describe('claiming', () => {
  it('claims for many freed slots at once, not one round trip per finished job', async () => {
    // Handlers ending a few ms apart: each one's slot frees in its own timer callback.
    const ns = await env.connect({
      tasks: { short: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)) },
    });
    const jobs = await ns.enqueueMany(
      Array.from({ length: 200 }, (_, n) => ({ task: 'short', payload: n % 5 })),
    );
    const batches: number[] = [];
    // A spy on the real store: every call still goes to the database.
    const claim = ns.store.jobClaim.bind(ns.store);
    ns.store.jobClaim = async (params) => {
      const claimed = await claim(params);
      if (claimed.length > 0) batches.push(claimed.length);
      return claimed;
    };
    // No ready buffer: every claim is sized by the slots free at that moment (prefetch.test.ts covers
    // claims sized by the buffer).
    ns.startWorker({ ...FAST_WORKER, concurrency: 50, bufferSize: 0 });
    await Promise.all(jobs.map(({ id }) => ns.waitFor(id, { timeoutMs: 20_000 })));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(200);
    expect(Math.max(...batches)).toBe(50);
    expect(batches.length).toBeLessThanOrEqual(40);
  });
});
