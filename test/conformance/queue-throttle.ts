/**
 * Conformance: throttled jobs. Ready jobs (queued, or scheduled and due) that cannot start now are
 * counted per queue under the first reason that holds them: the queue paused, claimed from by no
 * live worker, at its limit, out of starts; no live worker offering their labels; their key at its
 * limit, out of starts.
 */
import { describe, expect, it } from 'vitest';
import { noThrottle } from '../../src/store/queue-throttle.js';
import type { ClaimedJob, QueueLoad, QueueThrottle, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { nowMs } from './helpers.js';

const LIVE = { workerStaleMs: 60_000, finishedCounts: [], finishedCountsAgeMs: 0 };
const RATE = { limit: 1, periodMs: 600_000 };

function claim(store: Store, queue: string, limit = 1): Promise<ClaimedJob[]> {
  return store.jobClaim({ workerId: 'w', queues: [queue], limit, leaseMs: 30_000 });
}

async function throttled(store: Store): Promise<QueueThrottle[]> {
  return (await store.queueBacklog(LIVE)).throttled;
}

const WORKER = { host: 'h', pid: 1, tasks: [], concurrency: 1, running: 0, staleMs: 30_000 };

/** A live worker claiming from every queue, so that no job counts as unserved. */
async function serveAll(store: Store): Promise<void> {
  await store.workerRegister({ id: 'w-all', ...WORKER, queues: null, labels: [] });
}

/** Throttled count tests. */
export function describeQueueThrottle(h: StoreHarness): void {
  describe('throttled jobs', () => {
    it('counts nothing when every ready job may start', async () => {
      const store = await h.open();
      await serveAll(store);
      await store.jobInsertMany({
        jobs: [newJob({ queue: 'free' }), newJob({ queue: 'free', delayMs: 60_000 })],
      });
      expect(await throttled(store)).toEqual([]);
      const [listed] = await store.queueList(LIVE);
      expect(listed?.throttled).toEqual(noThrottle());
    });

    it('counts the ready jobs of a paused, a full and a rate-limited queue', async () => {
      const store = await h.open();
      await serveAll(store);
      await store.queueSetLimit({ queue: 'full', limit: 1 });
      await store.queueSetRate({ queue: 'paced', rate: RATE });
      await store.jobInsertMany({
        jobs: [
          ...Array.from({ length: 3 }, () => newJob({ queue: 'full' })),
          ...Array.from({ length: 3 }, () => newJob({ queue: 'paced' })),
          // Paused wins over every other reason, the key's included.
          ...Array.from({ length: 2 }, () => newJob({ queue: 'stopped', concurrencyKey: 'k' })),
          newJob({ queue: 'stopped', requires: ['nobody'] }),
        ],
      });
      expect(await claim(store, 'full', 10)).toHaveLength(1);
      expect(await claim(store, 'paced', 10)).toHaveLength(1);
      expect(await claim(store, 'stopped')).toHaveLength(1);
      await store.queuePause({ queue: 'stopped' });
      expect(await throttled(store)).toEqual([
        { queue: 'full', reason: 'queue_limit', count: 2 },
        { queue: 'paced', reason: 'queue_rate', count: 2 },
        { queue: 'stopped', reason: 'paused', count: 2 },
      ]);
      const listed = await store.queueList(LIVE);
      expect(listed.find((q) => q.name === 'full')?.throttled).toMatchObject({ queue_limit: 2, paused: 0 });
      expect(listed.find((q) => q.name === 'stopped')?.throttled.paused).toBe(2);
    });

    it('counts jobs whose key is full or out of starts, and due scheduled jobs, not delayed ones', async () => {
      const store = await h.open();
      await serveAll(store);
      await store.concurrencyKeySetRate({ key: 'slow', rate: RATE });
      const due = newJob({ queue: 'keys', concurrencyKey: 'one', delayMs: 60_000 });
      await store.jobInsertMany({
        jobs: [
          ...Array.from({ length: 3 }, () => newJob({ queue: 'keys', concurrencyKey: 'one' })),
          ...Array.from({ length: 3 }, () =>
            newJob({ queue: 'keys', concurrencyKey: 'slow', concurrencyLimit: 100 }),
          ),
          newJob({ queue: 'keys', concurrencyKey: 'one', delayMs: 60_000 }),
          due,
          newJob({ queue: 'keys' }),
        ],
      });
      // One start each: key `one` is then full, key `slow` out of starts.
      const started = await claim(store, 'keys', 10);
      expect(started.map((j) => j.concurrencyKey).sort()).toEqual([null, 'one', 'slow']);
      // Due after the claim: its row not yet promoted by any claim, yet it reads queued and is ready.
      await h.setJobFields(store, due.id, { runAt: new Date((await nowMs(store)) - 1) });
      expect((await store.jobGet({ id: due.id }))?.state).toBe('queued');
      expect(await throttled(store)).toEqual([
        { queue: 'keys', reason: 'key_limit', count: 3 },
        { queue: 'keys', reason: 'key_rate', count: 2 },
      ]);
    });

    it('counts jobs requiring labels no live worker offers, until one does', async () => {
      const store = await h.open();
      await serveAll(store);
      await store.jobInsertMany({
        jobs: [
          newJob({ queue: 'areas', requires: ['gpu'] }),
          newJob({ queue: 'areas', requires: ['gpu', 'region:eu'] }),
          newJob({ queue: 'areas', requires: ['dmz'], concurrencyKey: 'k' }),
          newJob({ queue: 'areas' }),
        ],
      });
      expect(await throttled(store)).toEqual([{ queue: 'areas', reason: 'labels', count: 3 }]);
      const worker = { ...WORKER, queues: null };
      await store.workerRegister({ id: 'w-gpu', ...worker, labels: ['gpu'] });
      expect(await throttled(store)).toEqual([{ queue: 'areas', reason: 'labels', count: 2 }]);
      await store.workerRegister({ id: 'w-eu', ...worker, labels: ['dmz', 'gpu', 'region:eu'] });
      expect(await throttled(store)).toEqual([]);
      await store.workerDelete({ id: 'w-eu' });
      expect(await throttled(store)).toEqual([{ queue: 'areas', reason: 'labels', count: 2 }]);
    });

    it('counts the ready jobs of a queue no live worker claims from, until one does', async () => {
      const store = await h.open();
      await store.queueSetLimit({ queue: 'mail', limit: 1 });
      await store.jobInsertMany({
        jobs: [
          newJob({ queue: 'mail' }),
          newJob({ queue: 'mail', requires: ['nobody'] }),
          newJob({ queue: 'mail', delayMs: 60_000 }),
          newJob({ queue: 'sms' }),
          newJob({ queue: 'held' }),
        ],
      });
      expect(await store.queuePausedList()).toEqual([]);
      await store.queuePause({ queue: 'zz-empty' });
      await store.queuePause({ queue: 'held' });
      expect(await store.queuePausedList()).toEqual(['held', 'zz-empty']);
      // No worker at all: every ready job of an unpaused queue (a delayed one is not ready yet),
      // whatever else would hold it.
      expect(await throttled(store)).toEqual([
        { queue: 'held', reason: 'paused', count: 1 },
        { queue: 'mail', reason: 'unserved', count: 2 },
        { queue: 'sms', reason: 'unserved', count: 1 },
      ]);
      // Workers whose own stale bound is 5 ms: the reader's bound decides until it is shorter (below).
      await store.workerRegister({
        id: 'w-sms',
        ...WORKER,
        queues: ['sms', 'other'],
        labels: [],
        staleMs: 5,
      });
      expect(await throttled(store)).toEqual([
        { queue: 'held', reason: 'paused', count: 1 },
        { queue: 'mail', reason: 'unserved', count: 2 },
      ]);
      const [mail] = (await store.queueList(LIVE)).filter((q) => q.name === 'mail');
      expect(mail?.throttled).toMatchObject({ unserved: 2, labels: 0 });
      await store.workerRegister({ id: 'w-mail', ...WORKER, queues: ['mail'], labels: [], staleMs: 5 });
      expect(await throttled(store)).toEqual([
        { queue: 'held', reason: 'paused', count: 1 },
        { queue: 'mail', reason: 'labels', count: 1 },
      ]);
      // A worker whose heartbeat is older than the bound (the reader's and its own) is not live: it
      // serves nothing.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await store.queueBacklog({ workerStaleMs: 5 })).throttled).toEqual([
        { queue: 'held', reason: 'paused', count: 1 },
        { queue: 'mail', reason: 'unserved', count: 2 },
        { queue: 'sms', reason: 'unserved', count: 1 },
      ]);
    });

    it('reads the backlog once: the load per queue as queueLoadList reads it, with the throttled counts', async () => {
      const store = await h.open();
      await serveAll(store);
      await store.jobInsertMany({
        jobs: [
          newJob({ queue: 'mixed', group: 'g1' }),
          newJob({ queue: 'mixed', group: 'g2', requires: ['gpu'] }),
          newJob({ queue: 'mixed', requires: ['gpu'] }),
          newJob({ queue: 'mixed', delayMs: 60_000 }),
          newJob({ queue: 'mixed', delayMs: 120_000 }),
          newJob({ queue: 'mixed', concurrencyKey: 'k', concurrencyLimit: 1 }),
          newJob({ queue: 'mixed', concurrencyKey: 'k', concurrencyLimit: 1 }),
          newJob({ queue: 'busy' }),
          newJob({ queue: 'busy' }),
        ],
      });
      // One keyed job runs (its key is then full), one of 'busy' too.
      expect((await claim(store, 'busy')).length).toBe(1);
      const keyed = await store.jobClaim({ workerId: 'w', queues: ['mixed'], limit: 10, leaseMs: 30_000 });
      expect(keyed.map((job) => job.concurrencyKey ?? '').sort()).toEqual(['', 'k']);
      const order = (rows: QueueLoad[]): QueueLoad[] =>
        [...rows].sort((a, b) => `${a.queue}/${a.state}`.localeCompare(`${b.queue}/${b.state}`));
      const backlog = await store.queueBacklog(LIVE);
      const load = await store.queueLoadList();
      expect(order(backlog.load)).toEqual(order(load));
      expect(order(backlog.load).map(({ queue, state, count }) => [queue, state, count])).toEqual([
        ['busy', 'queued', 1],
        ['busy', 'running', 1],
        ['mixed', 'queued', 3],
        ['mixed', 'running', 2],
        ['mixed', 'scheduled', 2],
      ]);
      // Nobody offers gpu: two wait for labels, the keyed one for its key.
      expect(backlog.throttled).toEqual([
        { queue: 'mixed', reason: 'labels', count: 2 },
        { queue: 'mixed', reason: 'key_limit', count: 1 },
      ]);
    });
  });
}
