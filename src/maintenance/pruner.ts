/**
 * Pruner: retention for finished jobs. Deletes `completed`, `failed` and `cancelled` jobs (with their
 * run history and steps) that finished more than `retentionMs` ago, in batches of `batchSize` so no
 * single statement holds locks or a transaction long enough to stall claiming or vacuum.
 *
 * Options and defaults: retentionMs 7 days, intervalMs 60,000, batchSize 1,000. A sweep keeps
 * deleting batches until one comes back short, yielding to the event loop between batches.
 *
 * It also bounds the cluster event log (docs/EVENTS.md): events older than EVENT_RETENTION_MS go, in
 * batches of the same size, after the jobs; and the rows of concurrency keys idle for more than
 * IDLE_KEY_RETENTION_MS (no running job, no operator limit), which would otherwise grow by one per key
 * ever claimed.
 *
 * Caveat: every worker process prunes; that is harmless (deletes of already-deleted rows find
 * nothing) but costs a few cheap queries per minute per process.
 */
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { sleep } from '../runtime/sleep.js';
import type { StoreHealth } from '../runtime/store-health.js';
import { PeriodicPass } from '../runtime/periodic.js';

/**
 * How long the cluster event log keeps an event: a reader that falls further behind (a dashboard left
 * disconnected for more than an hour) resumes at the oldest event kept, having missed the rest.
 */
export const EVENT_RETENTION_MS = 3_600_000;

/**
 * How long a concurrency key's row outlives its last running job: until then `concurrencyKeys()` still
 * lists it (with its last limit); afterwards its next claim makes the row again.
 */
export const IDLE_KEY_RETENTION_MS = 3_600_000;

/** Pruner options. */
export interface PrunerOptions {
  retentionMs: number;
  intervalMs: number;
  batchSize: number;
}

/** Periodically deletes finished jobs past retention until stopped. */
export class Pruner {
  private readonly periodic: PeriodicPass;

  constructor(
    private readonly store: Store,
    health: StoreHealth,
    private readonly events: EventBus,
    private readonly logger: Logger,
    private readonly options: PrunerOptions,
  ) {
    this.periodic = new PeriodicPass('pruner', () => this.prune(), health, options.intervalMs);
  }

  /** Starts pruning now and then every interval. */
  start(): void {
    this.periodic.start();
  }

  /** Stops after the batch in progress, if any. */
  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** One full prune; returns how many jobs were deleted. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const { deleted } = await this.store.jobPrune({
        olderThanMs: this.options.retentionMs,
        limit: this.options.batchSize,
      });
      total += deleted;
      if (deleted < this.options.batchSize || this.periodic.stopSignal.aborted) break;
      await sleep(0);
    }
    if (total > 0) {
      this.logger.info({ deleted: total }, 'pruned finished jobs past retention');
      this.events.emit('pruner:pruned', { deleted: total });
    }
    await this.pruneEvents();
    await this.pruneIdleKeys();
    return total;
  }

  /** Deletes the rows of keys idle past IDLE_KEY_RETENTION_MS, a batch at a time. */
  private pruneIdleKeys(): Promise<void> {
    return this.inBatches(() =>
      this.store.concurrencyKeyPrune({ olderThanMs: IDLE_KEY_RETENTION_MS, limit: this.options.batchSize }),
    );
  }

  /** Deletes events past EVENT_RETENTION_MS, a batch at a time. */
  private pruneEvents(): Promise<void> {
    return this.inBatches(() =>
      this.store.eventPrune({ olderThanMs: EVENT_RETENTION_MS, limit: this.options.batchSize }),
    );
  }

  /** Runs `prune` until a batch comes back short or the pruner stops. */
  private async inBatches(prune: () => Promise<{ deleted: number }>): Promise<void> {
    while (!this.periodic.stopSignal.aborted) {
      const { deleted } = await prune();
      if (deleted < this.options.batchSize) break;
      await sleep(0);
    }
  }
}
