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
 * that arrived while the claim travelled sends it back at once, whoever was woken by it. Slots freed
 * by any finish (a store `job:capacity` event, this process's or another's) wake as work, spaced out
 * (`slotsFreed`), and so does the time a claim reported for the next scheduled job or rate start
 * (`workDueIn`).
 */
import { sleep } from '../runtime/sleep.js';

/** The shortest time between two wakes for freed slots (`slotsFreed`). */
const FREED_WAKE_GAP_MS = 100;

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
  /** When `slotsFreed` last woke a lane (performance.now()), and its wake waiting for the gap. */
  private freedWokeAt = -Infinity;
  private freedTimer: NodeJS.Timeout | undefined;
  /** When the soonest reported due time comes (performance.now()), and its wake. */
  private dueAt = Infinity;
  private dueTimer: NodeJS.Timeout | undefined;

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
    // An abort before the listener below is added never fires it: a lane that came here after stop()
    // began would sleep out its whole wait, and the stop with it.
    if (stopping.aborted || this.work !== waitFor.workSince) return;
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

  /**
   * A finish gave back a queue slot or a concurrency key, possibly another process's: wakes as work,
   * not as capacity, because a lane held back by a key another process holds has no sign of it (a
   * claim that finds a key full skips its jobs before the store could report a limit). At most one
   * such wake per `FREED_WAKE_GAP_MS`, the last of a burst kept for the end of the gap, so a fleet
   * finishing keyed jobs fast costs each worker at most one claim per gap, and a freed slot is seen
   * within it.
   */
  slotsFreed(): void {
    if (this.freedTimer !== undefined) return;
    const wakeNow = (): void => {
      this.freedTimer = undefined;
      this.freedWokeAt = performance.now();
      this.wake('work');
    };
    const wait = this.freedWokeAt + FREED_WAKE_GAP_MS - performance.now();
    if (wait <= 0) wakeNow();
    else this.freedTimer = setTimeout(wakeNow, wait).unref();
  }

  /**
   * A claim reported that work becomes claimable in `ms` (a scheduled job's due time, a rate's next
   * start): wakes as work then. Kept here, not by the lane whose claim reported it: that lane may have
   * no room when the time comes (a second lane whose prefetch allowance fell to zero), while the lane
   * with room waits for work, its own claim having reported nothing. Seen: rate-held jobs waiting for
   * the poll. Only the soonest time is kept; the claim it wakes reports the next.
   */
  workDueIn(ms: number): void {
    const at = performance.now() + ms;
    if (at >= this.dueAt) return;
    clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      this.dueAt = Infinity;
      this.wake('work');
    }, ms).unref();
  }

  /** Drops the wakes still waiting for their time (the worker stops). */
  close(): void {
    clearTimeout(this.freedTimer);
    this.freedTimer = undefined;
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.dueAt = Infinity;
  }

  private end(waiter: Waiter): void {
    this.waiters.delete(waiter);
    waiter.wake();
  }
}
