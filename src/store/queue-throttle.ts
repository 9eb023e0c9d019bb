/**
 * Throttled jobs (docs/TENANCY.md, "Throttled jobs"): from a backend's ready jobs grouped by queue and
 * requirement set, with what holds their queue and how many their keys hold, to counts per queue and
 * reason. The same on both backends: each job counts once, under the first reason in THROTTLE_REASONS
 * order that holds it.
 */
import { THROTTLE_REASONS, type QueueThrottle, type ThrottleReason } from './store.js';

/** Ready jobs of one queue with one requirement set, as a backend reads them. */
export interface ThrottleGroup {
  queue: string;
  /** Ready jobs (queued, or scheduled and due). */
  ready: number;
  /** Of those, jobs whose concurrency key is at its limit now. */
  keyLimit: number;
  /** Of those, jobs whose key has room but is out of starts now (its rate). */
  keyRate: number;
  paused: boolean;
  /** The queue is at its running limit. */
  queueFull: boolean;
  /** The queue has room (or no limit) but its rate allows no start now. */
  queueRateOut: boolean;
  /** Some live worker offers every label the group requires (true without requirements). */
  labelsOffered: boolean;
}

/** Counts per queue and reason, zero counts left out, by queue then reason order. */
export function throttleCounts(groups: Iterable<ThrottleGroup>): QueueThrottle[] {
  const counts = new Map<string, Map<ThrottleReason, number>>();
  const add = (queue: string, reason: ThrottleReason, n: number): void => {
    if (n <= 0) return;
    let byReason = counts.get(queue);
    if (byReason === undefined) counts.set(queue, (byReason = new Map<ThrottleReason, number>()));
    byReason.set(reason, (byReason.get(reason) ?? 0) + n);
  };
  for (const group of groups) {
    const ready = Number(group.ready);
    if (group.paused) add(group.queue, 'paused', ready);
    else if (group.queueFull) add(group.queue, 'queue_limit', ready);
    else if (group.queueRateOut) add(group.queue, 'queue_rate', ready);
    else if (!group.labelsOffered) add(group.queue, 'labels', ready);
    else {
      add(group.queue, 'key_limit', Number(group.keyLimit));
      add(group.queue, 'key_rate', Number(group.keyRate));
    }
  }
  const rows: QueueThrottle[] = [];
  for (const queue of [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const byReason = counts.get(queue);
    for (const reason of THROTTLE_REASONS) {
      const count = byReason?.get(reason);
      if (count !== undefined) rows.push({ queue, reason, count });
    }
  }
  return rows;
}

/** Zero for every reason. */
export function noThrottle(): Record<ThrottleReason, number> {
  return Object.fromEntries(THROTTLE_REASONS.map((reason) => [reason, 0])) as Record<ThrottleReason, number>;
}

/** Whether `offered` (a live worker's labels) holds every label of `required`. */
export function labelsMet(required: readonly string[], offered: ReadonlySet<string>): boolean {
  return required.every((label) => offered.has(label));
}
