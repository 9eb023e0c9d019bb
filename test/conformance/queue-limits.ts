/** Conformance: queue limits, at most N running jobs of a queue cluster-wide, slots given back once. */
import { describe, expect, it } from 'vitest';
import type { ClaimedJob, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';

const LEASE = { leaseMs: 30_000 };

async function queueRunning(store: Store, queue: string): Promise<number | undefined> {
  return (await store.queueLimitList()).find((q) => q.queue === queue)?.running;
}

async function complete(store: Store, jobs: ClaimedJob[]): Promise<void> {
  await store.jobFinishMany({
    finishes: jobs.map((j) => ({
      id: j.id,
      leaseToken: j.leaseToken,
      outcome: 'completed' as const,
      result: 1,
    })),
  });
}

/** Queue limit tests. */
export function describeQueueLimits(h: StoreHarness): void {
  describe('queue limits', () => {
    it('claims at most the limit of a queue, other queues unaffected, and a finish frees a slot', async () => {
      const store = await h.open();
      await store.queueSetLimit({ queue: 'ql', limit: 2 });
      await store.jobInsertMany({
        jobs: [
          ...Array.from({ length: 5 }, () => newJob({ queue: 'ql', priority: 5 })),
          newJob({ queue: 'free' }),
          newJob({ queue: 'free' }),
        ],
      });
      const first = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      expect(first.map((j) => j.queue).sort()).toEqual(['free', 'free', 'ql', 'ql']);
      expect(await store.jobClaim({ workerId: 'w', queues: ['ql'], limit: 10, ...LEASE })).toEqual([]);
      expect(await store.queueLimitList()).toEqual([{ queue: 'ql', limit: 2, running: 2, rate: null }]);

      await complete(store, first.filter((j) => j.queue === 'ql').slice(0, 1));
      expect(await queueRunning(store, 'ql')).toBe(1);
      const next = await store.jobClaim({ workerId: 'w', queues: ['ql', 'free'], limit: 10, ...LEASE });
      expect(next.map((j) => j.queue)).toEqual(['ql']);
    });

    it('a limit set by another store is obeyed by the next claim of a store that claimed without one', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      await store.jobInsertMany({ jobs: Array.from({ length: 12 }, () => newJob({ queue: 'set-late' })) });
      expect(await store.jobClaim({ workerId: 'w', limit: 3, ...LEASE })).toHaveLength(3);
      expect(await store.jobClaim({ workerId: 'w', queues: ['set-late'], limit: 3, ...LEASE })).toHaveLength(
        3,
      );
      await peer.queueSetLimit({ queue: 'set-late', limit: 2 });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(2);
      expect(await store.jobClaim({ workerId: 'w', queues: ['set-late'], limit: 10, ...LEASE })).toEqual([]);
      expect(await queueRunning(store, 'set-late')).toBe(2);
    });

    it('a limit counts the jobs claimed after it was set; removing it keeps the count of those', async () => {
      const store = await h.open();
      await store.jobInsertMany({ jobs: Array.from({ length: 6 }, () => newJob({ queue: 'late' })) });
      const before = await store.jobClaim({ workerId: 'w', limit: 3, ...LEASE });
      await store.queueSetLimit({ queue: 'late', limit: 1 });
      const counted = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      expect(counted).toHaveLength(1);
      await complete(store, before);
      expect(await queueRunning(store, 'late')).toBe(1);

      await store.queueSetLimit({ queue: 'late', limit: null });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(2);
      expect(await store.queueLimitList()).toEqual([{ queue: 'late', limit: null, running: 1, rate: null }]);
      await complete(store, counted);
      expect(await queueRunning(store, 'late')).toBe(0);
    });

    it('removing the limit or rate of a queue that has none lists no queue', async () => {
      // An operator's "Remove" on a mistyped name must not leave that name listed for good.
      const store = await h.open();
      await store.queueSetLimit({ queue: 'mial', limit: null });
      await store.queueSetRate({ queue: 'mial', rate: null });
      expect(await store.queueLimitList()).toEqual([]);
      // A queue that has a row keeps it, its settings removed.
      await store.queueSetLimit({ queue: 'mail', limit: 2 });
      await store.queueSetRate({ queue: 'mail', rate: { limit: 5, periodMs: 1_000 } });
      await store.queueSetLimit({ queue: 'mail', limit: null });
      await store.queueSetRate({ queue: 'mail', rate: null });
      expect(await store.queueLimitList()).toEqual([{ queue: 'mail', limit: null, running: 0, rate: null }]);
    });

    it('holds a queue limit and a key limit together, and gives both back in the rescue', async () => {
      const store = await h.open();
      await store.queueSetLimit({ queue: 'both', limit: 2 });
      await store.jobInsertMany({
        jobs: [
          ...Array.from({ length: 3 }, () => newJob({ queue: 'both', priority: 9, concurrencyKey: 'one' })),
          ...Array.from({ length: 3 }, () => newJob({ queue: 'both' })),
        ],
      });
      const claimed = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      expect(claimed.map((j) => j.concurrencyKey)).toEqual(['one', null]);
      await h.advanceClock(store, LEASE.leaseMs + 1_000);
      expect((await store.jobRescueLapsed({ limit: 10 })).requeued).toHaveLength(2);
      expect(await queueRunning(store, 'both')).toBe(0);
      expect(await store.concurrencyKeyList({ limit: 10, running: true })).toEqual([]);
    });

    it('two stores claiming at once never exceed a queue limit of 3', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      await store.queueSetLimit({ queue: 'race', limit: 3 });
      await store.jobInsertMany({ jobs: Array.from({ length: 40 }, () => newJob({ queue: 'race' })) });
      const rounds = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? store : peer).jobClaim({
            workerId: `w${i}`,
            limit: 2,
            ...(i % 4 < 2 && { queues: ['race'] }),
            ...LEASE,
          }),
        ),
      );
      expect(rounds.flat()).toHaveLength(3);
      expect(await queueRunning(store, 'race')).toBe(3);
    });
  });
}
