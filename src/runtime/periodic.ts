/**
 * Runs one pass now and then every interval until stopped (maintenance sweeps, the worker heartbeat).
 * A failed pass is reported to the store health it was given (which decides when an outage is fatal)
 * and retried with backoff instead of waiting a whole interval, so the pass resumes as soon as the
 * database is back.
 */
import { sleep } from './sleep.js';
import { Backoff } from './backoff.js';
import type { StoreHealth } from './store-health.js';

/** A pass repeated on an interval, with backoff after failures. */
export class PeriodicPass {
  private loop: Promise<void> | null = null;
  private readonly stopper = new AbortController();

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<unknown>,
    private readonly health: StoreHealth,
    private readonly intervalMs: number,
  ) {}

  /** Starts the loop (once; later calls do nothing). */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Aborts when `stop` is called: a pass that waits ends its wait on it, and one working through
   * batches ends after the current one once it is aborted.
   */
  get stopSignal(): AbortSignal {
    return this.stopper.signal;
  }

  /** Ends the loop; resolves after the pass in progress, if any. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff();
    while (!this.stopper.signal.aborted) {
      let delay = this.intervalMs;
      try {
        await this.pass();
        this.health.ok();
        backoff.reset();
      } catch (error) {
        delay = backoff.next();
        this.health.failed(this.name, error, delay);
      }
      await sleep(delay, this.stopper.signal);
    }
  }
}
