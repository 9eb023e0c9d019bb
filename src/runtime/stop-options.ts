/**
 * How a service stops (`worker.stop()`, `scheduler.stop()`, `ns.stop()` and `ns.close()`), checked
 * once for all of them so a misspelt `grace` cannot turn a graceful stop into the default one.
 */
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';

/** Options of `worker.stop()`, `ns.stop()` and `ns.close()`. */
export interface StopOptions {
  /** How long running handlers may take to finish before they are aborted. Default 30,000. */
  graceMs?: number;
  /** Release running jobs now, skipping whatever grace is left (a second SIGTERM). */
  force?: boolean;
}

const OPTION_NAMES = keyNames<StopOptions>({ graceMs: true, force: true });

/** Throws `invalid_argument` on a key `StopOptions` does not have; call it before stopping anything. */
export function checkStopOptions(options: StopOptions): void {
  refuseUnknownKeys(options, OPTION_NAMES, 'stop option');
}
