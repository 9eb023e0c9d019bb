/**
 * How a cancel reaches a running handler without waiting for the next lease renewal (a third of the
 * lease, 10 s by default): the store's `job:cancel_requested` event, from this process or, on
 * PostgreSQL, from any process (LISTEN/NOTIFY); and where the store cannot push across processes
 * (SQLite), a read of the running attempts' cancel flags every second (or every poll interval, when
 * that is shorter), only while attempts run.
 *
 * Both only shorten the wait: the renewal still reports every cancel request, so a lost LISTEN
 * connection or a failed check costs latency, never a cancel.
 */
import type { Logger } from '../logger.js';
import type { LeaseRef, Store } from '../store/store.js';
import { sleep } from '../runtime/sleep.js';

/** What the watch needs from its worker. */
export interface CancelWatchHost {
  /** The attempts whose handler runs now. */
  running(): Iterable<{ ref: LeaseRef }>;
  /** The job `id` was asked to cancel: abort its attempt. */
  cancel(id: string): void;
}

/** The longest wait between two reads of the cancel flags where the store cannot push cancels. */
const CANCEL_CHECK_MS = 1_000;

/** Listens for cancel requests, and polls for them when the store cannot push them. */
export class CancelWatch {
  private readonly stopped = new AbortController();
  private unlisten: (() => void) | null = null;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly host: CancelWatchHost,
    private readonly pollIntervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.unlisten = this.store.listen('job:cancel_requested', ({ id }) => this.host.cancel(id));
    if (!this.store.crossProcessEvents) this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.unlisten?.();
    await this.loop;
  }

  private async poll(): Promise<void> {
    const { signal } = this.stopped;
    while (!signal.aborted) {
      await sleep(Math.min(this.pollIntervalMs, CANCEL_CHECK_MS), signal);
      if (signal.aborted) return;
      const leases = Array.from(this.host.running(), (attempt) => attempt.ref);
      if (leases.length === 0) continue;
      try {
        const { cancelRequested } = await this.store.jobCancelCheck({ leases });
        for (const id of cancelRequested) this.host.cancel(id);
      } catch (error) {
        // The claim and renew loops report outages; this check only waits for the next turn.
        this.logger.debug({ err: error }, 'cancel check failed; the lease renewal still reports cancels');
      }
    }
  }
}
