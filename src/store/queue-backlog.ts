/**
 * Builds `queueBacklog`'s result from a backend's one read of the backlog; the same on both backends.
 * The queued rows come from the ready groups (queue-throttle.ts), whose jobs are exactly those
 * `queueLoadList` counts as queued, so one pass over the ready jobs gives both the load and the
 * throttled counts.
 */
import { throttleCounts, type ThrottleGroup } from './queue-throttle.js';
import type { QueueBacklog, QueueLoad } from './store.js';

/**
 * The queued load per queue: each queue's ready jobs (over all its groups) summed, with the oldest due
 * time among them.
 */
export function queuedLoad(
  ready: Iterable<Pick<ThrottleGroup, 'queue' | 'ready' | 'oldestReadyAt'>>,
): QueueLoad[] {
  const queued = new Map<string, { count: number; oldestReadyAt: number }>();
  for (const group of ready) {
    const seen = queued.get(group.queue);
    const count = Number(group.ready);
    const oldestReadyAt = Number(group.oldestReadyAt);
    if (seen === undefined) queued.set(group.queue, { count, oldestReadyAt });
    else {
      seen.count += count;
      seen.oldestReadyAt = Math.min(seen.oldestReadyAt, oldestReadyAt);
    }
  }
  return [...queued].map(([queue, { count, oldestReadyAt }]) => ({
    queue,
    state: 'queued',
    count,
    oldestReadyAt: new Date(oldestReadyAt),
    nextDueAt: null,
  }));
}

/**
 * The load per queue (`ready` summed into each queue's `queued` row with its oldest due time, then
 * `later`: the scheduled jobs not yet due and the running ones) and the throttled counts.
 */
export function queueBacklog(
  ready: ReadonlyArray<ThrottleGroup>,
  later: ReadonlyArray<QueueLoad>,
): QueueBacklog {
  return { load: [...queuedLoad(ready), ...later], throttled: throttleCounts(ready) };
}
