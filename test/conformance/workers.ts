/**
 * Conformance: the tasks a worker implements, on its registration row. Written when it registers (a
 * registration again replaces them), left alone by its heartbeat, read back by `workerList` as they
 * were given; a worker that implements none reads as an empty list.
 */
import { describe, expect, it } from 'vitest';
import type { StoreHarness } from '../support/store-harness.js';

const BASE = { host: 'h', pid: 1, queues: null, labels: [], concurrency: 2, running: 0 };

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
}
