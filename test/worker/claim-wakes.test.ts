/**
 * When the claim lanes claim (src/worker/wakeup.ts, claim-loop.ts): after a claim that found the queues
 * drained, a worker claims again for new work, not for every slot its jobs free (under steady small
 * batches that made three claims in four come back empty); a job a limit held back still starts as soon
 * as the job holding its slot finishes, without waiting for the poll.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();

// Longer than every wait below: a job these tests see start was started by a wake, not by the poll.
const NO_POLL = { ...FAST_WORKER, pollIntervalMs: 60_000 };

/** Counts the store's claims and those that came back empty. */
function countClaims(store: Store): { calls: number; empty: number } {
  const counts = { calls: 0, empty: 0 };
  const claim = store.jobClaim.bind(store);
  store.jobClaim = async (params) => {
    counts.calls += 1;
    const jobs = await claim(params);
    if (jobs.length === 0) counts.empty += 1;
    return jobs;
  };
  return counts;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('claim wakes', () => {
  it('claims about once per batch of new work, not once per freed slot', async () => {
    const ns = await env.connect({ tasks: { tick: () => undefined } });
    const counts = countClaims(ns.store);
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    const batches = 40;
    for (let batch = 0; batch < batches; batch += 1) {
      await ns.enqueueMany(Array.from({ length: 10 }, (_, n) => ({ task: 'tick', payload: { batch, n } })));
      await sleep(15);
    }
    await waitUntil(() => completed === batches * 10, {
      message: `${completed} of ${batches * 10} completed`,
    });
    // Before: both lanes claimed on every event and again on every freed slot and written outcome,
    // about four claims per batch, three of them empty.
    expect(counts.empty).toBeLessThanOrEqual(batches / 4);
    expect(counts.calls).toBeLessThanOrEqual(batches * 1.5);
  });

  it('starts jobs their concurrency key held back as the holder finishes, without the poll', async () => {
    const ns = await env.connect({ tasks: { sync: () => sleep(20) } });
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    for (let n = 0; n < 4; n += 1) {
      await ns.enqueue('sync', { n }, { concurrencyKey: 'tenant:a', concurrencyLimit: 1 });
    }
    await waitUntil(() => completed === 4, { timeoutMs: 10_000, message: `${completed} of 4 completed` });
  });

  it('starts jobs their queue limit held back as a running one finishes, without the poll', async () => {
    const ns = await env.connect({ tasks: { send: () => sleep(20) } });
    await ns.setQueueLimit('mail', 1);
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    await ns.enqueueMany(
      Array.from({ length: 4 }, (_, n) => ({ task: 'send', payload: { n }, options: { queue: 'mail' } })),
    );
    await waitUntil(() => completed === 4, { timeoutMs: 10_000, message: `${completed} of 4 completed` });
  });
});
