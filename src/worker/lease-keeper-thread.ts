/**
 * The body of the lease-keeper thread (see lease-keeper.ts): its own store connection, renewing the
 * leases the worker holds on a timer of its own, so a handler that blocks the main event loop (a
 * synchronous busy loop, a huge JSON.parse) does not stop renewal. The leases are read from the
 * shared lease table (lease-table.ts) at each renewal; the main thread posts nothing per job.
 *
 * Each lease may carry a deadline (the attempt's timeout plus its abort grace). Past it, while the
 * main thread has not marked the handler settled, the lease is no longer renewed: a handler stuck
 * for good then loses its lease like a dead worker's, and another worker rescues the job.
 *
 * The store is opened late: `STORE_LEAD_MS` before the first renewal of a held lease is due, not at
 * start. Opening it loads the database driver and the store's modules in this thread (~100 ms of CPU
 * for PostgreSQL, most of a keeper's cost), and with the default 30 s lease the first renewal comes
 * 10 s after a claim: a worker that drains its queue and stops sooner never pays for it, one that runs
 * longer pays the same, later. Leases whose renewal interval is within the lead open it at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import type { KeeperCommand, KeeperReport, KeeperSetup } from './lease-keeper.js';
import {
  LeaseTable,
  PLANNED_MS,
  recordRenewal,
  renewIntervalMs,
  SEEN,
  sharedNow,
  type TableLease,
} from './lease-table.js';

const setup = workerData as KeeperSetup;
const port = parentPort;
if (!port) throw new Error('lease-keeper-thread must run as a worker thread');

/**
 * How long before a renewal is due the store is opened: room for loading the driver on a loaded
 * machine. A renewal made later than planned still has two thirds of the lease left.
 */
const STORE_LEAD_MS = 2_000;

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

/**
 * Plans the next wait: see lease-keeper.ts `wakeIfLate` for why the longest interval is stored first.
 * `plannedAt`: when the table was read, so every lease held before then is among `leases`.
 */
function plan(): { intervalMs: number; leases: TableLease[]; plannedAt: number } {
  Atomics.store(control, PLANNED_MS, longestIntervalMs);
  const plannedAt = sharedNow();
  const leases = heldLeases();
  let intervalMs = longestIntervalMs;
  for (const lease of leases) intervalMs = Math.min(intervalMs, renewIntervalMs(lease.leaseMs));
  Atomics.store(control, PLANNED_MS, intervalMs);
  return { intervalMs, leases, plannedAt };
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

async function renew(store: Store, leases: TableLease[], plannedAt: number): Promise<void> {
  try {
    const sentAt = sharedNow();
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
    // Leases held at the plan but left out of `due` (past their deadline, handler not settled) have
    // started long ago: only waiting attempts are checked against this (attempt-runner.ts).
    recordRenewal(control, plannedAt, sentAt);
  } catch (error) {
    // The store is away; the next tick retries. The main thread's own health checks report outages.
    report({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}

async function openOwnStore(): Promise<Store> {
  // node-postgres asks whether it runs on Cloudflare Workers, and on Node.js 20, which has no
  // navigator, its fallback test builds a Response: that loads Node's whole fetch implementation
  // (~30 ms of CPU) into this thread, which never uses it. Node.js 21 and later answer this themselves.
  (globalThis as { navigator?: unknown }).navigator ??= {
    userAgent: `Node.js/${process.versions.node.split('.')[0]}`,
  };
  // One renewal statement at a time: one connection is all the thread ever uses.
  const opened = await openStore(setup.url, {
    poolSize: 1,
    ...(setup.schema !== undefined && { schema: setup.schema }),
  });
  report({ type: 'opened' });
  return opened;
}

let store: Store | null = longestIntervalMs <= STORE_LEAD_MS ? await openOwnStore() : null;
report({ type: 'ready' });
// The main thread renews until it reads 'ready'. The first renewal is planned one interval after the
// oldest claim or renewal of the leases held at the thread's start (later ones are newer), not one
// interval after 'ready': that left up to two intervals, two thirds of a lease, without a renewal.
// Nor at once: the leases of a worker's first claims are fresh, and renewing them at once opened the
// store (~100 ms of CPU on PostgreSQL) in every worker, even one done within seconds.
let last = setup.leasesKnownFrom;
while (!stopping) {
  const { intervalMs, leases, plannedAt } = plan();
  const wait = last + intervalMs - Date.now();
  if (store === null && leases.length > 0 && wait <= STORE_LEAD_MS) {
    store = await openOwnStore();
    continue;
  }
  if (wait > 0) {
    // Woken early (a shorter lease, a new table, or stop): plan again rather than renew at once.
    await pause(store === null && leases.length > 0 ? wait - STORE_LEAD_MS : wait);
    continue;
  }
  last = Date.now();
  const due = leases.filter((lease) => lease.settled || last < lease.deadline);
  // A renewal with leases is due only once the store is open (see above).
  if (due.length > 0 && store !== null) await renew(store, due, plannedAt);
}
await store?.close();
port.close();
