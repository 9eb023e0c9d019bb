/**
 * Claiming ahead of free slots (src/worker/prefetch.ts and the claim lanes of worker.ts): the
 * allowance follows slot turnover, stale prefetched attempts are taken out, buffered attempts keep
 * their leases while they wait and are handed back unspent on stop, a worker on slow jobs leaves them
 * to an idle worker, a worker running two
 * claim lanes over many short jobs still runs each job exactly once, synchronous handlers ending while
 * a batch starts never take a worker past its slots, and a claim loop held back by unwritten outcomes
 * resumes as soon as they are written, not at its next poll.
 */
import { describe, expect, it } from 'vitest';
import { Prefetch } from '../../src/worker/prefetch.js';
import { waitUntil } from '../support/wait-until.js';
import type { Nightshift } from '../../src/index.js';
import { aborted, engineEnv, FAST_WORKER, gate } from './engine-harness.js';

const env = engineEnv();

describe('prefetch allowance', () => {
  it('allows nothing ahead while no slot has turned over', () => {
    const prefetch = new Prefetch<string>({ max: 100, horizonMs: 50, ttlMs: 1_000 });
    prefetch.claimAnswered(20);
    prefetch.claimAnswered(20);
    expect(prefetch.allowance()).toBe(0);
  });

  it('allows about the slots freed within the horizon, or within a claim round trip beyond it', async () => {
    const prefetch = new Prefetch<string>({ max: 10_000, horizonMs: 50, ttlMs: 1_000 });
    // 100 attempts ended in at least 100 ms: at most 1 per ms (the first sample counts in full), so at
    // most 50 within the horizon.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let n = 0; n < 100; n += 1) prefetch.attemptEnded();
    prefetch.claimAnswered(5);
    const short = prefetch.allowance();
    expect(short).toBeGreaterThan(0);
    expect(short).toBeLessThanOrEqual(50);
    // A claim round trip far beyond the horizon (averaged to ~2.5 s; the turnover halves, as nothing
    // ended since): the buffer covers the round trip instead, ~25 times the horizon's share.
    prefetch.claimAnswered(5_000);
    expect(prefetch.allowance()).toBeGreaterThanOrEqual(short * 10);
  });

  it('allows at most the buffer size', () => {
    const prefetch = new Prefetch<string>({ max: 100, horizonMs: 50, ttlMs: 1_000 });
    // Thousands of attempts ended since the last sample, however little time passed: capped at `max`.
    for (let n = 0; n < 5_000; n += 1) prefetch.attemptEnded();
    prefetch.claimAnswered(1_000);
    expect(prefetch.allowance()).toBe(100);
    // No attempt ended since: the turnover estimate decays towards zero claim by claim.
    for (let n = 0; n < 40; n += 1) prefetch.claimAnswered(1_000);
    expect(prefetch.allowance()).toBe(0);
  });

  it('hands out waiting attempts oldest first and takes out those past their wait bound', () => {
    const fresh = new Prefetch<string>({ max: 10, horizonMs: 50, ttlMs: 60_000 });
    fresh.push('a', 1);
    fresh.push('b', 1);
    expect(fresh.takeStale()).toEqual([]);
    expect(fresh.shift()).toBe('a');
    expect(fresh.drain()).toEqual(['b']);
    expect(fresh.size).toBe(0);

    const expired = new Prefetch<string>({ max: 10, horizonMs: 50, ttlMs: 0 });
    expired.push('a', 1);
    expired.push('b', 1);
    expect(expired.takeStale()).toEqual(['a', 'b']);
    expect(expired.size).toBe(0);
  });

  it('keeps claim order when a later claim answered first', async () => {
    const prefetch = new Prefetch<string>({ max: 10, horizonMs: 50, ttlMs: 60_000 });
    // Claim 2 answered first; claim 1's jobs (better in claim order) go ahead of it, in their order.
    prefetch.push('c1', 2);
    prefetch.push('c2', 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    prefetch.push('a1', 1);
    prefetch.push('a2', 1);
    prefetch.push('d1', 3);
    expect(prefetch.drain()).toEqual(['a1', 'a2', 'c1', 'c2', 'd1']);

    // Placed ahead, an attempt takes the wait start of the one it precedes: waits stay in order, so
    // stale ones are taken out from the front.
    const stale = new Prefetch<string>({ max: 10, horizonMs: 50, ttlMs: 15 });
    stale.push('late', 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    stale.push('early', 1);
    stale.push('next', 3);
    expect(stale.takeStale()).toEqual(['early', 'late']);
    expect(stale.drain()).toEqual(['next']);
  });
});

describe('claim lanes', () => {
  it('run each of many short jobs exactly once, with one completed run each', async () => {
    const runs = new Map<number, number>();
    const ns = await env.connect({
      tasks: {
        tick: (n: number) => {
          runs.set(n, (runs.get(n) ?? 0) + 1);
        },
      },
    });
    const total = 2_000;
    const jobs = await ns.enqueueMany(
      Array.from({ length: total }, (_, n) => ({ task: 'tick', payload: n })),
    );
    let claimedTogether = 0;
    const claim = ns.store.jobClaim.bind(ns.store);
    let inFlight = 0;
    // A spy on the real store: every call still goes to the database.
    ns.store.jobClaim = async (params) => {
      inFlight += 1;
      claimedTogether = Math.max(claimedTogether, inFlight);
      try {
        return await claim(params);
      } finally {
        inFlight -= 1;
      }
    };
    const worker = ns.startWorker({ ...FAST_WORKER, concurrency: 20, claimBatchMax: 20 });
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    await waitUntil(() => completed === total, { timeoutMs: 60_000, message: 'all jobs completed' });
    await worker.stop();

    expect(runs.size).toBe(total);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    const counts = await ns.store.jobCountByQueue();
    expect(counts).toEqual([{ queue: 'default', state: 'completed', count: total }]);
    for (const { id } of jobs.filter((_, n) => n % 100 === 0)) {
      expect((await ns.getJobRuns(id)).map((run) => [run.outcome, run.attempt])).toEqual([['completed', 1]]);
    }
    // Never more than the two lanes. Short jobs at a high rate are what the second lane is for; on
    // PostgreSQL its claim travels while the first's does (SQLite answers a claim before returning).
    expect(claimedTogether).toBeLessThanOrEqual(2);
    if (ns.store.dialect === 'postgres') expect(claimedTogether).toBe(2);
  });

  it('keep synchronous and asynchronous handlers within the slots, running each job once', async () => {
    // A synchronous handler ends while its batch is being started; its slot must go to the batch's
    // next attempt, not to a prefetched one on top of it. Mostly asynchronous jobs keep the slots
    // busy, so claims come back with more jobs than free slots and prefetch the rest.
    const concurrency = 4;
    let running = 0;
    let mostRunning = 0;
    const runs = new Map<number, number>();
    const enter = (n: number): void => {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      running += 1;
      mostRunning = Math.max(mostRunning, running);
    };
    const ns = await env.connect({
      tasks: {
        now: (n: number) => {
          enter(n);
          running -= 1;
        },
        later: async (n: number) => {
          enter(n);
          await new Promise((resolve) => setTimeout(resolve, 1));
          running -= 1;
        },
      },
    });
    const total = 1_000;
    await ns.enqueueMany(
      Array.from({ length: total }, (_, n) => ({ task: n % 5 === 2 ? 'now' : 'later', payload: n })),
    );
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    const worker = ns.startWorker({ ...FAST_WORKER, concurrency, claimBatchMax: concurrency });
    await waitUntil(() => completed === total, { timeoutMs: 60_000, message: 'all jobs completed' });
    await worker.stop();
    expect(runs.size).toBe(total);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(mostRunning).toBeLessThanOrEqual(concurrency);
  });

  it('resume claiming as soon as held-back outcomes are written, not at the next poll', async () => {
    const ns = await env.connect({ tasks: { tick: () => undefined } });
    const total = 200;
    const jobs = await ns.enqueueMany(
      Array.from({ length: total }, (_, n) => ({ task: 'tick', payload: n })),
    );
    // The store's first finishes are held until every slot has emptied: with one finish per batch, the
    // outcomes left unwritten then hold claiming back (four or more). The poll is far beyond the wait
    // below, so only the finisher's wake-up can get the claim loop going again.
    let open!: () => void;
    const gateOpen = new Promise<void>((resolve) => (open = resolve));
    let waiting = 0;
    const finish = ns.store.jobFinishMany.bind(ns.store);
    ns.store.jobFinishMany = async (params) => {
      waiting += 1;
      await gateOpen;
      return finish(params);
    };
    const worker = ns.startWorker({
      ...FAST_WORKER,
      concurrency: 10,
      finishBatchSize: 1,
      pollIntervalMs: 600_000,
    });
    await waitUntil(() => waiting >= 2 && worker.runningCount === 0, { message: 'finishes held back' });
    open();
    await Promise.all(jobs.map(({ id }) => ns.waitFor(id, { timeoutMs: 30_000 })));
    const counts = await ns.store.jobCountByQueue();
    expect(counts).toEqual([{ queue: 'default', state: 'completed', count: total }]);
  });
});

/**
 * Warm-up jobs first (short: the turnover grows the buffer's allowance), then one that holds the only
 * slot, then short jobs that can only wait in the buffer behind it. Claims are taken highest priority
 * first. Records when each job came back from a claim and when its handler started.
 */
async function slotHeldBehindBuffer(hold: (signal: AbortSignal) => Promise<void>): Promise<{
  ns: Nightshift;
  trailing: string[];
  claimedAt: Map<string, number>;
  startedAt: Map<string, number>;
  holding: Promise<void>;
}> {
  const claimedAt = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const holding = gate();
  const ns = await env.connect({
    tasks: {
      tick: (_: null, ctx) => {
        startedAt.set(ctx.job.id, Date.now());
      },
      hold: async (_: null, ctx) => {
        holding.open();
        await hold(ctx.signal);
      },
    },
  });
  await ns.enqueueMany(
    Array.from({ length: 1_000 }, () => ({ task: 'tick', payload: null, options: { priority: 2 } })),
  );
  await ns.enqueue('hold', null, { priority: 1 });
  const trailing = await ns.enqueueMany(
    Array.from({ length: 300 }, () => ({ task: 'tick', payload: null, options: { priority: 0 } })),
  );
  const claim = ns.store.jobClaim.bind(ns.store);
  // A spy on the real store: every call still goes to the database.
  ns.store.jobClaim = async (params) => {
    const jobs = await claim(params);
    const now = Date.now();
    for (const job of jobs) claimedAt.set(job.id, now);
    return jobs;
  };
  return { ns, trailing: trailing.map(({ id }) => id), claimedAt, startedAt, holding: holding.promise };
}

describe('ready buffer', () => {
  it('keeps the leases of buffered jobs while they wait, far past the lease, so none is rescued', async () => {
    // 2 s leases, renewed every 667 ms: 1.3 s of slack for a renewal's round trip on a loaded machine
    // (with 1 s leases, 667 ms of slack, a CI run once saw a buffered job's lease lapse and the job run
    // twice). The slot is still held for four leases.
    const leaseMs = 2_000;
    const { ns, trailing, claimedAt, startedAt } = await slotHeldBehindBuffer(
      () => new Promise((resolve) => setTimeout(resolve, 4 * leaseMs)),
    );
    let completed = 0;
    ns.events.on('job:completed', () => (completed += 1));
    // The worker's own rescuer sweeps every 50 ms: a lapsed lease would be taken and run again.
    const worker = ns.startWorker({ ...FAST_WORKER, concurrency: 1, leaseMs, rescueIntervalMs: 50 });
    await waitUntil(() => completed === 1_301, { timeoutMs: 60_000, message: 'all jobs completed' });
    await worker.stop();

    const waits = trailing.map((id) => (startedAt.get(id) ?? 0) - (claimedAt.get(id) ?? Infinity));
    // The buffer really held jobs behind the slot for several leases.
    expect(Math.max(...waits)).toBeGreaterThan(3 * leaseMs);
    for (const id of trailing) {
      expect((await ns.getJobRuns(id)).map((run) => [run.outcome, run.attempt])).toEqual([['completed', 1]]);
    }
    const counts = await ns.store.jobCountByQueue();
    expect(counts).toEqual([{ queue: 'default', state: 'completed', count: 1_301 }]);
  });

  it('hands buffered jobs back on stop, attempt not spent', async () => {
    const { ns, trailing, claimedAt, startedAt, holding } = await slotHeldBehindBuffer(async (signal) => {
      await aborted(signal);
    });
    const worker = ns.startWorker({ ...FAST_WORKER, concurrency: 1 });
    await holding;
    // Claimed and not started while the one slot is held: buffered. (Two claims in flight at once may
    // answer out of order, so a few trailing jobs can run before the held one: those are not buffered.)
    const waiting = (): string[] => trailing.filter((id) => claimedAt.has(id) && !startedAt.has(id));
    await waitUntil(() => waiting().length > 0, { message: 'jobs buffered' });
    await worker.stop({ graceMs: 50 });

    const buffered = waiting();
    expect(buffered.length).toBeGreaterThan(0);
    for (const id of buffered) {
      expect(await ns.getJob(id)).toMatchObject({ state: 'queued', attempt: 0 });
      // Released by the stop, and again by any claim that was in flight as it began (on SQLite a claim
      // can queue behind the release's write and take the job once more, only to hand it back).
      const outcomes = (await ns.getJobRuns(id)).map((run) => run.outcome);
      expect(outcomes.length).toBeGreaterThan(0);
      expect(outcomes.every((outcome) => outcome === 'released')).toBe(true);
    }
  });

  it('leaves slow jobs to a second, idle worker instead of buffering them', async () => {
    const ns = await env.connect({
      tasks: { slow: () => new Promise((resolve) => setTimeout(resolve, 150)) },
    });
    // Enough rounds that the second worker's start (a loaded machine can delay its first claim by a
    // round or two, each worth two jobs to the first) does not decide the split: 20 jobs once left it 4,
    // 40 jobs 6 in a loaded CI run (its start ~1.3 s late, ~17 jobs to the first meanwhile).
    const total = 80;
    await ns.enqueueMany(Array.from({ length: total }, () => ({ task: 'slow', payload: null })));
    const ranBy = new Map<string, number>();
    ns.events.on('job:completed', ({ workerId }) => ranBy.set(workerId, (ranBy.get(workerId) ?? 0) + 1));
    const first = ns.startWorker({ ...FAST_WORKER, concurrency: 2 });
    await waitUntil(() => first.runningCount === 2, { message: 'first worker busy' });
    const second = ns.startWorker({ ...FAST_WORKER, concurrency: 2 });
    await waitUntil(() => [...ranBy.values()].reduce((a, b) => a + b, 0) === total, {
      timeoutMs: 30_000,
      message: 'all jobs completed',
    });
    await Promise.all([first.stop(), second.stop()]);
    // Half each at equal speed; a worker that buffered the backlog would have left the second none.
    expect(ranBy.get(second.id) ?? 0).toBeGreaterThanOrEqual(total / 4);
  });
});
