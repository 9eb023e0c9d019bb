/**
 * Conformance: the tasks a worker implements, on its registration row. Written when it registers (a
 * registration again replaces them), left alone by its heartbeat, read back by `workerList` as they
 * were given; a worker that implements none reads as an empty list. Each worker is live while its
 * heartbeat is at most the longer of the reader's bound and its own `staleMs` old, for the list, the
 * throttled counts and the sweep.
 */
import { describe, expect, it } from 'vitest';
import type { StoreHarness } from '../support/store-harness.js';
import { newJob } from '../support/jobs.js';
import { openFrozen } from './helpers.js';

const BASE = { host: 'h', pid: 1, queues: null, labels: [], concurrency: 2, running: 0, staleMs: 30_000 };

/** Worker registration tests. */
export function describeWorkers(h: StoreHarness): void {
  describe('workerRegister / workerHeartbeat / workerList: tasks', () => {
    it('lists the tasks each worker registered, an empty list for one that implements none', async () => {
      const store = await h.open();
      await store.workerRegister({ id: 'w1', ...BASE, tasks: ['email.send', 'report.build'] });
      await store.workerRegister({ id: 'w2', ...BASE, tasks: [] });
      await store.workerRegister({ id: 'w3', ...BASE, tasks: ['Zeta', 'alpha', 'é.task'] });
      const workers = await store.workerList({ staleMs: 60_000 });
      expect(workers.map((w) => [w.id, w.tasks])).toEqual([
        ['w1', ['email.send', 'report.build']],
        ['w2', []],
        ['w3', ['Zeta', 'alpha', 'é.task']],
      ]);
    });

    it('keeps the tasks through heartbeats, and a registration again replaces them', async () => {
      const store = await h.open();
      await store.workerRegister({ id: 'w', ...BASE, tasks: ['a', 'b'] });
      expect(await store.workerHeartbeat({ id: 'w', running: 1 })).toBe(true);
      expect(await store.workerList({ staleMs: 60_000 })).toMatchObject([
        { id: 'w', running: 1, tasks: ['a', 'b'] },
      ]);
      // A worker swept while it stalled registers again; a restarted one under the same id may run
      // other tasks.
      await store.workerRegister({ id: 'w', ...BASE, tasks: ['c'] });
      expect(await store.workerList({ staleMs: 60_000 })).toMatchObject([{ id: 'w', tasks: ['c'] }]);
      await store.workerRegister({ id: 'w', ...BASE, tasks: [] });
      expect(await store.workerList({ staleMs: 60_000 })).toMatchObject([{ id: 'w', tasks: [] }]);
    });
  });

  describe("liveness: the longer of the reader's bound and the worker's own", () => {
    it('lists, serves and sweeps each worker by its own stale bound when it is the longer', async () => {
      const store = await openFrozen(h);
      const worker = { ...BASE, tasks: [] };
      await store.workerRegister({ id: 'w-default', ...worker, queues: ['mail'] });
      await store.workerRegister({ id: 'w-long', ...worker, queues: ['reports'], staleMs: 120_000 });
      await store.workerRegister({ id: 'w-short', ...worker, queues: ['sms'], staleMs: 1_000 });
      await store.jobInsertMany({
        jobs: ['mail', 'reports', 'sms'].map((queue) => ({ ...newJob({ queue }) })),
      });
      const live = async (staleMs: number): Promise<string[]> =>
        (await store.workerList({ staleMs })).map((w) => w.id);
      const unserved = async (): Promise<string[]> =>
        (await store.queueBacklog({ workerStaleMs: 30_000 })).throttled
          .filter((t) => t.reason === 'unserved')
          .map((t) => t.queue);
      expect((await store.workerList({ staleMs: 30_000 })).map((w) => [w.id, w.staleMs])).toEqual([
        ['w-default', 30_000],
        ['w-long', 120_000],
        ['w-short', 1_000],
      ]);
      // 10 s without a heartbeat: a reader's 30 s keeps w-short live (the longer bound), while a
      // sweeper with its own 1 s bound forgets it (its own is 1 s too), not the others.
      await h.advanceClock(store, 10_000);
      expect(await live(30_000)).toEqual(['w-default', 'w-long', 'w-short']);
      expect(await store.workerSweep({ staleMs: 1_000 })).toEqual({ deleted: ['w-short'] });
      // 45 s: past the readers' 30 s, w-long is still live by its own 120 s, and serves its queue.
      await h.advanceClock(store, 35_000);
      expect(await live(30_000)).toEqual(['w-long']);
      expect(await unserved()).toEqual(['mail', 'sms']);
      expect(await store.workerSweep({ staleMs: 30_000 })).toEqual({ deleted: ['w-default'] });
      // 125 s: past its own bound too.
      await h.advanceClock(store, 80_000);
      expect(await live(30_000)).toEqual([]);
      expect(await unserved()).toEqual(['mail', 'reports', 'sms']);
      expect(await store.workerSweep({ staleMs: 30_000 })).toEqual({ deleted: ['w-long'] });
    });
  });
}
