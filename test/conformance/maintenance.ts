/** Conformance: rescuing lapsed leases (RELIABILITY scenarios 2 and 6) and pruning. */
import { describe, expect, it } from 'vitest';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, mustGet, nowMs, openClocked } from './helpers.js';

const HOUR = 3_600_000;

/** Rescue and prune tests. */
export function describeMaintenance(h: StoreHarness): void {
  describe('jobRescueLapsed', () => {
    it('requeues a lease ended 1 ms ago, keeps one ending in 1 ms, fails one exhausted an hour ago', async () => {
      const { store, clock } = await openClocked(h);
      const justLapsed = await claimOne(store, { maxAttempts: 3 }, { workerId: 'w-a' });
      const stillHeld = await claimOne(store, { maxAttempts: 3 }, { workerId: 'w-b' });
      const exhausted = await claimOne(store, { maxAttempts: 3 }, { workerId: 'w-c' });
      const now = await nowMs(store);
      await h.setJobFields(store, justLapsed.id, { leaseExpiresAt: new Date(now - 1) });
      // With the database's own clock, time passes during the test: keep a margin it cannot cross.
      await h.setJobFields(store, stillHeld.id, { leaseExpiresAt: new Date(now + (clock ? 1 : 60_000)) });
      await h.setJobFields(store, exhausted.id, { leaseExpiresAt: new Date(now - HOUR), attempt: 3 });

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
      const now = await nowMs(store);
      const jobs = [await claimOne(store), await claimOne(store), await claimOne(store)];
      const ages = [10_000, 30_000, 20_000];
      for (const [i, job] of jobs.entries()) {
        await h.setJobFields(store, job.id, { leaseExpiresAt: new Date(now - (ages[i] ?? 0)) });
      }
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
      const stuck = await claimOne(store);
      await h.setJobFields(store, stuck.id, { leaseExpiresAt: new Date((await nowMs(store)) - 1) });
      expect((await store.jobRescueLapsed({ limit: 1 })).requeued).toEqual([stuck.id]);
    });

    it('ends a lapsed attempt of a job asked to cancel as cancelled', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      await store.jobCancel({ id: job.id });
      await h.setJobFields(store, job.id, { leaseExpiresAt: new Date((await nowMs(store)) - 1) });
      expect(await store.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
      expect((await mustGet(store, job.id)).state).toBe('cancelled');
      expect((await store.jobRunList({ jobId: job.id })).map((r) => r.outcome)).toEqual(['lease_lapsed']);
    });
  });

  describe('jobPrune', () => {
    it('deletes final jobs finished long enough ago, with their runs and steps, up to the limit', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const old: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const job = await claimOne(store);
        await store.jobStepSave({ id: job.id, leaseToken: job.leaseToken, name: 'step', result: i });
        await store.jobFinishMany({
          finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: 'completed' }],
        });
        await h.setJobFields(store, job.id, { finishedAt: new Date(now - 2 * HOUR - i) });
        old.push(job.id);
      }
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
      expect(remaining).toEqual([old[0]]);
      for (const id of old.slice(1)) {
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
