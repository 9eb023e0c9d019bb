/**
 * Claiming ahead of free slots (src/worker/prefetch.ts and the claim lanes of worker.ts): the
 * allowance follows slot turnover, stale prefetched attempts are taken out, a worker running two
 * claim lanes over many short jobs still runs each job exactly once, synchronous handlers ending while
 * a batch starts never take a worker past its slots, and a claim loop held back by unwritten outcomes
 * resumes as soon as they are written, not at its next poll.
 */
import { describe, expect, it } from 'vitest';
import { Prefetch } from '../../src/worker/prefetch.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();

describe('prefetch allowance', () => {
  it('allows nothing ahead while no slot has turned over', () => {
    const prefetch = new Prefetch<string>({ max: 100, ttlMs: 1_000 });
    prefetch.claimAnswered(20);
    prefetch.claimAnswered(20);
    expect(prefetch.allowance()).toBe(0);
  });

  it('allows about the slots freed during one claim round trip, at most one batch', () => {
    const prefetch = new Prefetch<string>({ max: 100, ttlMs: 1_000 });
    // Thousands of attempts ended since the last sample, however little time passed: capped at `max`.
    for (let n = 0; n < 5_000; n += 1) prefetch.attemptEnded();
    prefetch.claimAnswered(1_000);
    expect(prefetch.allowance()).toBe(100);
    // No attempt ended since: the turnover estimate decays towards zero claim by claim.
    for (let n = 0; n < 40; n += 1) prefetch.claimAnswered(1_000);
    expect(prefetch.allowance()).toBe(0);
  });

  it('hands out waiting attempts oldest first and takes out those past their wait bound', () => {
    const fresh = new Prefetch<string>({ max: 10, ttlMs: 60_000 });
    fresh.push('a');
    fresh.push('b');
    expect(fresh.takeStale()).toEqual([]);
    expect(fresh.shift()).toBe('a');
    expect(fresh.drain()).toEqual(['b']);
    expect(fresh.size).toBe(0);

    const expired = new Prefetch<string>({ max: 10, ttlMs: 0 });
    expired.push('a');
    expired.push('b');
    expect(expired.takeStale()).toEqual(['a', 'b']);
    expect(expired.size).toBe(0);
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
