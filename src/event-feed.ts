/**
 * Following the cluster event log: a reader that catches up from a cursor, then waits for more.
 *
 * It reads pages until one says nothing more is readable (`more`: a filtered page may come back short,
 * even empty, with more of the log to scan behind it), then sleeps until the store says events were committed
 * (`event:written`: at once for this process's writes, within ~25 ms for other processes' on PostgreSQL)
 * or the poll interval passes, whichever is first. The poll is the safety net: SQLite cannot tell other
 * processes' writes, a NOTIFY can be lost with its connection, and on PostgreSQL a wake-up may come
 * while an older transaction still holds the read horizon. A database that is down is retried at the
 * poll interval from the same cursor, so nothing is lost or repeated across an outage.
 */
import type { ClusterEvent, ClusterEventFilter } from './cluster-events.js';
import { NightshiftError } from './errors.js';
import type { Store } from './store/store.js';
import { keyNames } from './validation/known-keys.js';

/** Options of `followEvents`. */
export interface FollowEventsOptions extends ClusterEventFilter {
  /** Start after this cursor (an event's id); default: from now on (`Store.eventHead`). */
  after?: string | undefined;
  /** Ends the iteration (it returns, it does not throw). */
  signal?: AbortSignal | undefined;
  /** Longest wait between reads when nothing wakes the reader. Default 500 ms. */
  pollMs?: number;
}

/** The keys of `FollowEventsOptions`, for refusing a misspelt one (validation/known-keys.ts). */
export const FOLLOW_EVENTS_OPTION_NAMES = keyNames<FollowEventsOptions>({
  queue: true,
  task: true,
  jobId: true,
  after: true,
  signal: true,
  pollMs: true,
});

/** Events read per page. */
export const FOLLOW_PAGE_SIZE = 500;
const DEFAULT_POLL_MS = 500;

/** Yields every matching event after the cursor, oldest first, until the signal aborts. */
export async function* followEvents(
  store: Store,
  options: FollowEventsOptions = {},
): AsyncGenerator<ClusterEvent, void, undefined> {
  const { signal, queue, task, jobId } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const wake = new Wakeup();
  const stopListening = store.listen('event:written', () => wake.set());
  const onAbort = (): void => wake.set();
  signal?.addEventListener('abort', onAbort);
  try {
    let cursor = options.after ?? (await retried(() => store.eventHead(), wake, pollMs, signal));
    while (cursor !== undefined && !aborted(signal)) {
      // A wake-up that arrives during this read is kept, so the write it announces is read next.
      wake.clear();
      const after: string = cursor;
      const page = await retried(
        () => store.eventRead({ after, limit: FOLLOW_PAGE_SIZE, queue, task, jobId }),
        wake,
        pollMs,
        signal,
      );
      if (page === undefined) return;
      for (const event of page.events) {
        if (aborted(signal)) return;
        yield event;
      }
      cursor = page.next;
      if (!page.more) await wake.wait(pollMs);
    }
  } finally {
    stopListening();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Runs `read` until it succeeds, waiting `pollMs` after each `database_unavailable`; undefined once aborted. */
async function retried<T>(
  read: () => Promise<T>,
  wake: Wakeup,
  pollMs: number,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  for (;;) {
    if (aborted(signal)) return undefined;
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof NightshiftError) || error.code !== 'database_unavailable') throw error;
      if (aborted(signal)) return undefined;
      wake.clear();
      await wake.wait(pollMs);
    }
  }
}

/** Read through a function so the compiler does not narrow it: an abort can come during any await. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted ?? false;
}

/** A flag a reader sleeps on: set by a wake-up, or the wait times out. */
class Wakeup {
  private pending = false;
  private release: (() => void) | undefined;

  set(): void {
    this.pending = true;
    this.release?.();
  }

  clear(): void {
    this.pending = false;
  }

  /** Resolves when set (at once if already set) or after `ms`. */
  async wait(ms: number): Promise<void> {
    if (this.pending) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.release = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.release = undefined;
  }
}
