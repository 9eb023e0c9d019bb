/**
 * Reading again when a scheduled job comes due. From its due time on a job reads `queued` (the store's
 * clock decides), but nothing is written at that moment, so no live event reloads the page: a page
 * that shows scheduled jobs, or counts of them, reads its data again at the soonest due time it knows,
 * and not before.
 */
import { useEffect, useRef } from 'preact/hooks';
import type { JobState } from './types.js';

// Jobs coming due within this long of the first become one read, as a burst of live events does.
const AFTER_DUE_MS = 400;
// A read after the due time that still says scheduled: the store's clock is behind this browser's.
// Read again after 1 s, doubling to 15 s, rather than at once and again and again.
const FIRST_LATE_READ_MS = 1_000;
const MAX_LATE_READ_MS = 15_000;
// A longer timeout fires at once in browsers (a 32-bit signed count of ms, about 24.8 days).
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The soonest due time (ms since the epoch) among the scheduled jobs of `jobs`, or null when none. */
export function soonestDue(jobs: ReadonlyArray<{ state: JobState; runAt: string }>): number | null {
  let soonest: number | null = null;
  for (const job of jobs) {
    if (job.state !== 'scheduled') continue;
    const at = Date.parse(job.runAt);
    if (!Number.isNaN(at) && (soonest === null || at < soonest)) soonest = at;
  }
  return soonest;
}

/**
 * When the soonest of several waits ends, as a time of this browser's clock: `readAt` (when the answer
 * that gave them arrived) plus the shortest of `waitsMs` (each measured by the store's clock, so the two
 * clocks need not agree), or null when there is none.
 */
export function soonestAfter(readAt: number, waitsMs: ReadonlyArray<number | null>): number | null {
  const waits = waitsMs.filter((ms): ms is number => ms !== null);
  return waits.length === 0 ? null : readAt + Math.min(...waits);
}

/**
 * Calls `reload` once `dueAt` (ms since the epoch, this browser's clock) has come; nothing when it is
 * null. `data` is what the last read gave: each new read arms the timer again from what it shows.
 */
export function useReloadWhenDue(dueAt: number | null, data: unknown, reload: () => void): void {
  // The due time that reads kept showing after it had passed, and how many such reads there were.
  const late = useRef<{ at: number; reads: number } | null>(null);
  useEffect(() => {
    if (dueAt === null) return undefined;
    const wait = dueAt - Date.now();
    let delay: number;
    if (wait > 0) {
      late.current = null;
      delay = wait + AFTER_DUE_MS;
    } else {
      const reads = late.current?.at === dueAt ? late.current.reads : 0;
      late.current = { at: dueAt, reads: reads + 1 };
      delay = Math.min(FIRST_LATE_READ_MS * 2 ** reads, MAX_LATE_READ_MS);
    }
    const timer = setTimeout(reload, Math.min(delay, MAX_TIMEOUT_MS));
    return () => clearTimeout(timer);
    // `data` is in the list so that a read showing the same due time arms the timer again.
  }, [dueAt, data, reload]);
}
