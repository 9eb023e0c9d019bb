/**
 * The maintenance services a worker process runs beside its worker (`ns.startWorker()` starts them):
 * the rescuer (lapsed leases, then stale worker rows) and the pruner (finished jobs past retention,
 * then old cluster events). Their store errors count toward the worker's outage bound, and they stop
 * with the worker.
 *
 * Options are the worker's (`rescueIntervalMs`, `pruneIntervalMs`, `retentionMs`, `workerStaleMs`);
 * an interval of 0 leaves that service out.
 */
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { StoreHealth } from '../runtime/store-health.js';
import type { Store } from '../store/store.js';
import { Pruner } from './pruner.js';
import { Rescuer } from './rescuer.js';

/** Rows one sweep or prune statement handles at most. */
const BATCH_SIZE = 1_000;

/** What the maintenance services use. */
export interface MaintenanceDeps {
  store: Store;
  /** The worker's store health: a failed pass counts toward its outage bound. */
  health: StoreHealth;
  events: EventBus;
  logger: Logger;
}

/** The worker options that drive maintenance. */
export interface MaintenanceOptions {
  rescueIntervalMs: number;
  pruneIntervalMs: number;
  retentionMs: number;
  workerStaleMs: number;
}

/** The rescuer and pruner of one worker process. */
export class Maintenance {
  private readonly rescuer: Rescuer | null;
  private readonly pruner: Pruner | null;

  constructor(deps: MaintenanceDeps, options: MaintenanceOptions) {
    const { store, health, events, logger } = deps;
    const { rescueIntervalMs, pruneIntervalMs, retentionMs, workerStaleMs } = options;
    this.rescuer =
      rescueIntervalMs > 0
        ? new Rescuer(store, health, events, logger, {
            intervalMs: rescueIntervalMs,
            batchSize: BATCH_SIZE,
            workerStaleMs,
          })
        : null;
    this.pruner =
      pruneIntervalMs > 0
        ? new Pruner(store, health, events, logger, {
            retentionMs,
            intervalMs: pruneIntervalMs,
            batchSize: BATCH_SIZE,
          })
        : null;
  }

  /** Starts both: each runs a pass now, then every interval. */
  start(): void {
    this.rescuer?.start();
    this.pruner?.start();
  }

  /** Stops both after the pass in progress, if any. */
  async stop(): Promise<void> {
    await Promise.all([this.rescuer?.stop(), this.pruner?.stop()]);
  }
}
