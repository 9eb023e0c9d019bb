/** Conformance: lease renewal, checkpoints, durable steps, and fencing of every attempt write. */
import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/errors.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimAgain, claimOne, mustGet, nowMs, openFrozen } from './helpers.js';

/** Lease, checkpoint, step and fencing tests. */
export function describeLease(h: StoreHarness): void {
  describe('jobLeaseRenew', () => {
    it('extends current leases on the store clock and leaves stale tokens out', async () => {
      const store = await openFrozen(h);
      const a = await claimOne(store, {}, { leaseMs: 1_000 });
      const b = await claimOne(store, { leaseMs: 2_000 }, { leaseMs: 1_000 });
      await h.advanceClock(store, 500);
      const now = await nowMs(store);
      const { renewed } = await store.jobLeaseRenew({
        leases: [
          { id: a.id, leaseToken: a.leaseToken },
          { id: b.id, leaseToken: b.leaseToken },
          { id: a.id, leaseToken: 'stale' },
          { id: 'missing', leaseToken: 'x' },
        ],
        leaseMs: 10_000,
      });
      expect(renewed).toEqual([
        { id: a.id, cancelRequested: false },
        { id: b.id, cancelRequested: false },
      ]);
      const leaseA = (await mustGet(store, a.id)).leaseExpiresAt?.getTime() ?? 0;
      const leaseB = (await mustGet(store, b.id)).leaseExpiresAt?.getTime() ?? 0;
      expect(leaseA).toBe(now + 10_000);
      expect(leaseB).toBe(now + 2_000);
    });

    it('reports a cancel request to the renewing worker', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      expect((await store.jobCancel({ id: job.id })).outcome).toBe('cancel_requested');
      const { renewed } = await store.jobLeaseRenew({
        leases: [{ id: job.id, leaseToken: job.leaseToken }],
        leaseMs: 5_000,
      });
      expect(renewed).toEqual([{ id: job.id, cancelRequested: true }]);
    });
  });

  describe('jobCancelCheck', () => {
    it('names the current attempts whose job was asked to cancel, and renews nothing', async () => {
      const store = await h.open();
      const asked = await claimOne(store);
      const other = await claimOne(store);
      expect((await store.jobCancel({ id: asked.id })).outcome).toBe('cancel_requested');
      const leaseBefore = (await mustGet(store, asked.id)).leaseExpiresAt;
      const { cancelRequested } = await store.jobCancelCheck({
        leases: [
          { id: asked.id, leaseToken: asked.leaseToken },
          { id: other.id, leaseToken: other.leaseToken },
          // A stale attempt of the asked job: a newer claim owns the cancel request.
          { id: asked.id, leaseToken: '0193a0b1-0000-7000-8000-00000000beef' },
          { id: 'missing', leaseToken: 'x' },
        ],
      });
      expect(cancelRequested).toEqual([asked.id]);
      expect((await mustGet(store, asked.id)).leaseExpiresAt).toEqual(leaseBefore);
      expect(await store.jobCancelCheck({ leases: [] })).toEqual({ cancelRequested: [] });
    });
  });

  describe('checkpoints and steps', () => {
    it('saves a checkpoint for the current attempt and refuses a stale one', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      expect(
        await store.jobCheckpointSave({ id: job.id, leaseToken: job.leaseToken, checkpoint: { page: 3 } }),
      ).toBe(true);
      expect((await mustGet(store, job.id)).checkpoint).toEqual({ page: 3 });
      expect(
        await store.jobCheckpointSave({ id: job.id, leaseToken: 'stale', checkpoint: { page: 99 } }),
      ).toBe(false);
      expect((await mustGet(store, job.id)).checkpoint).toEqual({ page: 3 });
      // null is a value a handler may save, distinct from "never saved".
      expect(
        await store.jobCheckpointSave({ id: job.id, leaseToken: job.leaseToken, checkpoint: null }),
      ).toBe(true);
      expect((await mustGet(store, job.id)).checkpoint).toBeNull();
    });

    it('records step results per job and refuses a stale attempt', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      expect(await store.jobStepGet({ jobId: job.id, name: 'fetch' })).toEqual({
        found: false,
        result: undefined,
      });
      expect(
        await store.jobStepSave({
          id: job.id,
          leaseToken: job.leaseToken,
          name: 'fetch',
          result: { rows: 10 },
        }),
      ).toBe(true);
      expect(
        await store.jobStepSave({ id: job.id, leaseToken: job.leaseToken, name: 'empty', result: undefined }),
      ).toBe(true);
      expect(await store.jobStepGet({ jobId: job.id, name: 'fetch' })).toEqual({
        found: true,
        result: { rows: 10 },
      });
      expect(await store.jobStepGet({ jobId: job.id, name: 'empty' })).toEqual({
        found: true,
        result: undefined,
      });
      expect(await store.jobStepSave({ id: job.id, leaseToken: 'stale', name: 'publish', result: 1 })).toBe(
        false,
      );
      expect(await store.jobStepGet({ jobId: job.id, name: 'publish' })).toEqual({
        found: false,
        result: undefined,
      });
      const other = await claimOne(store);
      expect(await store.jobStepGet({ jobId: other.id, name: 'fetch' })).toEqual({
        found: false,
        result: undefined,
      });
    });
  });

  describe('fencing', () => {
    it('refuses every write of an attempt whose lease lapsed and was re-claimed', async () => {
      const store = await h.open();
      const old = await claimOne(store, { maxAttempts: 5 }, { workerId: 'paused-worker' });
      await h.advanceClock(store, 60_000); // past its 30 s lease
      expect((await store.jobRescueLapsed({ limit: 10 })).requeued).toEqual([old.id]);
      const current = await claimAgain(store, old.queue, 'live-worker');
      expect(current.id).toBe(old.id);
      expect(current.attempt).toBe(2);
      const stale = { id: old.id, leaseToken: old.leaseToken };

      expect((await store.jobLeaseRenew({ leases: [stale], leaseMs: 60_000 })).renewed).toEqual([]);
      expect(await store.jobCheckpointSave({ ...stale, checkpoint: 'old' })).toBe(false);
      expect(await store.jobStepSave({ ...stale, name: 's', result: 'old' })).toBe(false);
      await expect(store.jobInsertMany({ jobs: [newJob()], fence: stale })).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      for (const outcome of ['completed', 'failed', 'timeout', 'released', 'cancelled'] as const) {
        expect(
          (await store.jobFinishMany({ finishes: [{ ...stale, outcome, result: 'old' }] })).accepted,
        ).toEqual([]);
      }

      const job = await mustGet(store, old.id);
      expect(job).toMatchObject({ state: 'running', attempt: 2, workerId: 'live-worker', result: null });
      expect(job.checkpoint).toBeUndefined();
      expect(await store.jobStepGet({ jobId: old.id, name: 's' })).toEqual({
        found: false,
        result: undefined,
      });
      // The lapsed attempt has its one lease_lapsed row; the refused finishes wrote none.
      expect((await store.jobRunList({ jobId: old.id })).map((r) => r.outcome)).toEqual(['lease_lapsed']);

      const { accepted } = await store.jobFinishMany({
        finishes: [{ id: old.id, leaseToken: current.leaseToken, outcome: 'completed', result: 'new' }],
      });
      expect(accepted).toEqual([old.id]);
      expect(await mustGet(store, old.id)).toMatchObject({ state: 'completed', result: 'new' });
    });
  });
}
