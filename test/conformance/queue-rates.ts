/**
 * Conformance: rate limits per queue, at most `limit` starts per `periodMs` on the store's clock (a
 * burst of `limit`, then evenly spaced), whichever store claims. The clock is frozen and moved by hand
 * on both backends, so boundaries hold to the ms.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimedJob, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { openFrozen } from './helpers.js';

const LEASE = { leaseMs: 30_000 };

/**
 * Claims from `stores` in turn until `total` jobs started, moving their clock `stepMs` between rounds,
 * and returns every claimed job.
 */
async function claimAll(
  h: StoreHarness,
  stores: Store[],
  total: number,
  stepMs: number,
): Promise<ClaimedJob[]> {
  const started: ClaimedJob[] = [];
  for (let round = 0; started.length < total; round += 1) {
    if (round > 2_000) throw new Error(`only ${started.length} of ${total} jobs started`);
    const store = stores[round % stores.length] as Store;
    started.push(...(await store.jobClaim({ workerId: `w${round}`, limit: 10, ...LEASE })));
    await h.advanceClock(store, stepMs);
  }
  return started;
}

/**
 * The cell rate's bound: between the first and the last of any run of starts (in start order), at most
 * `limit` + elapsed * limit / period of them, the burst plus the rate.
 */
function maxExcess(starts: number[], limit: number, periodMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let worst = -Infinity;
  sorted.forEach((first, i) => {
    for (let j = i; j < sorted.length; j += 1) {
      const allowed = limit + (((sorted[j] as number) - first) * limit) / periodMs;
      worst = Math.max(worst, j - i + 1 - allowed);
    }
  });
  return worst;
}

/** Queue rate tests. */
export function describeQueueRates(h: StoreHarness): void {
  describe('queue rates', () => {
    it('allows a burst of the limit, then throttles the queue only; its jobs wait, then run', async () => {
      const store = await h.open();
      await store.queueSetRate({ queue: 'rated', rate: { limit: 3, periodMs: 600_000 } });
      await store.jobInsertMany({
        jobs: [
          ...Array.from({ length: 5 }, () => newJob({ queue: 'rated', priority: 5 })),
          newJob({ queue: 'free' }),
        ],
      });
      const first = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      expect(first.map((j) => j.queue)).toEqual(['rated', 'rated', 'rated', 'free']);
      expect(await store.jobClaim({ workerId: 'w', queues: ['rated'], limit: 10, ...LEASE })).toEqual([]);
      // A rate takes no slot of a concurrency limit: nothing counts as running against one.
      expect(await store.queueLimitList()).toEqual([
        { queue: 'rated', limit: null, running: 0, rate: { limit: 3, periodMs: 600_000 } },
      ]);

      // A new rate starts with a full burst; removing the rate lets the rest run.
      await store.queueSetRate({ queue: 'rated', rate: { limit: 1, periodMs: 600_000 } });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toEqual([]);
      await store.queueSetRate({ queue: 'rated', rate: null });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
      expect((await store.queueLimitList())[0]?.rate).toBeNull();
    });

    it('keeps the spent starts of a queue or key whose rate in force is set again', async () => {
      // Every process connecting with the config sets its queues' rates again: that must grant no
      // new burst, or each worker (re)start would let another burst through.
      const store = await h.open();
      const rate = { limit: 2, periodMs: 600_000 };
      await store.queueSetRate({ queue: 'again', rate });
      await store.concurrencyKeySetRate({ key: 'again-key', rate });
      await store.jobInsertMany({
        jobs: [
          ...Array.from({ length: 4 }, () => newJob({ queue: 'again' })),
          ...Array.from({ length: 4 }, () => newJob({ concurrencyKey: 'again-key', concurrencyLimit: 10 })),
        ],
      });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(4);
      await store.queueSetRate({ queue: 'again', rate });
      await store.concurrencyKeySetRate({ key: 'again-key', rate: { ...rate } });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toEqual([]);
    });

    it('spaces starts by period / limit after the burst, to the ms', async () => {
      const store = await openFrozen(h);
      await store.queueSetRate({ queue: 'spaced', rate: { limit: 4, periodMs: 2_000 } });
      await store.jobInsertMany({ jobs: Array.from({ length: 8 }, () => newJob({ queue: 'spaced' })) });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(4);
      await h.advanceClock(store, 499);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toEqual([]);
      await h.advanceClock(store, 1);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
      await h.advanceClock(store, 1_000);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(2);
      await h.advanceClock(store, 60_000); // idle: the burst comes back, never more
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
    });

    it('two stores claiming in turn never start more than the burst plus the rate over any window', async () => {
      const store = await openFrozen(h);
      const peer = await h.openPeer(store);
      const rate = { limit: 4, periodMs: 400 };
      await store.queueSetRate({ queue: 'window', rate });
      await store.jobInsertMany({ jobs: Array.from({ length: 16 }, () => newJob({ queue: 'window' })) });
      const started = await claimAll(h, [store, peer], 16, 30);
      expect(started).toHaveLength(16);
      expect(
        maxExcess(
          started.map((j) => Number(j.startedAt)),
          rate.limit,
          rate.periodMs,
        ),
      ).toBeLessThan(1e-6);
    });

    it("limits a key's starts across queues, its jobs waiting while other keys' run", async () => {
      const store = await openFrozen(h);
      const rate = { limit: 2, periodMs: 600_000 };
      await store.concurrencyKeySetRate({ key: 'paced', rate });
      await store.jobInsertMany({
        jobs: [
          ...Array.from({ length: 4 }, (_, i) =>
            newJob({ queue: `q${i}`, priority: 9, concurrencyKey: 'paced', concurrencyLimit: 10 }),
          ),
          newJob({ concurrencyKey: 'other' }),
        ],
      });
      const first = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      expect(first.map((j) => j.concurrencyKey)).toEqual(['paced', 'paced', 'other']);
      expect(await store.jobClaim({ workerId: 'w', queues: ['q2', 'q3'], limit: 10, ...LEASE })).toEqual([]);
      expect((await store.concurrencyKeyList({ limit: 10 })).find((k) => k.key === 'paced')).toEqual({
        key: 'paced',
        running: 2,
        limit: 10,
        operatorLimit: null,
        rate,
      });
      await h.advanceClock(store, 300_000); // one spacing: one more start
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
      await store.concurrencyKeySetRate({ key: 'paced', rate: null });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
    });

    it('two stores racing for a key with one start left start one job', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      await store.concurrencyKeySetRate({ key: 'last', rate: { limit: 1, periodMs: 600_000 } });
      await store.jobInsertMany({
        jobs: Array.from({ length: 10 }, () => newJob({ concurrencyKey: 'last', concurrencyLimit: 10 })),
      });
      const rounds = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? store : peer).jobClaim({ workerId: `w${i}`, limit: 3, ...LEASE }),
        ),
      );
      expect(rounds.flat()).toHaveLength(1);
    });
  });
}
