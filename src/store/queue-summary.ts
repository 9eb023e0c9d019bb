/** Builds the queue list (`queueList`) from a backend's four reads; the same on both backends. */
import { JOB_STATES, type JobState } from '../job.js';
import { noThrottle } from './queue-throttle.js';
import type { QueueInfo, QueueThrottle } from './store.js';

/** Zero jobs in every state. */
export function emptyCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
}

/** Every queue named by a count, an oldest-ready age, a pause or a throttled count, sorted by name. */
export function queueSummary(
  counts: ReadonlyArray<{ queue: string; state: JobState; count: number }>,
  oldest: ReadonlyArray<{ queue: string; ageMs: number }>,
  paused: ReadonlyArray<string>,
  throttled: ReadonlyArray<QueueThrottle>,
): QueueInfo[] {
  const queues = new Map<string, QueueInfo>();
  const get = (name: string): QueueInfo => {
    let queue = queues.get(name);
    if (queue === undefined) {
      queue = { name, counts: emptyCounts(), oldestReadyAgeMs: null, paused: false, throttled: noThrottle() };
      queues.set(name, queue);
    }
    return queue;
  };
  for (const { queue, state, count } of counts) get(queue).counts[state] = Number(count);
  // A job due a moment after the read began has a negative age on some clocks: it has not waited.
  for (const { queue, ageMs } of oldest) get(queue).oldestReadyAgeMs = Math.max(0, Math.round(Number(ageMs)));
  for (const name of paused) get(name).paused = true;
  for (const { queue, reason, count } of throttled) get(queue).throttled[reason] = count;
  return [...queues.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
