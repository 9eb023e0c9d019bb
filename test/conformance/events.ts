/** Conformance: in-process store events. */
import { describe, expect, it } from 'vitest';
import type { StoreEvents } from '../../src/store/store.js';
import { captureLogger } from '../support/capture-logger.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { claimOne, insertOne } from './helpers.js';

/** Event tests. */
export function describeEvents(h: StoreHarness): void {
  describe('listen', () => {
    it('a throwing listener is logged and skipped: the committed write resolves and other listeners run', async () => {
      const { logger, lines } = captureLogger();
      const store = await h.open({ logger });
      const heard: string[] = [];
      store.listen('job:ready', () => {
        throw new Error('listener bug');
      });
      // A queue of null is another process's wake-up (SQLite's wake file), not this enqueue.
      store.listen('job:ready', ({ queue }) => {
        if (queue !== null) heard.push(queue);
      });
      store.listen('job:finished', () => {
        throw new Error('finish listener bug');
      });

      const inserted = await insertOne(store, { queue: 'mail' });
      expect(await store.jobGet({ id: inserted.id })).toMatchObject({ id: inserted.id, state: 'queued' });
      expect(heard).toEqual(['mail']);

      const claimed = await claimOne(store, { queue: 'done' });
      const { accepted } = await store.jobFinishMany({
        finishes: [{ id: claimed.id, leaseToken: claimed.leaseToken, outcome: 'completed' }],
      });
      expect(accepted).toEqual([claimed.id]);
      expect((await store.jobGet({ id: claimed.id }))?.state).toBe('completed');

      // Only the listeners' lines: a store behind a transaction pooler also warns about its planner settings.
      const logged = lines
        .map(
          (line) =>
            JSON.parse(line) as { level: number; event: string; err: { message: string }; msg: string },
        )
        .filter((l) => l.msg === 'store event listener threw; ignored');
      expect(logged.map((l) => [l.level, l.event, l.err.message])).toEqual([
        [50, 'job:ready', 'listener bug'],
        [50, 'job:ready', 'listener bug'],
        [50, 'job:finished', 'finish listener bug'],
      ]);
    });

    it('emits job:ready on insert, release and retry, and job:finished on final transitions', async () => {
      const store = await h.open();
      const ready: Array<StoreEvents['job:ready']> = [];
      const finished: Array<StoreEvents['job:finished']> = [];
      const stopReady = store.listen('job:ready', (e) => ready.push(e));
      store.listen('job:finished', (e) => finished.push(e));

      await insertOne(store, { queue: 'mail' });
      expect(ready).toContainEqual({ queue: 'mail' });

      const released = await claimOne(store, { queue: 'rel' });
      ready.length = 0;
      await store.jobFinishMany({
        finishes: [{ id: released.id, leaseToken: released.leaseToken, outcome: 'released' }],
      });
      expect(ready).toEqual([{ queue: 'rel' }]);

      const done = await claimOne(store, { queue: 'ok' });
      await store.jobFinishMany({
        finishes: [{ id: done.id, leaseToken: done.leaseToken, outcome: 'completed' }],
      });
      expect(finished).toContainEqual({ id: done.id, state: 'completed' });

      const failed = await claimOne(store, { queue: 'bad' });
      await store.jobFinishMany({
        finishes: [
          {
            id: failed.id,
            leaseToken: failed.leaseToken,
            outcome: 'failed',
            error: { message: 'x', reason: 'failed' },
          },
        ],
      });
      expect(finished).toContainEqual({ id: failed.id, state: 'failed' });

      ready.length = 0;
      await store.jobRetry({ id: failed.id });
      expect(ready).toEqual([{ queue: 'bad' }]);

      const waiting = await insertOne(store, { queue: 'later', delayMs: 60_000 });
      await store.jobCancel({ id: waiting.id });
      expect(finished).toContainEqual({ id: waiting.id, state: 'cancelled' });

      stopReady();
      ready.length = 0;
      await insertOne(store, { queue: 'mail' });
      expect(ready).toEqual([]);
    });

    it('emits job:cancel_requested for a running job, to other processes where events cross them', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      const local: Array<StoreEvents['job:cancel_requested']> = [];
      const remote: Array<StoreEvents['job:cancel_requested']> = [];
      store.listen('job:cancel_requested', (e) => local.push(e));
      peer.listen('job:cancel_requested', (e) => remote.push(e));
      const waiting = await insertOne(store, { delayMs: 60_000 });
      await store.jobCancel({ id: waiting.id });
      const running = await claimOne(store);
      await store.jobCancel({ id: running.id });
      expect(local).toEqual([{ id: running.id }]);
      if (peer.crossProcessEvents) {
        // The peer's LISTEN connects in the background; a request sent before it is not heard.
        await waitUntil(async () => {
          await store.jobCancel({ id: running.id });
          return remote.length > 0;
        });
        expect(new Set(remote.map((e) => e.id))).toEqual(new Set([running.id]));
      } else {
        expect(remote).toEqual([]);
      }
    });

    it('emits job:capacity when a finish or a rescue gives back a key or a queue slot, to other processes where events cross them', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      let local = 0;
      let remote = 0;
      store.listen('job:capacity', () => (local += 1));
      peer.listen('job:capacity', () => (remote += 1));
      const finish = async (overrides: Parameters<typeof claimOne>[1], outcome: 'completed' | 'failed') => {
        const job = await claimOne(store, overrides);
        const error = { message: 'x', reason: 'failed' as const };
        await store.jobFinishMany({
          finishes: [
            { id: job.id, leaseToken: job.leaseToken, outcome, ...(outcome === 'failed' && { error }) },
          ],
        });
      };

      await finish({}, 'completed');
      await finish({}, 'failed');
      expect(local).toBe(0);
      // A key's slot, by a plain completion and by a failure (each its own statement on PostgreSQL).
      await finish({ concurrencyKey: 'tenant-a' }, 'completed');
      expect(local).toBe(1);
      await finish({ concurrencyKey: 'tenant-a' }, 'failed');
      expect(local).toBe(2);
      // A queue's slot.
      await store.queueSetLimit({ queue: 'limited', limit: 5 });
      await finish({ queue: 'limited' }, 'completed');
      expect(local).toBe(3);
      // A key's slot, by the rescue of a lapsed attempt.
      const lapsed = await claimOne(store, { concurrencyKey: 'tenant-a' });
      await h.advanceClock(store, 60_000);
      expect((await store.jobRescueLapsed({ limit: 10 })).requeued).toEqual([lapsed.id]);
      expect(local).toBe(4);
      if (peer.crossProcessEvents) {
        // The peer's LISTEN connects in the background; a finish before it is not heard.
        await waitUntil(async () => {
          await finish({ concurrencyKey: 'tenant-b' }, 'completed');
          return remote > 0;
        });
      } else {
        expect(remote).toBe(0);
      }
    });

    it('holds job:ready of inserts inside transaction() until COMMIT, and drops it on ROLLBACK', async () => {
      const store = await h.open();
      const ready: Array<StoreEvents['job:ready']> = [];
      store.listen('job:ready', (e) => ready.push(e));
      await store.transaction(async (tx) => {
        await store.jobInsertMany({ jobs: [newJob({ queue: 'committed' })], tx });
        expect(ready).toEqual([]);
      });
      expect(ready).toEqual([{ queue: 'committed' }]);
      ready.length = 0;
      const rolledBack = newJob({ queue: 'rolled-back' });
      await store
        .transaction(async (tx) => {
          await store.jobInsertMany({ jobs: [rolledBack], tx });
          throw new Error('roll back');
        })
        .catch(() => undefined);
      expect(ready).toEqual([]);
      expect(await store.jobGet({ id: rolledBack.id })).toBeUndefined();
    });
  });
}
