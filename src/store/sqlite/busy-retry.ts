/**
 * Waiting out another connection's write lock without blocking the event loop.
 *
 * better-sqlite3 is synchronous: its busy timeout spins inside the call and freezes the whole
 * process, lease renewal included. So the connection's own busy timeout stays short (default 50 ms,
 * enough for a typical commit by another process) and longer waits happen here, between attempts,
 * with capped exponential backoff and jitter so several processes do not retry in lockstep.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { NightshiftError } from '../../errors.js';

/** How long and how a store keeps retrying a locked database. */
export interface BusyRetryOptions {
  /**
   * Give up after this many ms of retrying, measured on the monotonic clock (never the store's
   * injectable clock: a frozen test clock must not turn the bound into an endless loop).
   */
  limitMs: number;
}

// First retry after ~5 ms, doubling to at most 250 ms: short waits recover fast after a commit, long
// ones stop hammering a database held by a long transaction (a 5 s lock costs ~25 retries).
const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 250;

/**
 * Thrown by a store operation that finds its own connection inside a caller's open transaction (a
 * transactional enqueue on `store.database` awaiting between BEGIN and COMMIT). Running inside it
 * would make the operation commit or roll back with the caller's work, so it waits like for a lock.
 */
export class ConnectionInUseError extends Error {
  readonly code = 'SQLITE_BUSY';

  constructor() {
    super('the store connection is inside a transaction opened by the application');
  }
}

/** True for errors meaning "another connection holds the lock; try again later". */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Runs `fn` (a whole transaction) until it does not fail with SQLITE_BUSY, then returns its result.
 * Past the limit it fails with `database_unavailable`; other errors pass through at once.
 */
export async function withBusyRetry<T>(fn: () => T, options: BusyRetryOptions): Promise<T> {
  const started = performance.now();
  let delay = FIRST_DELAY_MS;
  for (;;) {
    try {
      return fn();
    } catch (error) {
      if (!isBusyError(error)) throw error;
      if (performance.now() - started >= options.limitMs) {
        throw new NightshiftError(
          'database_unavailable',
          `database is locked by another connection; gave up after ${options.limitMs} ms`,
          { cause: error },
        );
      }
      await sleep(delay / 2 + Math.random() * (delay / 2));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
