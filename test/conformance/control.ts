/** Conformance: cancel and manual retry. */
import { describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, failOne, insertOne, mustGet, nowMs, openFrozen } from './helpers.js';

/** Cancel and retry tests. */
export function describeControl(h: StoreHarness): void {
  describe('jobCancel', () => {
    it('cancels queued and scheduled jobs at once', async () => {
      const store = await h.open();
      const queued = await insertOne(store);
      const scheduled = await insertOne(store, { delayMs: 60_000 });
      for (const job of [queued, scheduled]) {
        const result = await store.jobCancel({ id: job.id });
        expect(result.outcome).toBe('cancelled');
        expect(result.job?.state).toBe('cancelled');
        const stored = await mustGet(store, job.id);
        expect(stored.state).toBe('cancelled');
        expect(stored.finishedAt).not.toBeNull();
      }
      expect(await store.jobClaim({ workerId: 'w', limit: 10, leaseMs: 1_000 })).toEqual([]);
    });

    it('flags a running job, which ends cancelled when its worker finishes', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      const result = await store.jobCancel({ id: job.id });
      expect(result.outcome).toBe('cancel_requested');
      expect(result.job).toMatchObject({ state: 'running', cancelRequested: true });
      await store.jobFinishMany({
        finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: 'cancelled' }],
      });
      expect(await mustGet(store, job.id)).toMatchObject({ state: 'cancelled' });
    });

    it('leaves final jobs alone and reports unknown ids', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      await store.jobFinishMany({
        finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: 'completed', result: 'ok' }],
      });
      const result = await store.jobCancel({ id: job.id });
      expect(result.outcome).toBe('already_final');
      expect(result.job?.state).toBe('completed');
      expect((await mustGet(store, job.id)).state).toBe('completed');
      expect((await store.jobCancel({ id: 'missing' })).outcome).toBe('not_found');
    });
  });

  describe('jobRetry', () => {
    it('requeues a failed job due now with one more attempt allowed', async () => {
      const store = await openFrozen(h);
      const job = await failOne(store);
      await h.advanceClock(store, 1_000);
      const now = await nowMs(store);
      const result = await store.jobRetry({ id: job.id });
      expect(result.outcome).toBe('retried');
      expect(result.job).toMatchObject({ state: 'queued', attempt: 1, maxAttempts: 2, finishedAt: null });
      expect(result.job?.runAt.getTime()).toBe(now);
      const [again] = await store.jobClaim({ workerId: 'w', queues: [job.queue], limit: 1, leaseMs: 1_000 });
      expect(again).toMatchObject({ id: job.id, attempt: 2, maxAttempts: 2 });
    });

    it('keeps a larger maxAttempts and retries cancelled jobs', async () => {
      const store = await h.open();
      const job = await insertOne(store, { maxAttempts: 5 });
      await store.jobCancel({ id: job.id });
      const result = await store.jobRetry({ id: job.id });
      expect(result.outcome).toBe('retried');
      expect(result.job).toMatchObject({ state: 'queued', maxAttempts: 5, cancelRequested: false });
    });

    it('refuses jobs that are not failed or cancelled, and reports unknown ids', async () => {
      const store = await h.open();
      const queued = await insertOne(store);
      const running = await claimOne(store);
      const completed = await claimOne(store);
      await store.jobFinishMany({
        finishes: [{ id: completed.id, leaseToken: completed.leaseToken, outcome: 'completed' }],
      });
      for (const id of [queued.id, running.id, completed.id]) {
        const before = await mustGet(store, id);
        const result = await store.jobRetry({ id });
        expect(result.outcome).toBe('not_retryable');
        expect(await mustGet(store, id)).toEqual(before);
      }
      expect((await store.jobRetry({ id: newJob().id })).outcome).toBe('not_found');
    });
  });
}
