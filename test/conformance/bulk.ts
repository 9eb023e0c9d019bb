/** Conformance: deleting final jobs, and the bulk retry and cancel of every job matching a filter. */
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, failOne, insertOne, mustGet } from './helpers.js';

/** jobDelete, jobRetryMatching and jobCancelMatching tests. */
export function describeBulk(h: StoreHarness): void {
  describe('jobDelete', () => {
    it('deletes a final job with its run history, and refuses waiting and running jobs', async () => {
      const store = await h.open();
      const failed = await failOne(store);
      expect(await store.jobRunList({ jobId: failed.id })).toHaveLength(1);
      expect(await store.jobDelete({ id: failed.id })).toEqual({ outcome: 'deleted' });
      expect(await store.jobGet({ id: failed.id })).toBeUndefined();
      expect(await store.jobRunList({ jobId: failed.id })).toEqual([]);

      const queued = await insertOne(store);
      const running = await claimOne(store);
      for (const job of [queued, running]) {
        const before = await mustGet(store, job.id);
        expect(await store.jobDelete({ id: job.id })).toEqual({ outcome: 'not_final' });
        expect(await mustGet(store, job.id)).toEqual(before);
      }
      expect(await store.jobDelete({ id: uuidv7() })).toEqual({ outcome: 'not_found' });
      expect(await store.jobDelete({ id: 'not-an-id' })).toEqual({ outcome: 'not_found' });
    });

    it('leaves retention working after a deleted job', async () => {
      const store = await h.open();
      const gone = await failOne(store);
      const kept = await failOne(store);
      await store.jobDelete({ id: gone.id });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.jobPrune({ olderThanMs: 0, limit: 10 })).toEqual({ deleted: 1 });
      expect(await store.jobGet({ id: kept.id })).toBeUndefined();
    });
  });

  describe('jobRetryMatching', () => {
    it('requeues the failed jobs matching the filters, across batches, and no others', async () => {
      const store = await h.open();
      const queue = `q-${uuidv7()}`;
      const matching = [];
      for (let i = 0; i < 3; i++) matching.push(await failOne(store, { queue, task: 'a' }));
      const otherTask = await failOne(store, { queue, task: 'b' });
      const otherQueue = await failOne(store, { task: 'a' });
      const cancelled = await insertOne(store, { queue, task: 'a' });
      await store.jobCancel({ id: cancelled.id });

      expect(await store.jobRetryMatching({ match: { queue, task: 'a' }, limit: 2 })).toEqual({ retried: 2 });
      expect(await store.jobRetryMatching({ match: { queue, task: 'a' }, limit: 10 })).toEqual({
        retried: 1,
      });
      for (const job of matching)
        expect(await mustGet(store, job.id)).toMatchObject({ state: 'queued', maxAttempts: 2 });
      for (const job of [otherTask, otherQueue]) expect((await mustGet(store, job.id)).state).toBe('failed');
      expect((await mustGet(store, cancelled.id)).state).toBe('cancelled');
      const claimed = await store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 1_000 });
      expect(claimed.map((j) => j.id).sort()).toEqual(matching.map((j) => j.id).sort());

      expect(await store.jobRetryMatching({ match: { state: 'cancelled' }, limit: 10 })).toEqual({
        retried: 1,
      });
      expect((await mustGet(store, cancelled.id)).state).toBe('queued');
    });

    it('walks more jobs than one batch holds', async () => {
      const store = await h.open();
      const queue = `q-${uuidv7()}`;
      const jobs = Array.from({ length: 1_200 }, () => newJob({ queue }));
      await store.jobInsertMany({ jobs });
      expect(await store.jobCancelMatching({ match: { queue }, limit: 100_000 })).toEqual({
        cancelled: 1_200,
        cancelRequested: 0,
      });
      expect(await store.jobRetryMatching({ match: { state: 'cancelled', queue }, limit: 100_000 })).toEqual({
        retried: 1_200,
      });
      const counts = (await store.jobCountByQueue()).filter((c) => c.queue === queue);
      expect(counts).toEqual([{ queue, state: 'queued', count: 1_200 }]);
    });
  });

  describe('jobCancelMatching', () => {
    it('cancels waiting jobs and flags running ones matching the filters', async () => {
      const store = await h.open();
      const queue = `q-${uuidv7()}`;
      const queued = await insertOne(store, { queue, task: 'a' });
      const scheduled = await insertOne(store, { queue, task: 'a', delayMs: 60_000 });
      const otherTask = await insertOne(store, { queue, task: 'b' });
      const running = await claimOne(store, { queue: `${queue}-run`, task: 'a' });
      const done = await claimOne(store, { queue: `${queue}-done`, task: 'a' });
      await store.jobFinishMany({
        finishes: [{ id: done.id, leaseToken: done.leaseToken, outcome: 'completed' }],
      });

      expect(await store.jobCancelMatching({ match: { task: 'a', state: 'scheduled' }, limit: 10 })).toEqual({
        cancelled: 1,
        cancelRequested: 0,
      });
      expect((await mustGet(store, scheduled.id)).state).toBe('cancelled');
      expect((await mustGet(store, queued.id)).state).toBe('queued');

      expect(await store.jobCancelMatching({ match: { task: 'a' }, limit: 10 })).toEqual({
        cancelled: 1,
        cancelRequested: 1,
      });
      expect(await mustGet(store, queued.id)).toMatchObject({ state: 'cancelled' });
      expect((await mustGet(store, queued.id)).finishedAt).not.toBeNull();
      expect(await mustGet(store, running.id)).toMatchObject({ state: 'running', cancelRequested: true });
      expect((await mustGet(store, otherTask.id)).state).toBe('queued');
      expect((await mustGet(store, done.id)).state).toBe('completed');
      const claimed = await store.jobClaim({ workerId: 'w', queues: [queue], limit: 10, leaseMs: 1_000 });
      expect(claimed.map((j) => j.id)).toEqual([otherTask.id]);
      // A running job already asked to stop is not counted again.
      expect(await store.jobCancelMatching({ match: { task: 'a' }, limit: 10 })).toEqual({
        cancelled: 0,
        cancelRequested: 0,
      });
    });
  });
}
