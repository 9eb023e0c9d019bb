/**
 * How a service stops (`worker.stop()`, `scheduler.stop()`, `ns.stop()` and `ns.close()`), checked
 * once for all of them so a misspelt `grace` cannot turn a graceful stop into the default one.
 */
import { booleanIn, intIn, MAX_TIMER_MS, type Range } from '../validation/bounds.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';

/** Options of `worker.stop()`, `scheduler.stop()`, `ns.stop()` and `ns.close()`. */
export interface StopOptions {
  /**
   * How long running handlers (a scheduler: its pass in progress) may take to finish before they are
   * aborted. Default 30,000.
   */
  graceMs?: number;
  /** Release running jobs now, skipping whatever grace is left (a second SIGTERM). */
  force?: boolean;
}

/** The grace period when none is given: what hosts commonly allow between SIGTERM and a hard kill. */
export const DEFAULT_GRACE_MS = 30_000;

/**
 * The grace period's range, wherever one is given (a stop, a config's `worker.graceMs`): it becomes a
 * timer, and past Node's limit a timer fires at once, so a grace of days would end in a millisecond.
 */
export const GRACE_MS_RANGE: Range = [0, MAX_TIMER_MS];

const OPTION_NAMES = keyNames<StopOptions>({ graceMs: true, force: true });

/**
 * Throws `invalid_argument` on a key `StopOptions` does not have, a grace out of `GRACE_MS_RANGE` or a
 * `force` that is not a boolean; call it before stopping anything. `method` names the call in the
 * message (`ns.close()` takes the same options as a stop).
 */
export function checkStopOptions(options: StopOptions, method: 'stop' | 'close' = 'stop'): void {
  refuseUnknownKeys(options, OPTION_NAMES, `${method} option`);
  if (options.graceMs !== undefined) intIn(`${method} option graceMs`, options.graceMs, GRACE_MS_RANGE);
  if (options.force !== undefined) booleanIn(`${method} option force`, options.force);
}
