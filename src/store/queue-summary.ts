/** Builds the queue list (`queueList`) from a backend's reads; the same on both backends. */
import { JOB_STATES, type JobState } from '../job.js';
import { noThrottle, oldestReady, throttleCounts, type ThrottleGroup } from './queue-throttle.js';
import type { QueueInfo, QueueListParams, QueueLoad } from './store.js';

/** Zero jobs in every state. */
export function emptyCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
}

/**
 * One row of `queueLoadList` as the queue list reads it: for `scheduled`, how long after the read's now
 * (database clock) the soonest of these jobs comes due, in ms; null in the other states.
 */
export interface QueueLoadCount {
  queue: string;
  state: QueueLoad['state'];
  count: number;
  inMs: number | null;
}

/**
 * Every queue named by a count, an oldest-ready age, a pause, a throttled count or a job waiting for its
 * time, sorted by name: from the backend's one read of the ready jobs (`ready`: the queued counts, the
 * oldest ages and the throttled counts), its read of the jobs not due yet and the running ones
 * (`later`), the paused queues, and the finished counts (the caller's, with their age).
 */
export function queueSummary(
  ready: ReadonlyArray<ThrottleGroup>,
  later: ReadonlyArray<QueueLoadCount>,
  paused: ReadonlyArray<string>,
  finished: Pick<QueueListParams, 'finishedCounts' | 'finishedCountsAgeMs'>,
): QueueInfo[] {
  const queues = new Map<string, QueueInfo>();
  const get = (name: string): QueueInfo => {
    let queue = queues.get(name);
    if (queue === undefined) {
      queue = {
        name,
        counts: emptyCounts(),
        oldestReadyAgeMs: null,
        nextDueInMs: null,
        paused: false,
        throttled: noThrottle(),
        finishedCountsAgeMs: finished.finishedCountsAgeMs,
      };
      queues.set(name, queue);
    }
    return queue;
  };
  for (const { queue, state, count } of [...later, ...finished.finishedCounts])
    get(queue).counts[state] = Number(count);
  // A queue's ready jobs, over all its groups, are its queued ones (`later` holds none).
  for (const { queue, ready: count } of ready) get(queue).counts.queued += Number(count);
  // A job due a moment after the read began has a negative age on some clocks: it has not waited.
  for (const { queue, ageMs } of oldestReady(ready))
    get(queue).oldestReadyAgeMs = Math.max(0, Math.round(Number(ageMs)));
  for (const name of paused) get(name).paused = true;
  for (const { queue, reason, count } of throttleCounts(ready)) get(queue).throttled[reason] = count;
  // Rounded up: read again after this long, the job is due (PostgreSQL's clock has microseconds).
  for (const { queue, inMs } of later)
    if (inMs !== null) get(queue).nextDueInMs = Math.max(1, Math.ceil(Number(inMs)));
  return [...queues.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
