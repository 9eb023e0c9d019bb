/**
 * The body of the lease-keeper thread (see lease-keeper.ts): its own store connection, renewing the
 * leases the worker holds on a timer of its own, so a handler that blocks the main event loop (a
 * synchronous busy loop, a huge JSON.parse) does not stop renewal.
 *
 * Each lease may carry a deadline (the attempt's timeout plus its abort grace). Past it, while the
 * main thread has not reported the handler settled, the lease is no longer renewed: a handler stuck
 * for good then loses its lease like a dead worker's, and another worker rescues the job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import type { KeeperCommands, KeeperReport, KeeperSetup } from './lease-keeper.js';

const setup = workerData as KeeperSetup;
const port = parentPort;
if (!port) throw new Error('lease-keeper-thread must run as a worker thread');

interface Held {
  id: string;
  leaseToken: string;
  leaseMs: number;
  /** Epoch ms after which renewal stops unless the handler settled; null: no deadline. */
  deadline: number | null;
}

const held = new Map<string, Held>();
let stopping = false;
let wake: (() => void) | null = null;
/** The renewal interval the current pause was planned with. */
let plannedIntervalMs = setup.leaseMs;

const report = (message: KeeperReport): void => port.postMessage(message);

port.on('message', (commands: KeeperCommands) => {
  const { hold } = commands;
  for (let i = 0; i < hold.length; i += 4) {
    const leaseMs = hold[i + 2] as number;
    held.set(hold[i + 1] as string, {
      id: hold[i] as string,
      leaseToken: hold[i + 1] as string,
      leaseMs,
      deadline: hold[i + 3] as number | null,
    });
    // Only a lease shorter than the planned interval allows needs the timer moved earlier. Waking
    // for every hold made a renewal round trip per claimed batch, whose row locks then contended
    // with the worker's own finishes.
    if (Math.max(10, Math.floor(leaseMs / 3)) < plannedIntervalMs) wake?.();
  }
  for (const leaseToken of commands.settled) {
    const entry = held.get(leaseToken);
    if (entry) entry.deadline = null;
  }
  for (const leaseToken of commands.release) held.delete(leaseToken);
  if (commands.stop) {
    stopping = true;
    wake?.();
  }
});

function intervalMs(): number {
  let shortest = setup.leaseMs;
  for (const entry of held.values()) shortest = Math.min(shortest, entry.leaseMs);
  // A third of the lease: two renewals may fail (a slow commit, a lock held by another process)
  // before the lease runs out.
  return Math.max(10, Math.floor(shortest / 3));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      wake = null;
      resolve();
    }
    wake = done;
  });
}

const store = await openStore(setup.url, setup.schema === undefined ? {} : { schema: setup.schema });
report({ type: 'ready' });
let last = Date.now();
while (!stopping) {
  plannedIntervalMs = intervalMs();
  const wait = last + plannedIntervalMs - Date.now();
  if (wait > 0) {
    // Woken early (a shorter lease, or stop): plan again rather than renew at once.
    await pause(wait);
    continue;
  }
  last = Date.now();
  const now = last;
  const due = [...held.values()].filter((entry) => entry.deadline === null || now < entry.deadline);
  if (due.length === 0) continue;
  try {
    const { renewed } = await store.jobLeaseRenew({
      leases: due.map(({ id, leaseToken }) => ({ id, leaseToken })),
      leaseMs: setup.leaseMs,
    });
    const answers = new Map(renewed.map((entry) => [entry.id, entry]));
    for (const entry of due) {
      // Released while the renewal was in flight: the worker has moved on, nothing to report.
      if (!held.has(entry.leaseToken)) continue;
      const answer = answers.get(entry.id);
      if (!answer) {
        held.delete(entry.leaseToken);
        report({ type: 'lost', leaseToken: entry.leaseToken });
      } else if (answer.cancelRequested) {
        report({ type: 'cancel', leaseToken: entry.leaseToken });
      }
    }
  } catch (error) {
    // The store is away; the next tick retries. The main thread's own health checks report outages.
    report({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}
await store.close();
port.close();
