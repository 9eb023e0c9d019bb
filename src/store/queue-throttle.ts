/**
 * Throttled jobs (docs/TENANCY.md, "Throttled jobs"): from a backend's ready jobs counted per queue
 * (or per queue and requirement set), with what holds their queue and how many their labels and keys
 * hold, to counts per queue and reason. The same on both backends: each job counts once, under the
 * first reason in THROTTLE_REASONS order that holds it. The same read gives each queue's oldest ready
 * job, which the queue list shows.
 */
import { THROTTLE_REASONS, type QueueThrottle, type ThrottleReason } from './store.js';

/** Ready jobs of one queue (all of them, or those of one requirement set), as a backend reads them. */
export interface ThrottleGroup {
  queue: string;
  /** Ready jobs (queued, or scheduled and due). */
  ready: number;
  /** Of those, jobs requiring labels no live worker offers (all of them). */
  labels: number;
  /** Of the others, jobs whose concurrency key is at its limit now. */
  keyLimit: number;
  /** Of the others, jobs whose key has room but is out of starts now (its rate). */
  keyRate: number;
  paused: boolean;
  /** No live worker claims from the queue (none serves all queues, none lists it). */
  unserved: boolean;
  /** The queue is at its running limit. */
  queueFull: boolean;
  /** The queue's rate allows no start now. */
  queueRateOut: boolean;
  /** How long the group's oldest ready job has waited, ms on the database clock. */
  ageMs: number;
  /** When the group's oldest ready job came due, ms since the epoch (database clock), whole. */
  oldestReadyAt: number;
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
    else if (group.unserved) add(group.queue, 'unserved', ready);
    else if (group.queueFull) add(group.queue, 'queue_limit', ready);
    else if (group.queueRateOut) add(group.queue, 'queue_rate', ready);
    else {
      add(group.queue, 'labels', Number(group.labels));
      add(group.queue, 'key_limit', Number(group.keyLimit));
      add(group.queue, 'key_rate', Number(group.keyRate));
    }
  }
  const rows: QueueThrottle[] = [];
  for (const queue of [...counts.keys()].sort(byText)) {
    const byReason = counts.get(queue);
    for (const reason of THROTTLE_REASONS) {
      const count = byReason?.get(reason);
      if (count !== undefined) rows.push({ queue, reason, count });
    }
  }
  return rows;
}

/** Per queue, the age of its oldest ready job: the oldest of its groups'. */
export function oldestReady(groups: Iterable<ThrottleGroup>): Array<{ queue: string; ageMs: number }> {
  const ages = new Map<string, number>();
  for (const { queue, ageMs } of groups)
    ages.set(queue, Math.max(Number(ageMs), ages.get(queue) ?? -Infinity));
  return [...ages].map(([queue, ageMs]) => ({ queue, ageMs }));
}

/** Zero for every reason. */
export function noThrottle(): Record<ThrottleReason, number> {
  return Object.fromEntries(THROTTLE_REASONS.map((reason) => [reason, 0])) as Record<ThrottleReason, number>;
}

/** Whether `offered` (a live worker's labels) holds every label of `required`. */
export function labelsMet(required: readonly string[], offered: ReadonlySet<string>): boolean {
  return required.every((label) => offered.has(label));
}

/** Two texts in the order of their characters' codes (SQLite's BINARY order for names), as a sort comparator. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
