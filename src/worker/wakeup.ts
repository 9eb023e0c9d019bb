/**
 * Wakes the claim lanes before their poll interval is over. Two reasons: `work`, a store `job:ready`
 * event (jobs may be claimable that were not); `capacity`, a freed slot or written outcomes (a lane held
 * back by unwritten outcomes would otherwise sleep a whole interval after the backlog is gone).
 *
 * A lane whose last claim found the queues drained waits for work only: a freed slot cannot give it
 * anything to claim. Claiming on every freed slot anyway, with both lanes claiming on every event, made
 * three of four claims under steady load come back empty (a claim's fixed cost is most of what a small
 * batch costs the database). So a work wake ends one wait, the lowest lane's (lane 0 has the most
 * room); a lane whose batch comes back full wakes the next, so more lanes claim only while there is a
 * backlog. Work is counted, not only signalled: a lane notes the count when it sends a claim, and work
 * that arrived while the claim travelled sends it back at once, whoever was woken by it.
 */
import { sleep } from '../runtime/sleep.js';

/** Why a lane is woken. */
export type WakeReason = 'work' | 'capacity';

/**
 * What a lane waits for: work that arrived after the work count `workSince` (see `workCount`), and with
 * `capacity` a capacity wake too.
 */
export interface WaitFor {
  workSince: number;
  capacity: boolean;
}

interface Waiter {
  lane: number;
  takesCapacity: boolean;
  wake: () => void;
}

/** One worker's wake-up line between what frees capacity or brings work and the lanes that wait. */
export class Wakeup {
  private readonly waiters = new Set<Waiter>();
  private work = 0;
  /** A capacity wake that ended no wait, kept for the next lane that waits for any. */
  private pendingCapacity = false;

  /** Work wakes so far: a lane notes it when it sends a claim (see `wait`). */
  get workCount(): number {
    return this.work;
  }

  /** Work: ends the lowest waiting lane's wait. Capacity: ends every wait that takes it, or the next. */
  wake(reason: WakeReason): void {
    if (reason === 'work') {
      this.work += 1;
      let first: Waiter | undefined;
      for (const waiter of this.waiters) if (first === undefined || waiter.lane < first.lane) first = waiter;
      if (first !== undefined) this.end(first);
      return;
    }
    let woke = false;
    for (const waiter of this.waiters) {
      if (!waiter.takesCapacity) continue;
      this.end(waiter);
      woke = true;
    }
    if (!woke) this.pendingCapacity = true;
  }

  /** Lane `lane` waits up to `ms` for a wake of the kind `waitFor` takes; `stopping` ends the wait too. */
  async wait(ms: number, stopping: AbortSignal, lane: number, waitFor: WaitFor): Promise<void> {
    const takesCapacity = waitFor.capacity;
    if (this.work !== waitFor.workSince) return;
    if (takesCapacity && this.pendingCapacity) {
      this.pendingCapacity = false;
      return;
    }
    const controller = new AbortController();
    const waiter: Waiter = { lane, takesCapacity, wake: () => controller.abort() };
    this.waiters.add(waiter);
    stopping.addEventListener('abort', waiter.wake, { once: true });
    await sleep(ms, controller.signal);
    stopping.removeEventListener('abort', waiter.wake);
    this.waiters.delete(waiter);
    // The lane looks at its room next: a capacity wake kept meanwhile is seen there.
    if (takesCapacity) this.pendingCapacity = false;
  }

  private end(waiter: Waiter): void {
    this.waiters.delete(waiter);
    waiter.wake();
  }
}
