/**
 * SIGTERM/SIGINT handling for a process that runs nightshift services: the first signal stops them
 * gracefully (`ns.stop({ graceMs })`), a second one forces the stop (running jobs are released at
 * once). Process managers send SIGTERM and then SIGKILL after their own timeout (Kubernetes: 30 s by
 * default), so keep `graceMs` below it.
 *
 * The helper never calls `process.exit`; `onStopped` decides (the CLI exits 0, or 1 on error).
 */
import { checkLogger, type Logger } from '../logger.js';
import { DEFAULT_GRACE_MS, GRACE_MS_RANGE, type StopOptions } from '../runtime/stop-options.js';
import { intIn } from '../validation/bounds.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';

/** Anything with a graceful `stop` (a Nightshift instance, a worker). */
export interface Stoppable {
  stop(options?: StopOptions): Promise<void>;
}

/** Options of `installShutdownSignals`. */
export interface ShutdownSignalOptions {
  /** Grace for running jobs after the first signal. Default 30,000. */
  graceMs?: number;
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  logger?: Logger;
  /** Called once the graceful (or forced) stop has finished, with its error if it failed. */
  onStopped?: (error?: unknown) => void;
}

const OPTION_NAMES = keyNames<ShutdownSignalOptions>({
  graceMs: true,
  signals: true,
  logger: true,
  onStopped: true,
});

/** Installs the handlers; returns a function that removes them. */
export function installShutdownSignals(target: Stoppable, options: ShutdownSignalOptions = {}): () => void {
  // Before any handler is installed: a misspelt `grace` would give running jobs the default 30 s.
  refuseUnknownKeys(options, OPTION_NAMES, 'shutdown signal option');
  if (options.logger !== undefined) checkLogger(options.logger);
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  // Now, not at the signal, where the stop would refuse it and the process keep running.
  const graceMs = intIn(
    'shutdown signal option graceMs',
    options.graceMs ?? DEFAULT_GRACE_MS,
    GRACE_MS_RANGE,
  );
  let received = 0;
  const handler = (signal: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) {
      options.logger?.info({ signal, graceMs }, 'shutting down gracefully; send the signal again to force');
      target.stop({ graceMs }).then(
        () => options.onStopped?.(),
        (error: unknown) => options.onStopped?.(error),
      );
    } else {
      options.logger?.warn({ signal }, 'second signal: releasing running jobs now');
      // The graceful stop's promise reports completion; this call only hurries it.
      target.stop({ graceMs, force: true }).catch(() => undefined);
    }
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
