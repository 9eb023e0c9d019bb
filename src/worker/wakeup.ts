/**
 * Wakes the claim lanes before their poll interval is over: a store `job:ready` event, a freed slot,
 * or written outcomes (a lane held back by unwritten outcomes would otherwise sleep a whole interval
 * after the backlog is gone). A wake with no lane waiting is kept for the next wait, so none is lost
 * between a lane's check and its sleep.
 */
import { sleep } from '../runtime/sleep.js';

/** One worker's wake-up line between what frees capacity and the lanes that wait for it. */
export class Wakeup {
  /** Lanes waiting now. */
  private readonly wakers = new Set<() => void>();
  private pending = false;

  /** Ends every wait in progress, or the next one if none is. */
  wake(): void {
    if (this.wakers.size === 0) {
      this.pending = true;
      return;
    }
    for (const waker of this.wakers) waker();
    this.wakers.clear();
  }

  /** Waits up to `ms` for a wake; `stopping` ends the wait too. */
  async wait(ms: number, stopping: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    const controller = new AbortController();
    const waker = (): void => controller.abort();
    this.wakers.add(waker);
    stopping.addEventListener('abort', waker, { once: true });
    await sleep(ms, controller.signal);
    stopping.removeEventListener('abort', waker);
    this.wakers.delete(waker);
    this.pending = false;
  }
}
