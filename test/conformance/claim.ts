/** Conformance: claim order, filters, lease fields, delayed jobs, exclusivity between stores. */
import { describe, expect, it } from 'vitest';
import type { ClaimedJob } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, mustGet, nowMs, openFrozen } from './helpers.js';

// Quotes and a backslash, which a store encoding the claim's answer as text must escape.
const TRACE_CONTEXT =
  '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"k=\\"v\\""}';

/** Claim tests. */
export function describeClaim(h: StoreHarness): void {
  describe('jobClaim', () => {
    it('claims by priority desc, then due time, then id', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const ids = ['00000000-0000-7000-8000-00000000000a', '00000000-0000-7000-8000-00000000000b'];
      const low = newJob({ priority: 0, runAt: new Date(now - 10_000) });
      const highLate = newJob({ priority: 5, runAt: new Date(now - 1_000) });
      const highEarly = newJob({ priority: 5, runAt: new Date(now - 5_000) });
      const tieB = newJob({ id: ids[1] as string, priority: 1, runAt: new Date(now - 2_000) });
      const tieA = newJob({ id: ids[0] as string, priority: 1, runAt: new Date(now - 2_000) });
      await store.jobInsertMany({ jobs: [low, highLate, tieB, highEarly, tieA] });
      const claimed = await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 });
      expect(claimed.map((j) => j.id)).toEqual([highEarly.id, highLate.id, tieA.id, tieB.id, low.id]);
    });

    it('claims at most limit jobs, only from the given queues', async () => {
      const store = await h.open();
      await store.jobInsertMany({
        jobs: [
          newJob({ queue: 'a' }),
          newJob({ queue: 'a' }),
          newJob({ queue: 'a' }),
          newJob({ queue: 'b' }),
        ],
      });
      const fromB = await store.jobClaim({ workerId: 'w', queues: ['b', 'z'], limit: 10, leaseMs: 30_000 });
      expect(fromB.map((j) => j.queue)).toEqual(['b']);
      const twoOfA = await store.jobClaim({ workerId: 'w', limit: 2, leaseMs: 30_000 });
      expect(twoOfA).toHaveLength(2);
      expect(await store.jobClaim({ workerId: 'w', queues: [], limit: 10, leaseMs: 30_000 })).toEqual([]);
      expect(await store.jobClaim({ workerId: 'w', limit: 0, leaseMs: 30_000 })).toEqual([]);
      const rest = await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 });
      expect(rest).toHaveLength(1);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 })).toEqual([]);
    });

    it('keeps the claim order across the chosen queues', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const a1 = newJob({ queue: 'a', priority: 1, runAt: new Date(now - 3_000) });
      const a2 = newJob({ queue: 'a', priority: 0, runAt: new Date(now - 9_000) });
      const b1 = newJob({ queue: 'b', priority: 1, runAt: new Date(now - 5_000) });
      const b2 = newJob({ queue: 'b', priority: 0, runAt: new Date(now - 1_000) });
      const c1 = newJob({ queue: 'c', priority: 9 });
      await store.jobInsertMany({ jobs: [a1, a2, b1, b2, c1] });
      const first = await store.jobClaim({ workerId: 'w', queues: ['a', 'b'], limit: 3, leaseMs: 30_000 });
      expect(first.map((j) => j.id)).toEqual([b1.id, a1.id, a2.id]);
      const rest = await store.jobClaim({ workerId: 'w', queues: ['b', 'a'], limit: 3, leaseMs: 30_000 });
      expect(rest.map((j) => j.id)).toEqual([b2.id]);
      expect((await mustGet(store, c1.id)).state).toBe('queued');
    });

    it('starts an attempt: running, attempt + 1, fresh token, worker, start and lease on the store clock', async () => {
      const store = await openFrozen(h);
      const before = await nowMs(store);
      const first = await claimOne(store, {}, { workerId: 'worker-a', leaseMs: 20_000 });
      const second = await claimOne(store, { leaseMs: 5_000 }, { workerId: 'worker-b', leaseMs: 20_000 });
      expect(first).toMatchObject({ state: 'running', attempt: 1, workerId: 'worker-a' });
      expect(first.leaseToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(second.leaseToken).not.toBe(first.leaseToken);
      const stored = await mustGet(store, first.id);
      expect(stored).toMatchObject({ state: 'running', attempt: 1, workerId: 'worker-a' });
      expect(stored.startedAt?.getTime()).toBe(before);
      expect(stored.leaseExpiresAt?.getTime()).toBe(before + 20_000);
      // The job's own leaseMs wins over the claimer's.
      expect(second.leaseExpiresAt?.getTime()).toBe(before + 5_000);
    });

    it('does not claim a delayed job early, and claims it once due', async () => {
      const store = await openFrozen(h);
      const job = newJob({ delayMs: 60_000 });
      await store.jobInsertMany({ jobs: [job] });
      await h.advanceClock(store, 59_999);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 })).toEqual([]);
      expect((await mustGet(store, job.id)).state).toBe('scheduled');
      await h.advanceClock(store, 1);
      const claimed = await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 30_000 });
      expect(claimed.map((j) => j.id)).toEqual([job.id]);
      expect(claimed[0]).toMatchObject({ state: 'running', attempt: 1 });
    });

    it('promotes due scheduled jobs and orders them with queued ones', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const queued = newJob({ priority: 1 });
      const scheduled = newJob({ priority: 9, runAt: new Date(now + 3_600_000) });
      await store.jobInsertMany({ jobs: [queued, scheduled] });
      await h.advanceClock(store, 3_600_000); // the scheduled job comes due
      const claimed = await store.jobClaim({ workerId: 'w', limit: 1, leaseMs: 30_000 });
      expect(claimed.map((j) => j.id)).toEqual([scheduled.id]);
      expect((await mustGet(store, queued.id)).state).toBe('queued');
    });

    it('hands back each claimed job exactly as jobGet reads it, every field', async () => {
      const store = await h.open();
      const queue = 'decode';
      const full = newJob({
        queue,
        task: 'decode.full',
        payload: {
          text: 'zażółć "quoted" \\ slash',
          list: [1, 2.5, null, true],
          nested: { deep: { x: 'y' } },
        },
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
      await store.jobInsertMany({ jobs: [full, bare] });
      // A first attempt that saved a checkpoint of null and failed with an error, then came back due.
      const [first] = await store.jobClaim({ workerId: 'w1', queues: [queue], limit: 1, leaseMs: 30_000 });
      if (!first) throw new Error('nothing claimed');
      expect(
        await store.jobCheckpointSave({ id: first.id, leaseToken: first.leaseToken, checkpoint: null }),
      ).toBe(true);
      await store.jobFinishMany({
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

      const claimed = await store.jobClaim({ workerId: 'w2', queues: [queue], limit: 10, leaseMs: 30_000 });
      expect(claimed.map((j) => j.id)).toEqual([full.id, bare.id]);
      for (const job of claimed) {
        const { leaseToken, traceContext, ...record } = job;
        expect(record).toEqual(await store.jobGet({ id: job.id }));
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

    it('hands back grouped and labelled jobs exactly as jobGet reads them', async () => {
      const store = await h.open();
      const queue = 'decode-grouped';
      const grouped = newJob({ queue, group: 'tenant "a"', concurrencyKey: 'k', concurrencyLimit: 2 });
      const labelled = newJob({ queue, requires: ['gpu', 'zone-1'] });
      const both = newJob({ queue, group: 'tenant-b', requires: ['gpu'], idempotencyKey: 'both' });
      await store.jobInsertMany({ jobs: [grouped, labelled, both] });
      const claimed = await store.jobClaim({
        workerId: 'w',
        queues: [queue],
        labels: ['gpu', 'zone-1'],
        limit: 10,
        leaseMs: 30_000,
      });
      expect(claimed.map((j) => j.id).sort()).toEqual([grouped.id, labelled.id, both.id].sort());
      for (const job of claimed) {
        const { leaseToken: _token, traceContext, ...record } = job;
        expect(record).toEqual(await store.jobGet({ id: job.id }));
        expect(traceContext).toBeNull();
      }
      const byId = new Map(claimed.map((j) => [j.id, j]));
      expect(byId.get(grouped.id)).toMatchObject({ group: 'tenant "a"', concurrencyKey: 'k', requires: [] });
      expect(byId.get(labelled.id)).toMatchObject({ group: null, requires: ['gpu', 'zone-1'] });
      expect(byId.get(both.id)).toMatchObject({
        group: 'tenant-b',
        requires: ['gpu'],
        idempotencyKey: 'both',
      });
    });

    it('never hands one job to two stores claiming concurrently', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      const total = 120;
      await store.jobInsertMany({
        jobs: Array.from({ length: total }, (_, i) => newJob({ priority: i % 3 })),
      });
      const claims: ClaimedJob[] = [];
      const drain = async (s: typeof store, workerId: string) => {
        for (;;) {
          const batch = await s.jobClaim({ workerId, limit: 7, leaseMs: 30_000 });
          if (batch.length === 0) return;
          claims.push(...batch);
        }
      };
      await Promise.all([drain(store, 'w1'), drain(peer, 'w2'), drain(store, 'w3'), drain(peer, 'w4')]);
      const ids = claims.map((j) => j.id);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      const { jobs } = await store.jobList({ limit: total + 1, state: 'running' });
      expect(jobs).toHaveLength(total);
      expect(jobs.every((j) => j.attempt === 1)).toBe(true);
    });
  });
}
