/**
 * Rescuer: gives jobs back when the worker running them stopped renewing its lease (crashed, killed
 * with -9, paused, partitioned). Each sweep calls `jobRescueLapsed`, which requeues lapsed attempts
 * or fails them with reason `lease_lapsed` when no attempts remain, and writes a run row for each.
 *
 * Every worker process runs one; concurrent sweeps are safe because the store claims rows to rescue
 * with SKIP LOCKED (PostgreSQL) or inside BEGIN IMMEDIATE (SQLite), and expiry is judged on the
 * database clock, so a skewed host clock never rescues early.
 *
 * Options and defaults: intervalMs 5,000 (a crashed worker's job is back within lease + 5 s),
 * batchSize 1,000 (a sweep that fills a batch sweeps again at once, so a backlog clears quickly).
 *
 * It also forgets registered workers whose heartbeat is older than `workerStaleMs` (killed without
 * stopping; worker/registration.ts): one DELETE over the small workers table, at the first sweep and
 * then at most once per `workerStaleMs`. Such a row is already left out of `ns.workers()`, so
 * deleting it sooner would only cost an idle worker a transaction every sweep.
 *
 * An idle cluster is not swept every interval. When a sweep rescues nothing while the store hears
 * other processes' events (PostgreSQL with its LISTEN connection up) and `jobIdleCheck` finds no job
 * waiting and no lease held, no job can be claimed, so none can lapse, until one is enqueued, retried
 * or resumed, which the store announces (`job:ready`, from any process). The rescuer then waits for
 * that announcement (or for the events to stop or resume), at most `workerStaleMs` (30 s by default: an
 * announcement lost in flight costs no more, and a killed worker's row is still forgotten within
 * about twice its bound), and sweeps again an interval later, as it would have. So an idle PostgreSQL
 * worker sweeps about every 35 s instead of every 5 s: each statement wakes a server process, which
 * costs the server about a millisecond of CPU whatever the statement (docs/BENCHMARKS.md, idle).
 *
 * Caveat: a worker whose event loop is blocked longer than its lease looks dead. Its job is rescued
 * and may run twice; fencing refuses the blocked attempt's writes when it wakes up.
 */
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import type { StoreHealth } from '../runtime/store-health.js';
import { PeriodicPass } from '../runtime/periodic.js';
import { within } from '../runtime/sleep.js';

/** Rescuer options. */
export interface RescuerOptions {
  intervalMs: number;
  batchSize: number;
  workerStaleMs: number;
}

/** Periodically recovers lapsed leases until stopped. */
export class Rescuer {
  private readonly periodic: PeriodicPass;
  /** When the stale workers' rows were last deleted (performance.now()); -Infinity: never. */
  private workersSweptAt = -Infinity;
  /** Announcements of work (or of the store's events stopping or resuming) heard so far. */
  private announced = 0;
  /** Ends an idle wait; set while one lasts. */
  private endIdleWait: (() => void) | null = null;
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    health: StoreHealth,
    private readonly events: EventBus,
    private readonly logger: Logger,
    private readonly options: RescuerOptions,
  ) {
    this.periodic = new PeriodicPass('rescuer', () => this.pass(), health, options.intervalMs);
  }

  /**
   * Starts sweeping: once now (a restarted worker recovers its predecessor's jobs), then every interval,
   * waiting for work while the cluster is idle.
   */
  start(): void {
    if (this.unlisten === null) {
      const heard = (): void => {
        this.announced += 1;
        this.endIdleWait?.();
      };
      const unlistenReady = this.store.listen('job:ready', heard);
      const unlistenLive = this.store.listen('events:live', heard);
      this.unlisten = () => {
        unlistenReady();
        unlistenLive();
      };
    }
    this.periodic.start();
  }

  /** Stops after the sweep in progress, if any. */
  async stop(): Promise<void> {
    await this.periodic.stop();
    this.unlisten?.();
    this.unlisten = null;
  }

  /** A sweep, then, when the cluster is idle, the wait for work (see the module comment). */
  private async pass(): Promise<void> {
    const rescued = await this.sweep();
    if (rescued.requeued.length + rescued.failed.length > 0 || !this.store.crossProcessEventsLive) return;
    // Counted before the check: work announced after its snapshot is heard, work before it is seen.
    const announced = this.announced;
    if (!(await this.store.jobIdleCheck()) || this.announced !== announced) return;
    const heard = new Promise<void>((resolve) => (this.endIdleWait = resolve));
    await within(heard, this.options.workerStaleMs, this.periodic.stopSignal);
    this.endIdleWait = null;
  }

  /** One full sweep (repeats while batches come back full), then the stale workers' rows when due. */
  async sweep(): Promise<{ requeued: string[]; failed: string[] }> {
    const rescued = await this.rescue();
    if (performance.now() - this.workersSweptAt < this.options.workerStaleMs) return rescued;
    this.workersSweptAt = performance.now();
    const { deleted } = await this.store.workerSweep({ staleMs: this.options.workerStaleMs });
    if (deleted.length > 0) {
      this.logger.warn({ workers: deleted }, 'forgot workers whose heartbeat stopped');
    }
    return rescued;
  }

  private async rescue(): Promise<{ requeued: string[]; failed: string[] }> {
    const total = { requeued: [] as string[], failed: [] as string[] };
    for (;;) {
      const { requeued, failed } = await this.store.jobRescueLapsed({ limit: this.options.batchSize });
      total.requeued.push(...requeued);
      total.failed.push(...failed);
      if (requeued.length + failed.length < this.options.batchSize || this.periodic.stopSignal.aborted) break;
    }
    if (total.requeued.length + total.failed.length > 0) {
      this.logger.warn(
        { requeued: total.requeued.length, failed: total.failed.length },
        'rescued jobs whose lease lapsed',
      );
      this.events.emit('rescuer:swept', total);
    }
    return total;
  }
}
