/**
 * The ready buffer: claimed attempts a worker holds beyond its free slots, so claims move jobs in
 * large batches whatever the concurrency, and the next claim's round trip overlaps the work in
 * progress instead of leaving slots empty while it travels. Without it a worker at concurrency 10
 * moved at most 10 jobs per claim round trip, and on short jobs spent most of its time waiting for
 * claims.
 *
 * Its size (the allowance) follows slot turnover: attempts ended per ms times `horizonMs` (or the last
 * claim's round trip when that is longer), capped at `max`: about as many attempts as the slots start
 * within the horizon. So a buffered attempt waits about one horizon for its slot: short jobs at high
 * rates get hundreds buffered (large claims); slow jobs get none, so a job does not sit leased here
 * while another worker has a free slot for it. A burst of long jobs right after short ones can still
 * leave jobs waiting: those not started within `ttlMs` are taken out (`takeStale`) and handed back by
 * the worker.
 *
 * Buffered attempts hold their leases like running ones (the worker renews them, so they are never
 * rescued while waiting), and they are handed back, attempt not spent, when the worker stops.
 */

/** The weight of the newest sample in the turnover and round-trip averages. */
const SMOOTHING = 0.5;

/** How the buffer is bounded. */
export interface PrefetchLimits {
  /** Most attempts waiting at once (the `bufferSize` worker option); 0 buffers nothing. */
  max: number;
  /** The wait the allowance aims at: turnover times this many ms. */
  horizonMs: number;
  /** Longest an attempt may wait before it is taken out by `takeStale`. */
  ttlMs: number;
}

/**
 * A bounded queue of claimed, not yet started attempts in claim order, and the allowance that bounds
 * it. Claim order is the order the claims were sent: two claims in flight at once take successive
 * jobs (the second skips the rows the first locked), and may answer the other way round.
 */
export class Prefetch<T> {
  private waiting: Array<{ item: T; since: number; claim: number }> = [];
  /** Attempts ended per ms, averaged over recent claims. */
  private rate = 0;
  private rttMs = 0;
  private sampledAt = performance.now();
  private sampledEnded = 0;
  private ended = 0;

  constructor(private readonly options: PrefetchLimits) {}

  /** Attempts waiting for a slot. */
  get size(): number {
    return this.waiting.length;
  }

  /** How many attempts may wait here beyond the slots, from the turnover measured so far. */
  allowance(): number {
    const horizonMs = Math.max(this.options.horizonMs, this.rttMs);
    return Math.min(this.options.max, Math.floor(this.rate * horizonMs));
  }

  /** An attempt ended (its slot is free again). */
  attemptEnded(): void {
    this.ended += 1;
  }

  /** A claim came back after `rttMs`: updates the turnover and round-trip estimates. */
  claimAnswered(rttMs: number): void {
    const now = performance.now();
    const elapsed = now - this.sampledAt;
    if (elapsed <= 0) return;
    const rate = (this.ended - this.sampledEnded) / elapsed;
    // From no turnover (a new or idle worker) the first sample counts in full: averaged against zero,
    // the buffer took twice as many claims to grow, a visible share of a short burst.
    this.rate = this.rate === 0 ? rate : this.rate * (1 - SMOOTHING) + rate * SMOOTHING;
    this.rttMs = this.rttMs === 0 ? rttMs : this.rttMs * (1 - SMOOTHING) + rttMs * SMOOTHING;
    this.sampledAt = now;
    this.sampledEnded = this.ended;
  }

  /**
   * Queues an attempt of the claim sent `claim`-th behind those of that claim and earlier ones, ahead
   * of those of claims sent later (almost always: at the end). One placed ahead of others takes the
   * wait start of the first it precedes, so waits stay in order for `takeStale`.
   */
  push(item: T, claim: number): void {
    let at = this.waiting.length;
    while (at > 0 && (this.waiting[at - 1]?.claim ?? claim) > claim) at -= 1;
    const since = Math.min(performance.now(), this.waiting[at]?.since ?? Infinity);
    this.waiting.splice(at, 0, { item, since, claim });
  }

  /** The first attempt in claim order, if any. */
  shift(): T | undefined {
    return this.waiting.shift()?.item;
  }

  /** Removes and returns the attempts that waited longer than `ttlMs`. */
  takeStale(): T[] {
    const limit = performance.now() - this.options.ttlMs;
    let count = 0;
    while (count < this.waiting.length && (this.waiting[count]?.since ?? Infinity) <= limit) count += 1;
    return count === 0 ? [] : this.waiting.splice(0, count).map((entry) => entry.item);
  }

  /** Removes and returns everything waiting (shutdown). */
  drain(): T[] {
    const items = this.waiting.map((entry) => entry.item);
    this.waiting = [];
    return items;
  }
}
