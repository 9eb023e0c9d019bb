/**
 * Conformance: a scheduled job whose time has come (a delay or a retry's backoff) reads `queued` in
 * every read, before any claim promotes its row: one job, the list filters (and how long until the next
 * matching job joins the queued list), the counts per queue and state, the queue list (with how long
 * until its next job comes due), load and backlog, a group's ready jobs, a repeated idempotency key's answer and
 * the bulk cancel's filter.
 */
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, insertOne, mustGet, nowMs, openFrozen } from './helpers.js';

/** Ids of the jobs of `queue` listed in `state`, sorted. */
async function listed(store: Store, queue: string, state: 'scheduled' | 'queued'): Promise<string[]> {
  return (await store.jobList({ limit: 10, queue, state })).jobs.map((j) => j.id).sort();
}

/** Due-job read tests. */
export function describeDueReads(h: StoreHarness): void {
  describe('a scheduled job whose time has come reads queued', () => {
    it('in jobGet, the list filters and the counts, with no claim', async () => {
      const store = await openFrozen(h);
      const queue = `q-${uuidv7()}`;
      const idempotencyKey = `k-${uuidv7()}`;
      const delayed = await insertOne(store, { queue, delayMs: 100, idempotencyKey });
      const later = await insertOne(store, { queue, delayMs: 60_000 });
      // A retry waiting out a 100 ms backoff.
      const failed = await claimOne(store, { queue });
      const { id, leaseToken } = failed;
      const error = { message: 'x', reason: 'failed' } as const;
      await store.jobFinishMany({
        finishes: [{ id, leaseToken, outcome: 'failed', error, retryDelayMs: 100 }],
      });
      expect((await mustGet(store, delayed.id)).state).toBe('scheduled');
      expect((await mustGet(store, failed.id)).state).toBe('scheduled');

      await h.advanceClock(store, 300);
      const due = [delayed.id, failed.id].sort();
      expect((await mustGet(store, delayed.id)).state).toBe('queued');
      expect((await mustGet(store, failed.id)).state).toBe('queued');
      expect((await mustGet(store, later.id)).state).toBe('scheduled');
      expect(await listed(store, queue, 'queued')).toEqual(due);
      expect(await listed(store, queue, 'scheduled')).toEqual([later.id]);
      const all = await store.jobList({ limit: 10, queue });
      expect(Object.fromEntries(all.jobs.map((j) => [j.id, j.state]))).toEqual({
        [delayed.id]: 'queued',
        [failed.id]: 'queued',
        [later.id]: 'scheduled',
      });

      expect((await store.jobCountByQueue()).filter((c) => c.queue === queue)).toEqual([
        { queue, state: 'queued', count: 2 },
        { queue, state: 'scheduled', count: 1 },
      ]);
      const info = (
        await store.queueList({ workerStaleMs: 60_000, finishedCounts: [], finishedCountsAgeMs: 0 })
      ).find((q) => q.name === queue);
      expect(info?.counts).toMatchObject({ queued: 2, scheduled: 1, running: 0 });
      // The one still waiting for its time comes due in a minute from its insert.
      expect(info?.nextDueInMs).toBe(60_000 - 300);
      const load = (await store.queueLoadList()).filter((l) => l.queue === queue);
      expect(
        load.map(({ state, count }) => ({ state, count })).sort((a, b) => a.state.localeCompare(b.state)),
      ).toEqual([
        { state: 'queued', count: 2 },
        { state: 'scheduled', count: 1 },
      ]);
      expect(load.find((l) => l.state === 'queued')?.oldestReadyAt).not.toBeNull();
      expect(load.find((l) => l.state === 'scheduled')?.oldestReadyAt).toBeNull();
      // The one waiting for its time: when it comes due (the alerts judge the queue again then).
      expect(load.find((l) => l.state === 'scheduled')?.nextDueAt).toEqual(later.runAt);
      expect(load.find((l) => l.state === 'queued')?.nextDueAt).toBeNull();
      // The backlog a metrics scrape reads in one pass holds the same load, to the ms.
      const backlog = (await store.queueBacklog({ workerStaleMs: 60_000 })).load.filter(
        (l) => l.queue === queue,
      );
      const byState = (rows: typeof load) => [...rows].sort((a, b) => a.state.localeCompare(b.state));
      expect(byState(backlog)).toEqual(byState(load));

      // A repeated idempotency key answers with the job as it reads.
      const [again] = await store.jobInsertMany({ jobs: [newJob({ queue, delayMs: 100, idempotencyKey })] });
      expect(again).toMatchObject({ created: false, job: { id: delayed.id, state: 'queued' } });
    });

    it('says how long until the soonest scheduled job matching a filter comes due and joins the queued list', async () => {
      const store = await openFrozen(h);
      const queue = `q-${uuidv7()}`;
      const other = `q-${uuidv7()}`;
      const task = `t-${uuidv7()}`;
      const word = `w${uuidv7().replace(/-/g, '')}`;
      await insertOne(store, { queue, task, delayMs: 30_000, payload: { note: word } });
      await insertOne(store, { queue, delayMs: 10_000 });
      await insertOne(store, { queue: other, task, delayMs: 5_000 });
      // Queued already: it is on the queued list, nothing to wait for.
      await insertOne(store, { queue, task });
      expect(await store.jobNextDue({ queue })).toBe(10_000);
      expect(await store.jobNextDue({ task })).toBe(5_000);
      expect(await store.jobNextDue({ queue, task })).toBe(30_000);
      expect(await store.jobNextDue({ search: word.toUpperCase() })).toBe(30_000);
      const created = (await nowMs(store)) + 1;
      expect(await store.jobNextDue({ queue, createdAfter: new Date(created) })).toBeNull();
      expect(await store.jobNextDue({ queue, createdBefore: new Date(created) })).toBe(10_000);
      expect(await store.jobNextDue({ queue: `q-${uuidv7()}` })).toBeNull();

      await h.advanceClock(store, 9_999);
      expect(await store.jobNextDue({ queue })).toBe(1);
      // Due: it reads queued now, and the next one of the queue is the one to wait for.
      await h.advanceClock(store, 1);
      expect(await listed(store, queue, 'queued')).toHaveLength(2);
      expect(await store.jobNextDue({ queue })).toBe(20_000);
      await h.advanceClock(store, 20_000);
      expect(await store.jobNextDue({ queue })).toBeNull();
      expect(await store.jobNextDue({ task })).toBeNull();
    });

    it('in the group list, as a ready job of its group', async () => {
      const store = await openFrozen(h);
      const queue = `q-${uuidv7()}`;
      const group = `g-${uuidv7()}`;
      const ofGroup = async () => (await store.groupList({ limit: 1_000 })).find((g) => g.group === group);
      // A retry waiting out a 100 ms backoff, a delayed job with and one without requirements (the
      // group's two ready indexes), and one not due for a minute.
      const failed = await claimOne(store, { queue, group });
      const error = { message: 'x', reason: 'failed' } as const;
      await store.jobFinishMany({
        finishes: [
          { id: failed.id, leaseToken: failed.leaseToken, outcome: 'failed', error, retryDelayMs: 100 },
        ],
      });
      await insertOne(store, { queue, group, delayMs: 100 });
      await insertOne(store, { queue, group, delayMs: 100, requires: ['gpu'] });
      await insertOne(store, { queue, group, delayMs: 60_000 });
      expect(await ofGroup()).toBeUndefined();

      await h.advanceClock(store, 300);
      expect(await ofGroup()).toEqual({ group, weight: 1, queued: 3, running: 0 });
      await h.advanceClock(store, 60_000);
      expect(await ofGroup()).toEqual({ group, weight: 1, queued: 4, running: 0 });
    });

    it('in the queue list once, on one clock: scheduled with its time to go until the instant it is due, then queued', async () => {
      const store = await openFrozen(h);
      const queue = `q-${uuidv7()}`;
      await insertOne(store, { queue, delayMs: 1_000 });
      const read = async () => {
        const info = (
          await store.queueList({ workerStaleMs: 60_000, finishedCounts: [], finishedCountsAgeMs: 0 })
        ).find((q) => q.name === queue);
        return {
          scheduled: info?.counts.scheduled,
          queued: info?.counts.queued,
          nextDueInMs: info?.nextDueInMs,
        };
      };
      await h.advanceClock(store, 999);
      expect(await read()).toEqual({ scheduled: 1, queued: 0, nextDueInMs: 1 });
      await h.advanceClock(store, 1);
      expect(await read()).toEqual({ scheduled: 0, queued: 1, nextDueInMs: null });
    });

    it('in the bulk cancel filter: queued takes it, scheduled leaves it', async () => {
      const store = await openFrozen(h);
      const queue = `q-${uuidv7()}`;
      const delayed = await insertOne(store, { queue, delayMs: 100 });
      const later = await insertOne(store, { queue, delayMs: 60_000 });
      await h.advanceClock(store, 300);
      expect(await store.jobCancelMatching({ match: { queue, state: 'scheduled' }, limit: 10 })).toEqual({
        cancelled: 1,
        cancelRequested: 0,
      });
      expect((await mustGet(store, later.id)).state).toBe('cancelled');
      expect((await mustGet(store, delayed.id)).state).toBe('queued');
      expect(await store.jobCancelMatching({ match: { queue, state: 'queued' }, limit: 10 })).toEqual({
        cancelled: 1,
        cancelRequested: 0,
      });
      expect((await mustGet(store, delayed.id)).state).toBe('cancelled');
    });
  });
}
