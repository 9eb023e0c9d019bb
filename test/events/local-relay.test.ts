/**
 * `ns.events` 'cluster:event' in the process that runs the worker: its own completions arrive once
 * each, through the log like everyone else's (not also from the worker, so never twice), and nothing
 * is read before the first listener or after the last.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../src/cluster-events.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { freshStore } from '../support/fresh-store.js';
import { waitUntil } from '../support/wait-until.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(['sqlite', 'postgres'] as const)('cluster:event in the worker process on %s', (backend) => {
  it('delivers each local completion once per listener', async () => {
    const store = await freshStore(backend, 'events_local', cleanups);
    const ns = await Nightshift.connect({
      db: store,
      logger: createLogger({ level: 'silent' }),
      tasks: { noop: () => undefined },
    });
    cleanups.push(() => ns.close());
    const first: ClusterEvent[] = [];
    const second: ClusterEvent[] = [];
    ns.events.on('cluster:event', (e) => first.push(e));
    const stopSecond = ns.events.on('cluster:event', (e) => second.push(e));
    // The relay starts from the log's head when the first listener arrives: wait until it hears.
    await waitUntil(
      async () => {
        await store.eventAppend({ events: [{ type: 'queue:resumed', queue: 'probe' }] });
        await new Promise((resolve) => setTimeout(resolve, 100));
        return first.length > 0;
      },
      { timeoutMs: 10_000 },
    );
    const jobs = await ns.enqueueMany(
      Array.from({ length: 200 }, (_, i) => ({ task: 'noop', payload: { i } })),
    );
    ns.startWorker({ concurrency: 20 });
    const completedIn = (list: ClusterEvent[]) =>
      list.filter((e) => e.type === 'job:completed').map((e) => e.jobId);
    await waitUntil(() => completedIn(first).length >= 200 && completedIn(second).length >= 200, {
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    const ids = jobs.map((j) => j.id).sort();
    expect(completedIn(first).sort()).toEqual(ids);
    expect(completedIn(second).sort()).toEqual(ids);
    stopSecond();
    const before = second.length;
    await ns.enqueue('noop' as never, { i: -1 } as never);
    await waitUntil(() => first.some((e) => e.type === 'job:completed' && !ids.includes(e.jobId ?? '')), {
      timeoutMs: 10_000,
    });
    expect(second.length).toBe(before);
  });
});
