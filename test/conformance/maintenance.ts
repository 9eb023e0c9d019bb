/** Conformance: rescuing lapsed leases (RELIABILITY scenarios 2 and 6) and pruning. */
import { describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, insertOne, mustGet, openFrozen } from './helpers.js';

const HOUR = 3_600_000;

/** Rescue and prune tests. */
export function describeMaintenance(h: StoreHarness): void {
  describe('jobRescueLapsed', () => {
    it('requeues a lease ended 1 ms ago, keeps one ending in 1 ms, fails one exhausted an hour ago', async () => {
      const store = await openFrozen(h);
      const exhausted = await claimOne(store, { maxAttempts: 3 }, { workerId: 'w-c', leaseMs: 30_000 });
      await h.setJobFields(store, exhausted.id, { attempt: 3 }); // its last attempt, without 3 claims
      await h.advanceClock(store, HOUR);
      const justLapsed = await claimOne(store, { maxAttempts: 3 }, { workerId: 'w-a', leaseMs: 30_000 });
      const stillHeld = await claimOne(store, { maxAttempts: 3 }, { workerId: 'w-b', leaseMs: 30_002 });
      await h.advanceClock(store, 30_001);

      const result = await store.jobRescueLapsed({ limit: 100 });
      expect(result).toEqual({ requeued: [justLapsed.id], failed: [exhausted.id] });

      const requeued = await mustGet(store, justLapsed.id);
      expect(requeued).toMatchObject({
        state: 'queued',
        attempt: 1,
        leaseExpiresAt: null,
        error: { reason: 'lease_lapsed' },
      });
      expect(await mustGet(store, stillHeld.id)).toMatchObject({ state: 'running', workerId: 'w-b' });
      const failed = await mustGet(store, exhausted.id);
      expect(failed).toMatchObject({ state: 'failed', attempt: 3, error: { reason: 'lease_lapsed' } });
      expect(failed.finishedAt).not.toBeNull();

      const [run] = await store.jobRunList({ jobId: exhausted.id });
      expect(run).toMatchObject({
        attempt: 3,
        workerId: 'w-c',
        outcome: 'lease_lapsed',
        error: { reason: 'lease_lapsed' },
      });
      expect((await store.jobRunList({ jobId: justLapsed.id })).map((r) => r.outcome)).toEqual([
        'lease_lapsed',
      ]);
      expect(await store.jobRunList({ jobId: stillHeld.id })).toEqual([]);
      // A second sweep finds nothing more.
      expect(await store.jobRescueLapsed({ limit: 100 })).toEqual({ requeued: [], failed: [] });
    });

    it('takes the oldest expiries first, up to the limit', async () => {
      const store = await h.open();
      // Leases ending 30, 10 and 20 s from now, all lapsed 40 s from now.
      const jobs = [
        await claimOne(store, {}, { leaseMs: 30_000 }),
        await claimOne(store, {}, { leaseMs: 10_000 }),
        await claimOne(store, {}, { leaseMs: 20_000 }),
      ];
      await h.advanceClock(store, 40_000);
      expect((await store.jobRescueLapsed({ limit: 2 })).requeued).toEqual([jobs[1]?.id, jobs[2]?.id]);
      expect((await store.jobRescueLapsed({ limit: 2 })).requeued).toEqual([jobs[0]?.id]);
    });

    it('is not starved by many healthy long-running jobs', async () => {
      const store = await h.open();
      const healthy = await store.jobInsertMany({
        jobs: Array.from({ length: 60 }, () => newJob({ queue: 'long' })),
      });
      const claimed = await store.jobClaim({ workerId: 'w', queues: ['long'], limit: 100, leaseMs: HOUR });
      expect(claimed).toHaveLength(healthy.length);
      const stuck = await claimOne(store, {}, { leaseMs: 30_000 });
      await h.advanceClock(store, 60_000);
      expect((await store.jobRescueLapsed({ limit: 1 })).requeued).toEqual([stuck.id]);
    });

    it('ends a lapsed attempt of a job asked to cancel as cancelled', async () => {
      const store = await h.open();
      const job = await claimOne(store, {}, { leaseMs: 30_000 });
      await store.jobCancel({ id: job.id });
      await h.advanceClock(store, 60_000);
      expect(await store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
      expect((await mustGet(store, job.id)).state).toBe('cancelled');
      expect((await store.jobRunList({ jobId: job.id })).map((r) => r.outcome)).toEqual(['lease_lapsed']);
    });
  });

  describe('jobIdleCheck', () => {
    it('is true only while no job is scheduled, queued (with or without requirements and group) or running', async () => {
      const store = await h.open();
      expect(await store.jobIdleCheck()).toBe(true);
      // Each kind of waiting job on its own, then gone again (cancelled: final, as completed would be).
      const waiting = [
        { delayMs: HOUR },
        {},
        { requires: ['gpu'] },
        { group: 'tenant-1' },
        { group: 'tenant-2', requires: ['gpu'] },
      ];
      for (const overrides of waiting) {
        const job = await insertOne(store, overrides);
        expect(await store.jobIdleCheck(), JSON.stringify(overrides)).toBe(false);
        await store.jobCancel({ id: job.id });
        expect(await store.jobIdleCheck(), JSON.stringify(overrides)).toBe(true);
      }
      const running = await claimOne(store);
      expect(await store.jobIdleCheck()).toBe(false);
      await store.jobFinishMany({
        finishes: [{ id: running.id, leaseToken: running.leaseToken, outcome: 'completed' }],
      });
      // A store may still count the ended attempt's lease until it expires and a sweep drops it
      // (PostgreSQL keeps a claim's lease row so long); after that, idle again.
      await h.advanceClock(store, 60_000);
      await store.jobRescueLapsed({ limit: 10 });
      expect(await store.jobIdleCheck()).toBe(true);
      // A paused queue's jobs still wait: resuming it announces them, but they are there already.
      await store.queuePause({ queue: 'held' });
      await insertOne(store, { queue: 'held' });
      expect(await store.jobIdleCheck()).toBe(false);
    });
  });

  describe('jobPrune', () => {
    it('deletes final jobs finished long enough ago, with their runs and steps, up to the limit', async () => {
      const store = await openFrozen(h);
      const old: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const job = await claimOne(store);
        await store.jobStepSave({ id: job.id, leaseToken: job.leaseToken, name: 'step', result: i });
        await store.jobFinishMany({
          finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: 'completed' }],
        });
        old.push(job.id);
        await h.advanceClock(store, 1); // each finished 1 ms after the one before
      }
      await h.advanceClock(store, 2 * HOUR);
      const recent = await claimOne(store);
      await store.jobFinishMany({
        finishes: [{ id: recent.id, leaseToken: recent.leaseToken, outcome: 'completed' }],
      });
      const running = await claimOne(store);
      const waiting = await store.jobInsertMany({ jobs: [newJob()] });

      expect(await store.jobPrune({ olderThanMs: HOUR, limit: 3 })).toEqual({ deleted: 3 });
      // Oldest first: the three with the earliest finishedAt are gone.
      const remaining = [];
      for (const id of old) if (await store.jobGet({ id })) remaining.push(id);
      expect(remaining).toEqual([old[3]]);
      for (const id of old.slice(0, 3)) {
        expect(await store.jobRunList({ jobId: id })).toEqual([]);
        expect((await store.jobStepGet({ jobId: id, name: 'step' })).found).toBe(false);
      }
      expect(await store.jobPrune({ olderThanMs: HOUR, limit: 100 })).toEqual({ deleted: 1 });
      expect(await store.jobGet({ id: recent.id })).toBeDefined();
      expect(await store.jobGet({ id: running.id })).toBeDefined();
      expect(await store.jobGet({ id: waiting[0]?.job.id ?? '' })).toBeDefined();
      expect(await store.jobPrune({ olderThanMs: HOUR, limit: 100 })).toEqual({ deleted: 0 });
    });
  });
}
