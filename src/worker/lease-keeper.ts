/**
 * Lease renewal outside the main event loop: a worker thread with its own database connection renews
 * every lease the worker holds (lease-keeper-thread.ts), so a handler that blocks the event loop for
 * longer than its lease neither loses the lease nor runs twice.
 *
 * Why a thread and not only a timer: a timer on the main loop cannot fire while a handler spins
 * synchronously; a blocked loop for three leases would let another worker re-claim the job and run it
 * again (fencing would refuse the stale attempt's writes, but its side effects outside the database
 * already happened twice). The thread keeps renewing through the stall.
 *
 * What keeps a truly stuck job rescuable: every lease is handed over with a deadline, the attempt's
 * timeout plus its abort grace. Once the main thread has not reported the handler settled by then, the
 * thread stops renewing it, the lease lapses, and another worker's rescuer takes the job back.
 *
 * Costs: one thread and one extra connection per worker (PostgreSQL: one pooled connection in the
 * thread's own pool). Needs a database another connection can open: an in-memory SQLite database
 * cannot be shared, and the worker then renews on its event loop.
 *
 * How the thread learns about leases: from a table in shared memory (lease-table.ts) the main thread
 * writes synchronously as it holds, settles and releases attempts, and the thread reads only when it
 * renews. No message per job: those were the whole per-job cost of the keeper. Messages are for rare
 * events only: the table outgrew its buffer, a lease shorter than the thread's planned interval, stop.
 *
 * Messages posted by the thread are handled when the main loop is free again; that is fine, they only
 * report losses (the lease was taken anyway) and cancel requests.
 */
import type { Worker as Thread } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import type { LeaseRef } from '../store/store.js';
import { createControl, lastRenewal, LeaseTable, PLANNED_MS, renewIntervalMs, SEEN } from './lease-table.js';
import {
  moduleThread,
  siblingModule,
  withAcceptedOptions,
  withoutPreloads,
} from '../runtime/module-thread.js';

/** Where the database is, and the default lease. */
export interface KeeperAddress {
  url: string;
  schema?: string;
  leaseMs: number;
}

/** What the thread needs to start. */
export interface KeeperSetup extends KeeperAddress {
  /**
   * Epoch ms (`Date.now()`): every lease held as the thread starts was claimed or last renewed at or
   * after this, so its first renewal is due one interval after it at the latest.
   */
  leasesKnownFrom: number;
  /** The lease table's buffer as the thread starts; a bigger one comes as a `table` command. */
  table: SharedArrayBuffer;
  /** The control block's buffer (lease-table.ts `createControl`). */
  control: SharedArrayBuffer;
}

/** Main thread to keeper: only rare events, never one per job. */
export type KeeperCommand =
  /** The table grew: every slot is copied to this buffer, and only it is written from now on. */
  | { type: 'table'; buffer: SharedArrayBuffer }
  /** A lease shorter than the planned interval was held: plan again. */
  | { type: 'wake' }
  /** The thread closes its connection and exits. */
  | { type: 'stop' };

/** Keeper to main thread. A lease is named by its slot and the slot's generation (lease-table.ts). */
export type KeeperReport =
  | { type: 'ready' }
  /** The thread opened its store, which it does shortly before its first renewal (lease-keeper-thread.ts). */
  | { type: 'opened' }
  | { type: 'lost'; slot: number; gen: number }
  | { type: 'cancel'; slot: number; gen: number }
  | { type: 'error'; message: string };

/** What the worker hears from its keeper, about what it passed to `hold`. */
export interface KeeperListener<T> {
  /** The renewal found this attempt's lease gone. */
  onLost(owner: T): void;
  /** The job of this attempt was asked to cancel. */
  onCancel(owner: T): void;
}

/** Job ids and lease tokens are UUIDs in both stores; a longer string widens the table. */
const INITIAL_CHARS = 36;

const THREAD_URL = siblingModule('lease-keeper-thread', import.meta.url);

function startThread(setup: KeeperSetup): Thread {
  return withAcceptedOptions(withoutPreloads(process.execArgv), (execArgv) =>
    moduleThread(THREAD_URL, { workerData: setup, execArgv }),
  );
}

/**
 * The main thread's handle on the lease-keeper thread. `T` is whatever the worker holds a lease for
 * (its attempts); reports come back as the same object.
 */
export class LeaseKeeper<T> {
  private readonly thread: Thread;
  /** True from the thread's first report until it exits: only then may the worker stop renewing. */
  private alive = false;
  private readonly exited: Promise<void>;
  /**
   * Resolves true once the thread runs and renews from then on (it opens its store in time for its
   * first renewal), false if it exits or fails first.
   */
  readonly ready: Promise<boolean>;
  /** True once the thread has opened its store. */
  storeOpened = false;
  private stopped = false;
  private settleReady!: (ready: boolean) => void;
  private table: LeaseTable;
  private readonly control: Int32Array;
  private readonly free: number[] = [];
  // Owners by slot, no map from owner to slot: the caller keeps the slot `hold` returns (see
  // slot-set.ts for why a long-lived hash table of short-lived attempts costs memory).
  private readonly owners: Array<T | undefined> = [];
  /** Commands posted so far; the thread counts those it has taken in (`SEEN`). */
  private posted = 0;
  /** The interval of the default lease: the longest the thread ever plans. */
  private readonly longestIntervalMs: number;

  /**
   * `capacity`: how many leases the worker is expected to hold at once; the table grows past it.
   * `leasesKnownFrom` (epoch ms): when the oldest lease the worker holds now was claimed or last
   * renewed (now, when it holds none); leases held later are newer.
   */
  constructor(
    address: KeeperAddress,
    capacity: number,
    listener: KeeperListener<T>,
    logger: Logger,
    leasesKnownFrom: number = Date.now(),
  ) {
    this.ready = new Promise((resolve) => (this.settleReady = resolve));
    this.table = LeaseTable.create(capacity, INITIAL_CHARS);
    this.addFreeSlots(0, capacity);
    this.longestIntervalMs = renewIntervalMs(address.leaseMs);
    this.control = createControl(this.longestIntervalMs);
    this.thread = startThread({
      ...address,
      leasesKnownFrom,
      table: this.table.buffer,
      control: this.control.buffer as SharedArrayBuffer,
    });
    // The thread must never keep a process alive that has nothing else to do.
    this.thread.unref();
    this.thread.on('message', (report: KeeperReport) => {
      switch (report.type) {
        case 'lost': {
          const owner = this.ownerOf(report.slot, report.gen);
          if (owner !== undefined) listener.onLost(owner);
          return;
        }
        case 'cancel': {
          const owner = this.ownerOf(report.slot, report.gen);
          if (owner !== undefined) listener.onCancel(owner);
          return;
        }
        case 'error':
          logger.warn({ error: report.message }, 'lease keeper: renewal failed; retrying');
          return;
        case 'opened':
          this.storeOpened = true;
          return;
        case 'ready':
          this.alive = true;
          this.settleReady(true);
          return;
      }
    });
    this.exited = new Promise((resolve) => {
      this.thread.on('error', (error) => {
        this.alive = false;
        this.settleReady(false);
        logger.error({ err: error }, 'lease keeper thread failed; renewing on the event loop instead');
      });
      this.thread.on('exit', () => {
        this.alive = false;
        this.settleReady(false);
        resolve();
      });
    });
  }

  /** False once the thread has stopped or failed: the worker must renew by itself. */
  get running(): boolean {
    return this.alive;
  }

  /** The thread's last answered renewal (lease-table.ts `recordRenewal`). */
  lastRenewal(): { plannedAt: number; sentAt: number } {
    return lastRenewal(this.control);
  }

  /**
   * Starts renewing `owner`'s lease, until `deadline` (epoch ms) unless it settles first; returns the
   * lease's slot, by which `settled` and `release` name it. Visible to the thread when this returns,
   * so a handler started next that blocks the event loop keeps its lease. -1 after `stop`.
   */
  hold(owner: T, ref: LeaseRef, leaseMs: number, deadline: number | null): number {
    if (this.stopped) return -1;
    const { id, leaseToken } = ref;
    const chars = Math.max(id.length, leaseToken.length);
    if (this.free.length === 0 || chars > this.table.chars) this.grow(chars);
    const slot = this.free.pop() as number;
    this.table.hold(slot, id, leaseToken, leaseMs, deadline);
    this.owners[slot] = owner;
    const intervalMs = renewIntervalMs(leaseMs);
    if (intervalMs < this.longestIntervalMs) this.wakeIfLate(intervalMs);
    return slot;
  }

  /** The handler of the lease in `slot` ended: renew without deadline until released. */
  settled(slot: number): void {
    if (this.owners[slot] !== undefined) this.table.settle(slot);
  }

  /** Stops renewing the lease in `slot`, for good; the slot may then hold another lease. */
  release(slot: number): void {
    if (this.owners[slot] === undefined) return;
    this.owners[slot] = undefined;
    this.table.free(slot);
    this.free.push(slot);
  }

  /** Stops the thread and waits for it to close its connection (at most `timeoutMs`, then terminates it). */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.stopped) return;
    this.post({ type: 'stop' });
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    if ((await Promise.race([this.exited, late])) === 'late') await this.thread.terminate();
    clearTimeout(timer);
  }

  /**
   * A lease whose interval is shorter than the one the thread is waiting with must wake it, or it
   * lapses before the next renewal. No race with the thread's planning: the thread stores the longest
   * interval as planned, then scans the table, then stores what it plans, while a hold has published
   * its slot before it loads the planned interval. So, in the order of these atomic operations, either
   * the scan sees the slot, or this load sees the interval planned without it, or it sees the longest
   * one and wakes the thread. While a command is on its way (`SEEN` behind `posted`), the thread plans
   * again after taking it in, and that scan comes after this hold: no wake needed.
   */
  private wakeIfLate(intervalMs: number): void {
    if (Atomics.load(this.control, SEEN) < this.posted) return;
    if (intervalMs < Atomics.load(this.control, PLANNED_MS)) this.post({ type: 'wake' });
  }

  /** A table with room for another lease of `chars` UTF-16 units, every slot copied as it is. */
  private grow(chars: number): void {
    const old = this.table;
    const capacity = this.free.length === 0 ? old.capacity * 2 : old.capacity;
    this.table = LeaseTable.create(capacity, Math.max(old.chars, chars));
    old.copyTo(this.table);
    this.addFreeSlots(old.capacity, capacity);
    // The thread may renew from the old buffer until it takes this in: as stale as a renewal already
    // in flight, which the generation check on its reports covers.
    this.post({ type: 'table', buffer: this.table.buffer });
  }

  private addFreeSlots(from: number, to: number): void {
    for (let slot = from; slot < to; slot += 1) this.free.push(slot);
  }

  /** The holder of the lease a report names, unless released since. */
  private ownerOf(slot: number, gen: number): T | undefined {
    return this.table.gen(slot) === gen ? this.owners[slot] : undefined;
  }

  private post(command: KeeperCommand): void {
    // Before 'ready' the thread queues commands; after stop there is nobody to tell.
    if (this.stopped) return;
    this.posted += 1;
    this.thread.postMessage(command);
  }
}
