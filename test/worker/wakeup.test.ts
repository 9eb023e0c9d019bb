/**
 * The wake-up line's due times (src/worker/wakeup.ts `workDueIn`): a time a claim reported wakes
 * whichever lane waits for work, kept once for the worker and not by the lane that claimed, so it is
 * not lost when that lane has no room to claim when it comes.
 */
import { describe, expect, it } from 'vitest';
import { Wakeup } from '../../src/worker/wakeup.js';

// Far longer than any due time below: a wait that ends before it was ended by a wake.
const POLL_MS = 30_000;

/** Lane `lane` waits for work (and capacity) from now; resolves with how long it waited. */
async function timedWait(wakeup: Wakeup, lane: number, stopping: AbortSignal): Promise<number> {
  const started = performance.now();
  await wakeup.wait(POLL_MS, stopping, lane, { workSince: wakeup.workCount, capacity: true });
  return performance.now() - started;
}

describe('Wakeup due times', () => {
  it('wakes the lowest waiting lane when a reported due time comes', async () => {
    const wakeup = new Wakeup();
    const stop = new AbortController();
    let secondEnded = false;
    const first = timedWait(wakeup, 0, stop.signal);
    const second = timedWait(wakeup, 1, stop.signal).then(() => {
      secondEnded = true;
    });
    // Reported by lane 1's claim, say; lane 0 is the one that claims.
    wakeup.workDueIn(20);
    expect(await first).toBeLessThan(POLL_MS / 2);
    expect(wakeup.workCount).toBe(1);
    expect(secondEnded).toBe(false);
    stop.abort();
    await second;
    wakeup.close();
  });

  it('sends a claim that was in flight when the time came back at once', async () => {
    const wakeup = new Wakeup();
    const workSince = wakeup.workCount;
    wakeup.workDueIn(5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await wakeup.wait(POLL_MS, new AbortController().signal, 0, { workSince, capacity: false });
    expect(performance.now() - started).toBeLessThan(POLL_MS / 2);
    wakeup.close();
  });

  it('keeps the soonest of the times reported, once', async () => {
    for (const order of [
      [20, 1_000],
      [1_000, 20],
    ]) {
      const wakeup = new Wakeup();
      const stop = new AbortController();
      const waited = timedWait(wakeup, 0, stop.signal);
      for (const ms of order) wakeup.workDueIn(ms ?? 0);
      expect(await waited).toBeLessThan(500);
      // The later time is not kept for a wake of its own: the claim woken reports what comes next.
      const again = timedWait(wakeup, 0, stop.signal);
      setTimeout(() => stop.abort(), 1_300);
      await again;
      expect(wakeup.workCount).toBe(1);
      wakeup.close();
    }
  });

  it('returns at once when the worker stopped before the wait began', async () => {
    // The abort event has fired already: a listener added now would never be called.
    const wakeup = new Wakeup();
    const stop = new AbortController();
    stop.abort();
    expect(await timedWait(wakeup, 0, stop.signal)).toBeLessThan(POLL_MS / 2);
    wakeup.close();
  });

  it('drops a due time when the worker stops', async () => {
    const wakeup = new Wakeup();
    wakeup.workDueIn(10);
    wakeup.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(wakeup.workCount).toBe(0);
  });
});
