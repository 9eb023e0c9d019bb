/**
 * How a long-running command (worker, start) ends: the library's signal handling (first
 * SIGTERM/SIGINT stops claiming and gives running jobs the grace period; a second one releases them at
 * once), plus the two ways a command ends without a signal: its work is done (the demo), or the worker
 * gave up because the database stayed away too long.
 */
import type { Logger } from 'pino';
import { installShutdownSignals } from '../worker/signals.js';
import type { StopOptions } from '../runtime/stop-options.js';

/** A running service the command waits on (a worker). */
export interface RunningService {
  stop(options?: StopOptions): Promise<void>;
  /** Rejects when the service gave up by itself. */
  readonly failed?: Promise<void>;
}

/**
 * Resolves once `service` has stopped after a signal (or after `until` settled); rejects, which the
 * CLI reports with exit code 1, when stopping failed or the service failed by itself.
 */
export function runUntilSignal(
  service: RunningService,
  options: {
    graceMs: number;
    logger: Logger;
    /** Stops gracefully, as on a first signal, once this settles (work that ends by itself). */
    until?: Promise<unknown>;
  },
): Promise<void> {
  const { graceMs, logger } = options;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      uninstall();
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
    };
    const uninstall = installShutdownSignals(service, { graceMs, logger, onStopped: finish });
    const stopAfter = (cause?: unknown): void => {
      service.stop({ graceMs }).then(
        () => finish(cause),
        (error: unknown) => finish(error),
      );
    };
    options.until?.then(
      () => stopAfter(),
      (error: unknown) => stopAfter(error),
    );
    service.failed?.catch((error: unknown) => {
      // The CLI reports the failure as its one error line (and with --json as the JSON error); a log
      // record as well printed it twice, the first time as a pino line with the stack. The stack is
      // still there for whoever asks for debug logs.
      logger.debug({ err: error }, 'cannot keep working; stopping');
      finish(error);
    });
  });
}
