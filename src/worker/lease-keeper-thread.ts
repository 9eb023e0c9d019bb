/**
 * The body of the lease-keeper thread (see lease-keeper.ts): its own store connection, renewing the
 * leases the worker holds on a timer of its own, so a handler that blocks the main event loop (a
 * synchronous busy loop, a huge JSON.parse) does not stop renewal. The leases are read from the
 * shared lease table (lease-table.ts) at each renewal; the main thread posts nothing per job.
 *
 * Each lease may carry a deadline (the attempt's timeout plus its abort grace). Past it, while the
 * main thread has not marked the handler settled, the lease is no longer renewed: a handler stuck
 * for good then loses its lease like a dead worker's, and another worker rescues the job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import type { KeeperCommand, KeeperReport, KeeperSetup } from './lease-keeper.js';
import { LeaseTable, PLANNED_MS, renewIntervalMs, SEEN, type TableLease } from './lease-table.js';

const setup = workerData as KeeperSetup;
const port = parentPort;
if (!port) throw new Error('lease-keeper-thread must run as a worker thread');

const control = new Int32Array(setup.control);
const longestIntervalMs = renewIntervalMs(setup.leaseMs);
let table = new LeaseTable(setup.table);
/** Per slot, the generation found lost: that lease is never renewed again, even if still held. */
let lost = new Int32Array(table.capacity);
let stopping = false;
let wake: (() => void) | null = null;

const report = (message: KeeperReport): void => port.postMessage(message);

port.on('message', (command: KeeperCommand) => {
  if (command.type === 'table') {
    table = new LeaseTable(command.buffer);
    const grown = new Int32Array(table.capacity);
    grown.set(lost);
    lost = grown;
  } else if (command.type === 'stop') {
    stopping = true;
  }
  // Counted before the next plan, which follows every command (lease-keeper.ts `wakeIfLate`).
  Atomics.add(control, SEEN, 1);
  wake?.();
});

/** The leases held now and not found lost. */
function heldLeases(): TableLease[] {
  const leases: TableLease[] = [];
  for (let slot = 0; slot < table.capacity; slot += 1) {
    const lease = table.read(slot);
    if (lease && lost[slot] !== lease.gen) leases.push(lease);
  }
  return leases;
}

/** Plans the next wait: see lease-keeper.ts `wakeIfLate` for why the longest interval is stored first. */
function plan(): { intervalMs: number; leases: TableLease[] } {
  Atomics.store(control, PLANNED_MS, longestIntervalMs);
  const leases = heldLeases();
  let intervalMs = longestIntervalMs;
  for (const lease of leases) intervalMs = Math.min(intervalMs, renewIntervalMs(lease.leaseMs));
  Atomics.store(control, PLANNED_MS, intervalMs);
  return { intervalMs, leases };
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

async function renew(store: Awaited<ReturnType<typeof openStore>>, leases: TableLease[]): Promise<void> {
  try {
    const { renewed } = await store.jobLeaseRenew({
      leases: leases.map(({ id, leaseToken }) => ({ id, leaseToken })),
      leaseMs: setup.leaseMs,
    });
    const answers = new Map(renewed.map((entry) => [entry.id, entry]));
    for (const lease of leases) {
      // Released while the renewal was in flight: the worker has moved on, nothing to report.
      if (table.gen(lease.slot) !== lease.gen) continue;
      const answer = answers.get(lease.id);
      if (!answer) {
        lost[lease.slot] = lease.gen;
        report({ type: 'lost', slot: lease.slot, gen: lease.gen });
      } else if (answer.cancelRequested) {
        report({ type: 'cancel', slot: lease.slot, gen: lease.gen });
      }
    }
  } catch (error) {
    // The store is away; the next tick retries. The main thread's own health checks report outages.
    report({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}

const store = await openStore(setup.url, setup.schema === undefined ? {} : { schema: setup.schema });
report({ type: 'ready' });
let last = Date.now();
while (!stopping) {
  const { intervalMs, leases } = plan();
  const wait = last + intervalMs - Date.now();
  if (wait > 0) {
    // Woken early (a shorter lease, a new table, or stop): plan again rather than renew at once.
    await pause(wait);
    continue;
  }
  last = Date.now();
  const due = leases.filter((lease) => lease.settled || last < lease.deadline);
  if (due.length > 0) await renew(store, due);
}
await store.close();
port.close();
