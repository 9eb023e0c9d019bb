/** Conformance: reading jobs, listing pages, counting per queue. */
import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { JOB_LIST_WALK_MAX } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, failOne, openFrozen } from './helpers.js';

/** Read tests. */
export function describeRead(h: StoreHarness): void {
  describe('jobGet / jobList / jobCountByQueue', () => {
    it('returns undefined for an unknown id', async () => {
      const store = await h.open();
      expect(await store.jobGet({ id: 'no-such-job' })).toBeUndefined();
    });

    it('lists newest first and pages through every job exactly once', async () => {
      const store = await openFrozen(h);
      const jobs = Array.from({ length: 7 }, () => newJob());
      // Distinct creation times, 1 ms apart, so "newest first" is observable whatever the clock.
      for (const job of jobs) {
        await store.jobInsertMany({ jobs: [job] });
        await h.advanceClock(store, 1);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { jobs: Array<{ id: string }>; nextCursor: string | null } = await store.jobList({
          limit: 3,
          ...(cursor !== null && { cursor }),
        });
        seen.push(...page.jobs.map((j) => j.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null);
      expect(pages).toBe(3);
      expect(seen).toEqual(jobs.map((j) => j.id).reverse());
    });

    it('pages correctly through jobs created in the same millisecond', async () => {
      const store = await openFrozen(h);
      const jobs = Array.from({ length: 5 }, () => newJob());
      for (const job of jobs) await store.jobInsertMany({ jobs: [job] });
      expect(new Set((await store.jobList({ limit: 10 })).jobs.map((j) => j.createdAt.getTime())).size).toBe(
        1,
      );
      const first = await store.jobList({ limit: 2 });
      const second = await store.jobList({
        limit: 10,
        ...(first.nextCursor !== null && { cursor: first.nextCursor }),
      });
      const all = [...first.jobs, ...second.jobs].map((j) => j.id);
      expect(new Set(all).size).toBe(5);
      expect(second.nextCursor).toBeNull();
    });

    it('filters by state, queue and task', async () => {
      const store = await h.open();
      await store.jobInsertMany({
        jobs: [
          newJob({ queue: 'a', task: 't1' }),
          newJob({ queue: 'a', task: 't2' }),
          newJob({ queue: 'b', task: 't1' }),
          newJob({ queue: 'b', task: 't1', delayMs: 60_000 }),
        ],
      });
      expect((await store.jobList({ limit: 10, queue: 'a' })).jobs).toHaveLength(2);
      expect((await store.jobList({ limit: 10, task: 't1' })).jobs).toHaveLength(3);
      expect((await store.jobList({ limit: 10, state: 'scheduled' })).jobs).toHaveLength(1);
      const filtered = await store.jobList({ limit: 10, queue: 'b', task: 't1', state: 'queued' });
      expect(filtered.jobs).toHaveLength(1);
      expect(filtered.jobs[0]).toMatchObject({ queue: 'b', task: 't1', state: 'queued' });
      expect(filtered.nextCursor).toBeNull();
    });

    it('walks at most JOB_LIST_WALK_MAX jobs a page: a short page goes on from where its walk stopped', async () => {
      const store = await h.open();
      const rareOld = [newJob({ queue: 'rare' }), newJob({ queue: 'rare' })];
      await store.jobInsertMany({ jobs: rareOld });
      for (let i = 0; i < JOB_LIST_WALK_MAX; i += 5_000) {
        await store.jobInsertMany({ jobs: Array.from({ length: 5_000 }, () => newJob({ queue: 'common' })) });
      }
      const rareNew = newJob({ queue: 'rare' });
      await store.jobInsertMany({ jobs: [rareNew] });
      // The first page walks the newest rare job and 49,999 common ones, then stops: one match, and a
      // cursor, though the page is not full.
      const first = await store.jobList({ queue: 'rare', limit: 10 });
      expect(first.jobs.map((job) => job.id)).toEqual([rareNew.id]);
      expect(first.nextCursor).not.toBeNull();
      // The next walks the last common job and the two oldest, and reaches the end.
      const second = await store.jobList({ queue: 'rare', limit: 10, cursor: first.nextCursor ?? '' });
      expect(second.jobs.map((job) => job.id).sort()).toEqual(rareOld.map((job) => job.id).sort());
      expect(second.nextCursor).toBeNull();
      // A page that fills stops at once and gives its last job's cursor, as before.
      const full = await store.jobList({ state: 'queued', limit: 10 });
      expect(full.jobs).toHaveLength(10);
      const after = await store.jobList({ state: 'queued', limit: 10, cursor: full.nextCursor ?? '' });
      expect(after.jobs).toHaveLength(10);
      expect(new Set([...full.jobs, ...after.jobs].map((job) => job.id)).size).toBe(20);
    });

    it('walks at most JOB_LIST_WALK_MAX failed or cancelled jobs a page, whichever state is asked for', async () => {
      const store = await h.open();
      const cancelAll = async (queue: string): Promise<void> => {
        const match = { queue, state: 'queued' } as const;
        while ((await store.jobCancelMatching({ match, limit: 10_000 })).cancelled > 0);
      };
      const rareOld = [newJob({ queue: 'rare' }), newJob({ queue: 'rare' })];
      await store.jobInsertMany({ jobs: rareOld });
      await cancelAll('rare');
      for (let i = 0; i < JOB_LIST_WALK_MAX; i += 5_000) {
        await store.jobInsertMany({ jobs: Array.from({ length: 5_000 }, () => newJob({ queue: 'common' })) });
      }
      await cancelAll('common');
      const rareNew = newJob({ queue: 'rare' });
      await store.jobInsertMany({ jobs: [rareNew] });
      await cancelAll('rare');
      // The newest rare job and 49,999 common ones: one match and a cursor; then the rest.
      const first = await store.jobList({ state: 'cancelled', queue: 'rare', limit: 10 });
      expect(first.jobs.map((job) => job.id)).toEqual([rareNew.id]);
      expect(first.nextCursor).not.toBeNull();
      const second = await store.jobList({
        state: 'cancelled',
        queue: 'rare',
        limit: 10,
        cursor: first.nextCursor ?? '',
      });
      expect(second.jobs.map((job) => job.id).sort()).toEqual(rareOld.map((job) => job.id).sort());
      expect(second.nextCursor).toBeNull();
      // No failed job among 50,003 cancelled ones: an empty page that searches on, then the end.
      const none = await store.jobList({ state: 'failed', limit: 10 });
      expect(none).toMatchObject({ jobs: [] });
      expect(none.nextCursor).not.toBeNull();
      const rest = await store.jobList({ state: 'failed', limit: 10, cursor: none.nextCursor ?? '' });
      expect(rest).toEqual({ jobs: [], nextCursor: null });
      // A page that fills stops at once: its last job's cursor, and the next page goes on from it.
      const full = await store.jobList({ state: 'cancelled', limit: 10 });
      const after = await store.jobList({ state: 'cancelled', limit: 10, cursor: full.nextCursor ?? '' });
      expect(new Set([...full.jobs, ...after.jobs].map((job) => job.id)).size).toBe(20);
      expect(full.jobs[0]?.id).toBe(rareNew.id);
    });

    it('refuses a malformed cursor with invalid_argument', async () => {
      const store = await h.open();
      const error: unknown = await store.jobList({ limit: 1, cursor: 'garbage!' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NightshiftError);
      expect((error as NightshiftError).code).toBe('invalid_argument');
    });

    it('counts jobs per queue and state', async () => {
      const store = await h.open();
      await store.jobInsertMany({
        jobs: [newJob({ queue: 'a' }), newJob({ queue: 'a' }), newJob({ queue: 'b', delayMs: 60_000 })],
      });
      await claimOne(store, { queue: 'c' });
      const counts = await store.jobCountByQueue();
      const sorted = [...counts].sort((x, y) => `${x.queue}${x.state}`.localeCompare(`${y.queue}${y.state}`));
      expect(sorted).toEqual([
        { queue: 'a', state: 'queued', count: 2 },
        { queue: 'b', state: 'scheduled', count: 1 },
        { queue: 'c', state: 'running', count: 1 },
      ]);
    });

    it('counts finished jobs per queue, and lists queues with the finished counts it is given', async () => {
      const store = await h.open();
      const done = await claimOne(store, { queue: 'done' });
      await store.jobFinishMany({
        finishes: [{ id: done.id, leaseToken: done.leaseToken, outcome: 'completed', result: null }],
      });
      await failOne(store, { queue: 'done' });
      await store.jobInsertMany({ jobs: [newJob({ queue: 'done' })] });
      const dropped = await store.jobInsertMany({ jobs: [newJob({ queue: 'gone' })] });
      await store.jobCancel({ id: dropped[0]?.job.id ?? '' });
      await claimOne(store, { queue: 'busy' });
      expect(await store.jobFinishedCountByQueue()).toEqual([
        { queue: 'done', state: 'completed', count: 1 },
        { queue: 'done', state: 'failed', count: 1 },
        { queue: 'gone', state: 'cancelled', count: 1 },
      ]);
      // The waiting and running counts are read now; the finished ones are the caller's.
      const listed = await store.queueList({
        workerStaleMs: 60_000,
        finishedCounts: [
          { queue: 'done', state: 'completed', count: 7 },
          { queue: 'old', state: 'failed', count: 3 },
        ],
        finishedCountsAgeMs: 1_500,
      });
      expect(listed.map((q) => [q.name, q.counts])).toEqual([
        ['busy', { scheduled: 0, queued: 0, running: 1, completed: 0, failed: 0, cancelled: 0 }],
        ['done', { scheduled: 0, queued: 1, running: 0, completed: 7, failed: 0, cancelled: 0 }],
        ['old', { scheduled: 0, queued: 0, running: 0, completed: 0, failed: 3, cancelled: 0 }],
      ]);
      // Every queue carries the finished counts' age, those with none of them too.
      expect(listed.map((q) => q.finishedCountsAgeMs)).toEqual([1_500, 1_500, 1_500]);
    });
  });
}
