/**
 * Conformance: worker labels. A job that requires labels is claimed only by a worker offering every one
 * of them; a job without requirements by every worker; a worker without labels only those. The
 * requirements survive every way a job goes back to waiting, and the claim keeps its order across
 * jobs with and without requirements.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimedJob, JobClaimParams, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { mustGet, nowMs } from './helpers.js';

const LEASE = { leaseMs: 30_000 };

function claim(store: Store, params: Partial<JobClaimParams> = {}): Promise<ClaimedJob[]> {
  return store.jobClaim({ workerId: 'w', limit: 100, ...LEASE, ...params });
}

const ids = (jobs: Array<{ id: string }>): string[] => jobs.map((j) => j.id).sort();

/** Worker label tests. */
export function describeWorkerLabels(h: StoreHarness): void {
  describe('worker labels', () => {
    it('claims a job only for a worker offering every label it requires, from every queue or named ones', async () => {
      const store = await h.open();
      const plain = newJob({ queue: 'a' });
      const eu = newJob({ queue: 'a', requires: ['region:eu'] });
      const euGpu = newJob({ queue: 'b', requires: ['gpu', 'region:eu'] });
      const us = newJob({ queue: 'b', requires: ['region:us'] });
      await store.jobInsertMany({ jobs: [plain, eu, euGpu, us] });

      // Named queues first: the same rule through the per-queue walks.
      const none = await claim(store, { queues: ['a', 'b'], labels: ['gpu'] });
      expect(ids(none)).toEqual([plain.id]);
      expect(ids(await claim(store, { queues: ['b'], labels: ['region:eu'] }))).toEqual([]);
      const gpuEu = await claim(store, { queues: ['a', 'b'], labels: ['gpu', 'region:eu', 'x'] });
      expect(ids(gpuEu)).toEqual(ids([eu, euGpu]));
      // Every queue: a worker without labels takes nothing that requires one.
      expect(await claim(store)).toEqual([]);
      expect(await claim(store, { labels: [] })).toEqual([]);
      const usJobs = await claim(store, { labels: ['region:us'] });
      expect(ids(usJobs)).toEqual([us.id]);
      expect(usJobs[0]?.requires).toEqual(['region:us']);
    });

    it('stores requirements sorted, reads them back, and shows none as an empty list', async () => {
      const store = await h.open();
      const [labelled, plain] = await store.jobInsertMany({
        jobs: [newJob({ requires: ['gpu', 'region:eu'] }), newJob()],
      });
      expect(labelled?.job.requires).toEqual(['gpu', 'region:eu']);
      expect(plain?.job.requires).toEqual([]);
      expect((await mustGet(store, labelled?.job.id ?? '')).requires).toEqual(['gpu', 'region:eu']);
      expect((await mustGet(store, plain?.job.id ?? '')).requires).toEqual([]);
      const [claimed] = await claim(store, { labels: ['gpu', 'region:eu'], limit: 1 });
      expect(claimed?.requires).toEqual(['gpu', 'region:eu']);
    });

    it('keeps the claim order across jobs with and without requirements, and the limit', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const p1 = newJob({ priority: 1, runAt: new Date(now - 5_000) });
      const l5 = newJob({ priority: 5, requires: ['a'] });
      const m3 = newJob({ priority: 3, requires: ['a', 'b'] });
      const p3 = newJob({ priority: 3, runAt: new Date(now - 9_000) });
      const other = newJob({ priority: 9, requires: ['c'] });
      await store.jobInsertMany({ jobs: [p1, l5, m3, p3, other] });
      const first = await claim(store, { labels: ['a', 'b'], limit: 3 });
      expect(first.map((j) => j.id)).toEqual([l5.id, p3.id, m3.id]);
      const rest = await claim(store, { queues: ['default'], labels: ['a', 'b'] });
      expect(rest.map((j) => j.id)).toEqual([p1.id]);
    });

    it('finds the sets it meets among many it does not', async () => {
      const store = await h.open();
      const unmet = Array.from({ length: 30 }, (_, i) => newJob({ requires: [`zone:${i}`, 'gpu'] }));
      const mine = newJob({ requires: ['zone:7'] });
      const also = newJob({ queue: 'q2', requires: ['gpu', 'zone:7'] });
      await store.jobInsertMany({ jobs: [...unmet, mine, also] });
      expect(ids(await claim(store, { labels: ['zone:7'] }))).toEqual([mine.id]);
      expect(ids(await claim(store, { queues: ['default', 'q2'], labels: ['gpu', 'zone:7'] }))).toEqual(
        ids([also, unmet[7] as { id: string }]),
      );
    });

    it('keeps requirements through release, retry after failure, manual retry and rescue', async () => {
      const store = await h.open();
      const job = newJob({ requires: ['gpu'], maxAttempts: 5 });
      await store.jobInsertMany({ jobs: [job] });
      const take = async (): Promise<ClaimedJob> => {
        expect(await claim(store)).toEqual([]);
        const [claimed] = await claim(store, { labels: ['gpu'] });
        if (claimed === undefined) throw new Error('the labelled worker claimed nothing');
        return claimed;
      };
      // Released straight back to queued.
      let claimed = await take();
      await store.jobFinishMany({
        finishes: [{ id: job.id, leaseToken: claimed.leaseToken, outcome: 'released' }],
      });
      // Failed with a retry due at once: back through the scheduled (due) rows.
      claimed = await take();
      await store.jobFinishMany({
        finishes: [
          {
            id: job.id,
            leaseToken: claimed.leaseToken,
            outcome: 'failed',
            error: { message: 'x', reason: 'failed' },
            retryDelayMs: 0,
          },
        ],
      });
      // Lapsed and rescued.
      claimed = await take();
      await h.setJobFields(store, job.id, { leaseExpiresAt: new Date((await nowMs(store)) - 1_000) });
      expect((await store.jobRescueLapsed({ limit: 10 })).requeued).toEqual([job.id]);
      // Failed for good, then retried by an operator.
      claimed = await take();
      await store.jobFinishMany({
        finishes: [
          {
            id: job.id,
            leaseToken: claimed.leaseToken,
            outcome: 'failed',
            error: { message: 'x', reason: 'failed' },
          },
        ],
      });
      expect((await store.jobRetry({ id: job.id })).outcome).toBe('retried');
      claimed = await take();
      expect(claimed.requires).toEqual(['gpu']);
    });

    it('promotes a due delayed job a worker lacks the labels for, for a worker that has them', async () => {
      const store = await h.open();
      const job = newJob({ queue: 'later', requires: ['gpu'], delayMs: 60_000 });
      await store.jobInsertMany({ jobs: [job] });
      await h.setJobFields(store, job.id, { runAt: new Date((await nowMs(store)) - 1) });
      expect(await claim(store, { queues: ['later'] })).toEqual([]);
      expect(await claim(store)).toEqual([]);
      expect((await mustGet(store, job.id)).state).toBe('queued');
      expect(ids(await claim(store, { queues: ['later'], labels: ['gpu'] }))).toEqual([job.id]);
    });

    it('obeys pauses, queue limits and full keys for jobs with requirements', async () => {
      const store = await h.open();
      await store.queuePause({ queue: 'paused' });
      await store.queueSetLimit({ queue: 'limited', limit: 1 });
      const jobs = [
        newJob({ queue: 'paused', requires: ['x'] }),
        newJob({ queue: 'limited', requires: ['x'] }),
        newJob({ queue: 'limited', requires: ['x'] }),
        newJob({ queue: 'keyed', requires: ['x'], concurrencyKey: 'k' }),
        newJob({ queue: 'keyed', requires: ['x'], concurrencyKey: 'k' }),
      ];
      await store.jobInsertMany({ jobs });
      const first = await claim(store, { labels: ['x'] });
      expect(first.map((j) => j.queue).sort()).toEqual(['keyed', 'limited']);
      expect(await claim(store, { labels: ['x'] })).toEqual([]);
      expect(await claim(store, { queues: ['paused', 'limited', 'keyed'], labels: ['x'] })).toEqual([]);
      await store.queueResume({ queue: 'paused' });
      expect((await claim(store, { queues: ['paused'], labels: ['x'] })).map((j) => j.queue)).toEqual([
        'paused',
      ]);
    });

    it('cancels waiting jobs with requirements, one at a time and in bulk, and counts them per queue', async () => {
      const store = await h.open();
      const [one, two, three] = await store.jobInsertMany({
        jobs: [
          newJob({ queue: 'lab', requires: ['x'] }),
          newJob({ queue: 'lab', requires: ['y'] }),
          newJob({ queue: 'lab' }),
        ],
      });
      const load = await store.queueLoadList();
      expect(load.find((r) => r.queue === 'lab' && r.state === 'queued')?.count).toBe(3);
      const listed = (
        await store.queueList({ workerStaleMs: 60_000, finishedCounts: [], finishedCountsAgeMs: 0 })
      ).find((q) => q.name === 'lab');
      expect(listed?.counts.queued).toBe(3);
      expect(listed?.oldestReadyAgeMs).not.toBeNull();
      expect((await store.jobCancel({ id: one?.job.id ?? '' })).outcome).toBe('cancelled');
      const bulk = await store.jobCancelMatching({ match: { queue: 'lab', state: 'queued' }, limit: 10 });
      expect(bulk.cancelled).toBe(2);
      for (const result of [one, two, three]) {
        expect((await mustGet(store, result?.job.id ?? '')).state).toBe('cancelled');
      }
      expect(await claim(store, { labels: ['x', 'y'] })).toEqual([]);
    });

    it('registers the labels a worker offers', async () => {
      const store = await h.open();
      const base = {
        host: 'h',
        pid: 1,
        queues: null,
        tasks: [],
        concurrency: 2,
        running: 0,
        staleMs: 30_000,
      };
      await store.workerRegister({ id: 'w1', ...base, labels: ['gpu', 'region:eu'] });
      await store.workerRegister({ id: 'w2', ...base, labels: [] });
      const workers = await store.workerList({ staleMs: 60_000 });
      expect(workers.map((w) => [w.id, w.labels])).toEqual([
        ['w1', ['gpu', 'region:eu']],
        ['w2', []],
      ]);
    });
  });
}
