/** Runs a worker in this process until a signal (or a fatal store outage) stops it. */
import type { NightshiftConfig } from '../config.js';
import type { Session } from './session.js';
import { DEFAULT_GRACE_MS, runUntilSignal } from './shutdown.js';

/** Starts a worker with flags over config defaults, and resolves once it has stopped (signal or `until`). */
export async function runWorker(
  session: Session,
  config: NightshiftConfig,
  flags: { queues?: string[]; concurrency?: number },
  options: { until?: Promise<unknown> } = {},
): Promise<void> {
  const ns = await session.connect();
  const logger = session.logger();
  const { graceMs = DEFAULT_GRACE_MS, ...workerOptions } = config.worker ?? {};
  const queues = flags.queues ?? workerOptions.queues;
  const concurrency = flags.concurrency ?? workerOptions.concurrency;
  const worker = ns.startWorker({
    ...workerOptions,
    ...(queues !== undefined && { queues }),
    ...(concurrency !== undefined && { concurrency }),
  });
  logger.info({ db: await session.dbUrl(), tasks: Object.keys(config.tasks) }, 'serving tasks');
  await runUntilSignal(worker, {
    graceMs,
    logger,
    ...(options.until !== undefined && { until: options.until }),
  });
}
