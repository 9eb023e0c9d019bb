/**
 * Waiting for a job to reach a final state (`completed`, `failed`, `cancelled`): the request-reply of
 * `ns.waitFor(id)`, which works from any process that can reach the database.
 *
 * It listens for the store's `job:finished` event (instant within one process, and across processes
 * on PostgreSQL) and polls `jobGet` every `pollIntervalMs` (default 200 ms) because events are never
 * the only path: another process writing the same SQLite file cannot notify us. Store errors while
 * polling are retried until the deadline.
 */
import { NightshiftError } from './errors.js';
import { MAX_TIMER_MS, numberIn } from './validation/bounds.js';
import { keyNames, refuseUnknownKeys } from './validation/known-keys.js';
import { isFinalState, type Job } from './job.js';
import type { Store } from './store/store.js';

/** Options of `ns.waitFor`. */
export interface WaitForOptions {
  /** Give up after this long with `NightshiftError('timeout')`. Default 60,000. */
  timeoutMs?: number;
  /** Fallback poll interval. Default 200. */
  pollIntervalMs?: number;
}

const OPTION_NAMES = keyNames<WaitForOptions>({ timeoutMs: true, pollIntervalMs: true });

/**
 * Waits for jobs on one store. One store subscription serves every pending wait (a request-reply
 * server may have thousands), dispatched by job id.
 */
export class JobWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();
  private unlisten: (() => void) | null = null;

  constructor(private readonly store: Store) {}

  /** Resolves with the job once it is final; rejects `not_found` for an unknown id, `timeout` at the deadline. */
  waitFor(id: string, options: WaitForOptions = {}): Promise<Job> {
    const store = this.store;
    return new Promise<Job>((resolve, reject) => {
      // A throw here rejects the promise. A misspelt `timeOut` would otherwise wait the default 60 s.
      refuseUnknownKeys(options, OPTION_NAMES, 'waitFor option');
      // Both become timers: past Node's limit they would fire at once (validation/bounds.ts).
      const timeoutMs = numberIn('timeoutMs', options.timeoutMs ?? 60_000, [0, MAX_TIMER_MS]);
      const pollIntervalMs = numberIn('pollIntervalMs', options.pollIntervalMs ?? 200, [0, MAX_TIMER_MS]);
      let done = false;
      let checking = false;
      let recheck = false;
      let lastError: unknown;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        clearInterval(poll);
        this.remove(id, onEvent);
        settle();
      };
      const check = async (): Promise<void> => {
        // One read at a time; an event arriving mid-read asks for one more read afterwards.
        if (checking) {
          recheck = true;
          return;
        }
        checking = true;
        try {
          do {
            recheck = false;
            const job = await store.jobGet({ id }).catch((error: unknown) => {
              lastError = error;
              return null;
            });
            if (job === undefined) {
              finish(() => reject(new NightshiftError('not_found', `no job ${id}`)));
            } else if (job && isFinalState(job.state)) {
              finish(() => resolve(job));
            }
          } while (recheck && !done);
        } finally {
          checking = false;
        }
      };
      const onEvent = (): void => void check();
      this.add(id, onEvent);
      const poll = setInterval(onEvent, pollIntervalMs);
      const deadline = setTimeout(
        () =>
          finish(() =>
            reject(
              new NightshiftError('timeout', `job ${id} did not finish within ${timeoutMs} ms`, {
                ...(lastError !== undefined && { cause: lastError }),
              }),
            ),
          ),
        timeoutMs,
      );
      onEvent();
    });
  }

  private add(id: string, callback: () => void): void {
    this.unlisten ??= this.store.listen('job:finished', (event) => {
      for (const waiter of this.waiting.get(event.id) ?? []) waiter();
    });
    let set = this.waiting.get(id);
    if (!set) {
      set = new Set();
      this.waiting.set(id, set);
    }
    set.add(callback);
  }

  private remove(id: string, callback: () => void): void {
    const set = this.waiting.get(id);
    set?.delete(callback);
    if (set?.size === 0) this.waiting.delete(id);
    if (this.waiting.size === 0 && this.unlisten) {
      this.unlisten();
      this.unlisten = null;
    }
  }
}
