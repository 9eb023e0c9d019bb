/** Conformance: inserting jobs, idempotency keys and lease-fenced inserts. */
import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, mustGet, nowMs, openFrozen } from './helpers.js';

/** Insert tests. */
export function describeInsert(h: StoreHarness): void {
  describe('jobInsertMany', () => {
    it('answers an enqueue with each new job exactly as jobGet reads it', async () => {
      const store = await h.open();
      const jobs = [
        newJob({ payload: { at: new Date('2026-01-02T03:04:05.678Z'), skip: undefined } }),
        newJob({ payload: undefined, runAt: new Date(Date.now() + 3_600_000) }),
        newJob({ delayMs: 90_000, idempotencyKey: 'insert-key', leaseMs: 5_000 }),
        newJob({ scheduleSlot: new Date('2026-03-04T05:06:07.089Z'), parentId: 'p' }),
        // Queued, but due before its creation.
        newJob({ runAt: new Date(Date.now() - 60_000) }),
      ];
      const results = await store.jobInsertMany({ jobs });
      expect(results.map((r) => r.created)).toEqual([true, true, true, true, true]);
      expect(results.map((r) => r.job.state)).toEqual([
        'queued',
        'scheduled',
        'scheduled',
        'queued',
        'queued',
      ]);
      expect(results[4]?.job.runAt.getTime()).toBeLessThan(results[4]!.job.createdAt.getTime());
      expect(results[0]?.job.payload).toEqual({ at: '2026-01-02T03:04:05.678Z' });
      for (const { job } of results) expect(job).toEqual(await store.jobGet({ id: job.id }));
    });

    it('answers a batch whose key was taken with each new job exactly as jobGet reads it', async () => {
      const store = await h.open();
      const [taken] = await store.jobInsertMany({ jobs: [newJob({ idempotencyKey: 'taken' })] });
      const jobs = [
        newJob(),
        newJob({ idempotencyKey: 'taken' }),
        newJob({ delayMs: 30_000 }),
        newJob({ runAt: new Date(Date.now() - 5_000) }),
        newJob(),
      ];
      const results = await store.jobInsertMany({ jobs });
      expect(results.map((r) => r.created)).toEqual([true, false, true, true, true]);
      expect(results[1]?.job.id).toBe(taken?.job.id);
      expect(results.map((r) => r.job.state)).toEqual(['queued', 'queued', 'scheduled', 'queued', 'queued']);
      for (const { job } of results) expect(job).toEqual(await store.jobGet({ id: job.id }));
    });

    it('stores every field and queues a job due now', async () => {
      const store = await openFrozen(h);
      const now = await nowMs(store);
      const slot = new Date(now - 60_000);
      const job = newJob({
        task: 'mail.send',
        queue: 'mail',
        payload: { to: 'a@example.com', list: [1, 2], nested: { ok: true } },
        priority: 7,
        maxAttempts: 9,
        concurrencyKey: 'tenant-1',
        leaseMs: 12_000,
        timeoutMs: 3_000,
        scheduleId: 'nightly',
        scheduleSlot: slot,
        parentId: 'parent-1',
      });
      const [result] = await store.jobInsertMany({ jobs: [job] });
      expect(result?.created).toBe(true);
      const stored = await mustGet(store, job.id);
      expect(stored).toMatchObject({
        id: job.id,
        task: 'mail.send',
        queue: 'mail',
        payload: { to: 'a@example.com', list: [1, 2], nested: { ok: true } },
        state: 'queued',
        priority: 7,
        attempt: 0,
        maxAttempts: 9,
        concurrencyKey: 'tenant-1',
        leaseMs: 12_000,
        timeoutMs: 3_000,
        scheduleId: 'nightly',
        scheduleSlot: slot,
        parentId: 'parent-1',
        idempotencyKey: null,
        startedAt: null,
        finishedAt: null,
        leaseExpiresAt: null,
        workerId: null,
        result: null,
        error: null,
        checkpoint: undefined,
        cancelRequested: false,
      });
      expect(result?.job).toEqual(stored);
      expect(stored.runAt.getTime()).toBe(now);
      expect(stored.createdAt.getTime()).toBe(now);
    });

    it('keeps each job its own optional fields in a batch where most jobs set none', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const slot = new Date(now - 60_000);
      const plain = Array.from({ length: 5 }, () => newJob());
      const options = {
        runAt: new Date(now + 3_600_000),
        idempotencyKey: `key-${plain[0]?.id}`,
        concurrencyKey: 'tenant-2',
        leaseMs: 12_000,
        timeoutMs: 3_000,
        scheduleId: 'hourly',
        scheduleSlot: slot,
        parentId: 'parent-2',
      };
      const full = newJob(options);
      const delayed = newJob({ delayMs: 60_000 });
      // The full job in the middle, the delayed one last: columns set by one job only, at any position.
      const jobs = [plain[0], plain[1], full, plain[2], plain[3], delayed, plain[4]] as typeof plain;
      await store.jobInsertMany({ jobs });
      expect(await mustGet(store, full.id)).toMatchObject({ state: 'scheduled', ...options });
      expect((await mustGet(store, delayed.id)).state).toBe('scheduled');
      // Every column the full job set, except its due time, is NULL on the plain jobs.
      const { runAt: _due, ...set } = options;
      const unset = Object.fromEntries(Object.keys(set).map((column) => [column, null]));
      for (const job of plain) {
        expect(await mustGet(store, job.id)).toMatchObject({ state: 'queued', ...unset });
      }
    });

    it('schedules a job with a future runAt or a delay, and queues one whose runAt has passed', async () => {
      const store = await openFrozen(h);
      const now = await nowMs(store);
      const future = newJob({ runAt: new Date(now + 3_600_000) });
      const delayed = newJob({ delayMs: 60_000 });
      const past = newJob({ runAt: new Date(now - 1_000) });
      await store.jobInsertMany({ jobs: [future, delayed, past] });
      expect((await mustGet(store, future.id)).state).toBe('scheduled');
      expect((await mustGet(store, future.id)).runAt.getTime()).toBe(now + 3_600_000);
      const delayedJob = await mustGet(store, delayed.id);
      expect(delayedJob.state).toBe('scheduled');
      expect(delayedJob.runAt.getTime()).toBe(now + 60_000);
      expect((await mustGet(store, past.id)).state).toBe('queued');
    });

    it('returns the existing job for a repeated idempotency key', async () => {
      const store = await h.open();
      const first = newJob({ idempotencyKey: 'order-42', payload: { v: 1 } });
      const second = newJob({ idempotencyKey: 'order-42', payload: { v: 2 } });
      const [a] = await store.jobInsertMany({ jobs: [first] });
      const [b] = await store.jobInsertMany({ jobs: [second] });
      expect(a?.created).toBe(true);
      expect(b?.created).toBe(false);
      expect(b?.job.id).toBe(first.id);
      expect(b?.job.payload).toEqual({ v: 1 });
      expect(await store.jobGet({ id: second.id })).toBeUndefined();
    });

    it('resolves duplicate keys inside one batch to the first job', async () => {
      const store = await h.open();
      const a = newJob({ idempotencyKey: 'k' });
      const b = newJob({ idempotencyKey: 'k' });
      const c = newJob();
      const d = newJob({ idempotencyKey: 'other' });
      const results = await store.jobInsertMany({ jobs: [a, b, c, d] });
      expect(results.map((r) => r.created)).toEqual([true, false, true, true]);
      expect(results.map((r) => r.job.id)).toEqual([a.id, a.id, c.id, d.id]);
      const { jobs } = await store.jobList({ limit: 10 });
      expect(jobs.map((j) => j.id).sort()).toEqual([a.id, c.id, d.id].sort());
    });

    it('creates one job when two stores insert the same key concurrently', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      const attempts = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? store : peer).jobInsertMany({ jobs: [newJob({ idempotencyKey: 'once' })] }),
      );
      const results = (await Promise.all(attempts)).flat();
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const ids = new Set(results.map((r) => r.job.id));
      expect(ids.size).toBe(1);
      const { jobs } = await store.jobList({ limit: 50 });
      expect(jobs).toHaveLength(1);
    });

    it('inserts under a fence only while that attempt holds its lease', async () => {
      const store = await h.open();
      const parent = await claimOne(store);
      const child = newJob({ parentId: parent.id, idempotencyKey: `${parent.id}:child` });
      const [result] = await store.jobInsertMany({
        jobs: [child],
        fence: { id: parent.id, leaseToken: parent.leaseToken },
      });
      expect(result?.created).toBe(true);
      expect((await mustGet(store, child.id)).parentId).toBe(parent.id);

      const stale = newJob({ parentId: parent.id });
      await expect(
        store.jobInsertMany({ jobs: [stale], fence: { id: parent.id, leaseToken: 'not-the-token' } }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.jobGet({ id: stale.id })).toBeUndefined();
    });

    it('accepts an empty batch', async () => {
      const store = await h.open();
      expect(await store.jobInsertMany({ jobs: [] })).toEqual([]);
    });
  });
}
