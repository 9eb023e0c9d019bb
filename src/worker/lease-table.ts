/**
 * The leases a worker holds, in shared memory: the main thread writes them as it claims, settles and
 * releases attempts, synchronously and without a message, and the lease-keeper thread
 * (lease-keeper-thread.ts) reads them only when it renews, every third of a lease. Messages between
 * the threads were the keeper's whole per-job cost (three per job, batched per event-loop turn: about
 * 5 µs of CPU per job); holding, settling and releasing a lease here takes well under a microsecond.
 *
 * One writer (the main thread), one reader (the keeper thread). A slot's generation is the
 * publication point: even while the slot is free, odd while it holds a lease, bumped with
 * `Atomics.store` after the slot's fields are written. The reader loads it with `Atomics.load`
 * before the fields and again after, and keeps the slot only when both agree and are odd, so a hold
 * written before a handler starts is visible to the thread even if the main loop then blocks for
 * good. A slot and its generation name one hold of one lease: reports travel back as that pair, and
 * the main thread ignores one whose generation has moved on (released, perhaps reused since).
 *
 * A racing read can at worst see a slot half rewritten under an unchanged generation on hardware
 * that reorders stores: the pair it then renews is no lease of this worker (the store renews
 * nothing), and what it reports is dropped by the generation check on the main thread.
 */

/** Renewal every third of the lease: two renewals may fail (a slow commit, a lock) before it lapses. */
export function renewIntervalMs(leaseMs: number): number {
  return Math.max(10, Math.floor(leaseMs / 3));
}

/**
 * What the keeper thread tells the main thread without a message, in an Int32Array on a buffer of
 * its own (the table's is replaced when it grows): the renewal interval it is waiting with, and how
 * many messages it has taken in. lease-keeper.ts explains how a hold decides to wake the thread.
 * After them, as two 64-bit integers (`recordRenewal`), its last renewal that the store answered.
 */
export const PLANNED_MS = 0;
export const SEEN = 1;
const CONTROL_INTS = 2;
// In the BigInt64 view, after the Int32 fields.
const RENEWAL_OFFSET = 8;
const RENEWAL_PLANNED = 0;
const RENEWAL_SENT = 1;

/** The control block, before the thread plans: the longest interval, which any shorter lease undercuts. */
export function createControl(plannedMs: number): Int32Array {
  const control = new Int32Array(new SharedArrayBuffer(RENEWAL_OFFSET + 2 * 8), 0, CONTROL_INTS);
  control[PLANNED_MS] = plannedMs;
  return control;
}

/**
 * Now, in epoch ms on a monotonic clock: what both threads stamp renewals with (each thread's
 * `performance.now()` counts from its own start, `Date.now()` may jump).
 */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Keeper thread: a renewal sent at `sentAt` (`sharedNow`) was answered; it named every lease held when
 * the thread read the table at `plannedAt`. Leases missing from the answer are reported lost by
 * message. Written sent first, read planned first: a reader that sees a new `plannedAt` sees its
 * `sentAt`, and a newer `sentAt` beside an older `plannedAt` is still true of those leases.
 */
export function recordRenewal(control: Int32Array, plannedAt: number, sentAt: number): void {
  const renewal = new BigInt64Array(control.buffer, RENEWAL_OFFSET, 2);
  Atomics.store(renewal, RENEWAL_SENT, BigInt(Math.floor(sentAt)));
  Atomics.store(renewal, RENEWAL_PLANNED, BigInt(Math.floor(plannedAt)));
}

/** Main thread: the keeper's last answered renewal (`recordRenewal`); zeros before the first. */
export function lastRenewal(control: Int32Array): { plannedAt: number; sentAt: number } {
  const renewal = new BigInt64Array(control.buffer, RENEWAL_OFFSET, 2);
  const plannedAt = Number(Atomics.load(renewal, RENEWAL_PLANNED));
  return { plannedAt, sentAt: Number(Atomics.load(renewal, RENEWAL_SENT)) };
}

// Header, in the Int32 view.
const CAPACITY = 0;
const CHARS = 1;
const HEADER_INTS = 2;
// Per slot, in the Int32 view.
const GEN = 0;
const SETTLED = 1;
const ID_LENGTH = 2;
const TOKEN_LENGTH = 3;
const SLOT_INTS = 4;
// Per slot, in the Float64 view.
const LEASE_MS = 0;
const DEADLINE = 1;
const SLOT_NUMBERS = 2;

/** A lease as the reader sees it. */
export interface TableLease {
  slot: number;
  gen: number;
  id: string;
  leaseToken: string;
  leaseMs: number;
  /** Epoch ms past which the lease is no longer renewed unless settled; Infinity: none. */
  deadline: number;
  settled: boolean;
}

/** A view of one lease table; both threads attach their own to the same buffer. */
export class LeaseTable {
  /** Slots in the table. */
  readonly capacity: number;
  /** UTF-16 units each of a slot's two strings (job id, lease token) may take. */
  readonly chars: number;
  private readonly ints: Int32Array;
  private readonly numbers: Float64Array;
  /** Each slot's job id then lease token, UTF-16 code units as JavaScript holds them. */
  private readonly text: Buffer;

  constructor(readonly buffer: SharedArrayBuffer) {
    const header = new Int32Array(buffer, 0, HEADER_INTS);
    this.capacity = header[CAPACITY] as number;
    this.chars = header[CHARS] as number;
    const { intsBytes, numbersBytes } = layout(this.capacity, this.chars);
    this.ints = new Int32Array(buffer, 0, intsBytes / 4);
    this.numbers = new Float64Array(buffer, intsBytes, numbersBytes / 8);
    this.text = Buffer.from(buffer, intsBytes + numbersBytes, this.capacity * 2 * this.chars * 2);
  }

  /** A new, empty table. */
  static create(capacity: number, chars: number): LeaseTable {
    const { intsBytes, numbersBytes, textBytes } = layout(capacity, chars);
    const buffer = new SharedArrayBuffer(intsBytes + numbersBytes + textBytes);
    const header = new Int32Array(buffer, 0, HEADER_INTS);
    header[CAPACITY] = capacity;
    header[CHARS] = chars;
    return new LeaseTable(buffer);
  }

  /** The slot's generation: odd while it holds a lease. */
  gen(slot: number): number {
    return Atomics.load(this.ints, HEADER_INTS + slot * SLOT_INTS + GEN);
  }

  /** Writer: puts a lease in a free slot and publishes it. */
  hold(slot: number, id: string, leaseToken: string, leaseMs: number, deadline: number | null): void {
    const base = HEADER_INTS + slot * SLOT_INTS;
    const ints = this.ints;
    ints[base + SETTLED] = 0;
    ints[base + ID_LENGTH] = id.length;
    ints[base + TOKEN_LENGTH] = leaseToken.length;
    this.numbers[slot * SLOT_NUMBERS + LEASE_MS] = leaseMs;
    this.numbers[slot * SLOT_NUMBERS + DEADLINE] = deadline ?? Infinity;
    this.writeText(slot * 2 * this.chars, id);
    this.writeText((slot * 2 + 1) * this.chars, leaseToken);
    Atomics.store(ints, base + GEN, ((ints[base + GEN] as number) + 1) | 0);
  }

  /** Writer: the slot's handler ended; renewed without deadline until freed. */
  settle(slot: number): void {
    Atomics.store(this.ints, HEADER_INTS + slot * SLOT_INTS + SETTLED, 1);
  }

  /** Writer: the slot's lease is no longer renewed; the slot may be reused. */
  free(slot: number): void {
    const at = HEADER_INTS + slot * SLOT_INTS + GEN;
    Atomics.store(this.ints, at, ((this.ints[at] as number) + 1) | 0);
  }

  /** Writer: copies every slot into a larger or wider table, generations included, so reports still match. */
  copyTo(target: LeaseTable): void {
    target.ints.set(this.ints.subarray(HEADER_INTS, HEADER_INTS + this.capacity * SLOT_INTS), HEADER_INTS);
    target.numbers.set(this.numbers);
    for (let string = 0; string < this.capacity * 2; string += 1) {
      this.text.copy(
        target.text,
        string * target.chars * 2,
        string * this.chars * 2,
        (string + 1) * this.chars * 2,
      );
    }
  }

  /** Reader: the slot's lease, or null when the slot is free or was rewritten while being read. */
  read(slot: number): TableLease | null {
    const base = HEADER_INTS + slot * SLOT_INTS;
    const gen = Atomics.load(this.ints, base + GEN);
    if ((gen & 1) === 0) return null;
    const idLength = Math.min(Atomics.load(this.ints, base + ID_LENGTH), this.chars);
    const tokenLength = Math.min(Atomics.load(this.ints, base + TOKEN_LENGTH), this.chars);
    const lease: TableLease = {
      slot,
      gen,
      id: this.readText(slot * 2 * this.chars, idLength),
      leaseToken: this.readText((slot * 2 + 1) * this.chars, tokenLength),
      leaseMs: this.numbers[slot * SLOT_NUMBERS + LEASE_MS] as number,
      deadline: this.numbers[slot * SLOT_NUMBERS + DEADLINE] as number,
      settled: Atomics.load(this.ints, base + SETTLED) === 1,
    };
    return Atomics.load(this.ints, base + GEN) === gen ? lease : null;
  }

  // A native copy: a loop of charCodeAt took twice as long.
  private writeText(at: number, value: string): void {
    this.text.write(value, at * 2, value.length * 2, 'utf16le');
  }

  private readText(at: number, length: number): string {
    return this.text.toString('utf16le', at * 2, (at + length) * 2);
  }
}

function layout(
  capacity: number,
  chars: number,
): { intsBytes: number; numbersBytes: number; textBytes: number } {
  // Rounded up to 8 bytes: the Float64 view after the Int32 one must start aligned.
  const intsBytes = Math.ceil(((HEADER_INTS + capacity * SLOT_INTS) * 4) / 8) * 8;
  return { intsBytes, numbersBytes: capacity * SLOT_NUMBERS * 8, textBytes: capacity * 2 * chars * 2 };
}
