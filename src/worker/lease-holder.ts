/**
 * Lease holding: every lease this worker holds, from claim until the attempt's outcome is persisted
 * (not just while the handler runs, so a slow or failing flush never lets a finished job be rescued
 * and run again), and how a lapse is handled.
 *
 * Renewal: from a thread of its own (lease-keeper.ts) by default, so a handler that blocks the event
 * loop does not stop it (until the attempt's timeout plus abort grace); otherwise, or if that thread
 * ever stops, one timer renews every held lease in one `jobLeaseRenew`, every third of the shortest
 * lease held. The thread starts with the first lease held, not with the worker: an idle thread costs
 * its process about 1.3 ms of CPU per second (measured on the development machine), which a worker
 * that waits for work would pay for nothing. It reads the lease table on its own, so a handler that
 * blocks the event loop right after the first claim is still renewed once the thread is up. An attempt missing from a renewal's answer lost its lease: it is aborted, reported once
 * (`job:lease_lost`), and fencing refuses its writes.
 */
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import { Backoff } from '../runtime/backoff.js';
import { sleep } from '../runtime/sleep.js';
import type { StoreHealth } from '../runtime/store-health.js';
import type { Store } from '../store/store.js';
import type { RunningAttempt } from './attempt.js';
import { LeaseKeeper, type KeeperListener } from './lease-keeper.js';
import { renewIntervalMs, sharedNow } from './lease-table.js';
import { SlotSet } from './slot-set.js';
import type { ResolvedWorkerOptions } from './options.js';
import { attemptEventBase } from './outcome.js';

/** What the parts that run an attempt tell the lease holder (job-context.ts, attempt-runner.ts). */
export interface HeldLeases {
  /** A write was refused or a renewal missed the attempt: abort it and report it once. */
  lost(attempt: RunningAttempt, refusedFinish?: boolean): void;
  /** The attempt's outcome is persisted (or refused): its lease is no longer this worker's to hold. */
  release(attempt: RunningAttempt): void;
}

/**
 * How far past its known end a lease may be and its attempt still start. A job's own lease may be
 * shorter than a claim's round trip (`leaseMs` down to 1 ms), so it lapses before any start; such
 * jobs ran, and still do, where no rescue takes them first. A lease lapsed by a second or more means
 * a stalled process, the case `current` is for.
 */
const LAPSE_MARGIN_MS = 1_000;

/** Holds and renews the leases of one worker's attempts. */
export class LeaseHolder implements HeldLeases, KeeperListener<RunningAttempt> {
  // The attempts themselves, not their job ids or tokens: after a stall this worker may re-claim a job
  // it still runs a stale attempt of, and all jobs of one claim share a token on PostgreSQL.
  /** Attempts whose lease this worker holds: running, waiting for a slot, or finished but not persisted. */
  private readonly held = new SlotSet<RunningAttempt>({
    get: (attempt) => attempt.heldSlot,
    set: (attempt, slot) => (attempt.heldSlot = slot),
  });
  /** The slot in `held` of the newest held attempt of each job id (a slot, not the attempt: slot-set.ts). */
  private readonly heldByJob = new Map<string, number>();
  private readonly stopped = new AbortController();
  private renewLoop: Promise<void> = Promise.resolve();
  /** Renews leases from a thread of its own; null when renewal runs on the event loop, or until needed. */
  private keeper: LeaseKeeper<RunningAttempt> | null = null;
  /** Where the keeper thread finds the database, when this worker renews from one (options and store allow it). */
  private keeperAddress: { url: string; schema?: string } | null = null;

  constructor(
    private readonly store: Store,
    private readonly health: StoreHealth,
    private readonly options: ResolvedWorkerOptions,
    private readonly events: EventBus,
    private readonly logger: Logger,
    private readonly workerId: string,
  ) {}

  /** Starts the renew loop; the keeper thread (when the options and the store allow one) comes later. */
  start(): void {
    if (this.options.leaseKeeper === 'thread') this.keeperAddress = this.store.peerAddress?.() ?? null;
    this.renewLoop = this.runRenewLoop();
  }

  /**
   * Resolves true once leases are renewed from the keeper thread, false when they are renewed on the
   * event loop. Starts the thread now if no lease started it yet.
   */
  keeperReady(): Promise<boolean> {
    return this.keeperNow()?.ready ?? Promise.resolve(false);
  }

  /**
   * Holds the lease of a newly claimed attempt. `deadline` (epoch ms): past it the keeper thread stops
   * renewing a handler that has not settled. `claimSentAt` (lease-table.ts `sharedNow`): when the
   * claim was sent; the store started the lease later. The keeper sees the lease as soon as this
   * returns, before the attempt's handler can start.
   */
  hold(attempt: RunningAttempt, deadline: number, claimSentAt: number): void {
    const { job } = attempt;
    attempt.heldAt = sharedNow();
    attempt.leaseKnownUntil = claimSentAt + this.leaseMsOf(attempt);
    // A new claim of a job this worker still holds proves the older attempt's lease is gone: the keeper
    // renews it no more, and holds one lease per job id, which is how the store answers a renewal.
    const older = this.newest(job.id);
    if (older) {
      this.lost(older);
      this.releaseKeeperSlot(older);
    }
    this.held.add(attempt);
    this.heldByJob.set(job.id, attempt.heldSlot);
    const keeper = this.keeperNow();
    if (keeper) attempt.keeperSlot = keeper.hold(attempt, job, job.leaseMs ?? this.options.leaseMs, deadline);
  }

  release(attempt: RunningAttempt): void {
    this.releaseKeeperSlot(attempt);
    const slot = attempt.heldSlot;
    if (this.held.delete(attempt) && this.heldByJob.get(attempt.job.id) === slot) {
      this.heldByJob.delete(attempt.job.id);
    }
  }

  /**
   * Whether the attempt's lease may still be current: not found lost, and not lapsed by more than
   * LAPSE_MARGIN_MS past the end of the last claim or renewal of it that the store answered, counted
   * from when it was sent (the store counts from later, so this never ends a lease early). A worker
   * that was stopped (SIGSTOP, a long stall), or a claim answer that came that late, fails this; such a
   * job has been or will be rescued, and may be running elsewhere already.
   */
  current(attempt: RunningAttempt): boolean {
    if (attempt.leaseLost) return false;
    let until = attempt.leaseKnownUntil;
    if (this.keeper) {
      const renewal = this.keeper.lastRenewal();
      if (renewal.plannedAt > attempt.heldAt) {
        until = Math.max(until, renewal.sentAt + this.leaseMsOf(attempt));
      }
    }
    return sharedNow() < until + LAPSE_MARGIN_MS;
  }

  /** Whether a held attempt's job has a concurrency key (its slot is this worker's until released). */
  holdsKeySlot(): boolean {
    for (const attempt of this.held) if (attempt.job.concurrencyKey !== null) return true;
    return false;
  }

  /** The attempt's handler settled: the keeper thread stops renewing it past its deadline. */
  settled(attempt: RunningAttempt): void {
    if (attempt.keeperSlot >= 0) this.keeper?.settled(attempt.keeperSlot);
  }

  /** The newest held attempt of job `id`, as a renewal's cancel report would name it. */
  newest(id: string): RunningAttempt | undefined {
    const slot = this.heldByJob.get(id);
    const attempt = slot === undefined ? undefined : this.held.at(slot);
    return attempt?.job.id === id ? attempt : undefined;
  }

  lost(attempt: RunningAttempt, refusedFinish = false): void {
    if (attempt.leaseLost) return;
    attempt.leaseLost = true;
    attempt.abort('lease_lost');
    this.logger.warn(
      { jobId: attempt.job.id, task: attempt.job.task, attempt: attempt.job.attempt, refusedFinish },
      'lease lost: another attempt owns this job now; this attempt’s writes are refused',
    );
    this.events.emit('job:lease_lost', attemptEventBase(attempt, this.workerId));
  }

  /** From the keeper thread. As in the renew loop: a submitted finish is settled by its own answer. */
  onLost(attempt: RunningAttempt): void {
    if (!attempt.finishSubmitted) this.lost(attempt);
  }

  /** From the keeper thread: the job was asked to cancel. */
  onCancel(attempt: RunningAttempt): void {
    attempt.abort('cancel');
  }

  /** Ends renewal (after every outcome was written or given up on) and forgets what was held. */
  async stop(): Promise<void> {
    this.stopped.abort();
    await this.renewLoop;
    await this.keeper?.stop();
    this.held.clear();
    this.heldByJob.clear();
  }

  /** The keeper thread renews the attempt's lease no more. */
  private releaseKeeperSlot(attempt: RunningAttempt): void {
    if (attempt.keeperSlot < 0) return;
    this.keeper?.release(attempt.keeperSlot);
    attempt.keeperSlot = -1;
  }

  /** The lease a claim or renewal gives the attempt, as the store computes it. */
  private leaseMsOf(attempt: RunningAttempt): number {
    return attempt.job.leaseMs ?? this.options.leaseMs;
  }

  /**
   * Epoch ms (`Date.now()`) of the oldest claim or renewal the store answered of the leases held now:
   * the keeper thread's first renewal is due one interval after it. Now when nothing is held.
   */
  private leasesKnownFrom(): number {
    const now = sharedNow();
    let oldest = now;
    for (const attempt of this.held) {
      oldest = Math.min(oldest, attempt.leaseKnownUntil - this.leaseMsOf(attempt));
    }
    // leaseKnownUntil counts on the monotonic shared clock; the thread plans with Date.now().
    return Date.now() - (now - oldest);
  }

  private renewIntervalMs(): number {
    let shortest = this.options.leaseMs;
    for (const attempt of this.held) {
      if (attempt.job.leaseMs !== null && attempt.job.leaseMs < shortest) shortest = attempt.job.leaseMs;
    }
    return renewIntervalMs(shortest);
  }

  private async runRenewLoop(): Promise<void> {
    const backoff = new Backoff();
    let delay = this.renewIntervalMs();
    while (!this.stopped.signal.aborted) {
      await sleep(delay, this.stopped.signal);
      if (this.stopped.signal.aborted) return;
      delay = this.renewIntervalMs();
      const targets = [...this.held].filter((attempt) => !attempt.leaseLost);
      // The keeper thread renews while it runs; this loop takes over if it ever stops.
      if (targets.length === 0 || this.keeper?.running) continue;
      let renewed: Array<{ id: string; cancelRequested: boolean }>;
      const sentAt = sharedNow();
      try {
        ({ renewed } = await this.health.watch(
          'renew',
          this.store.jobLeaseRenew({
            leases: targets.map((attempt) => attempt.ref),
            leaseMs: this.options.leaseMs,
          }),
        ));
        this.health.ok();
        backoff.reset();
      } catch (error) {
        delay = Math.min(delay, backoff.next());
        this.health.failed('renew', error, delay);
        continue;
      }
      const answers = new Map(renewed.map((entry) => [entry.id, entry]));
      for (const attempt of targets) {
        const answer = answers.get(attempt.job.id);
        if (answer) {
          attempt.leaseKnownUntil = Math.max(attempt.leaseKnownUntil, sentAt + this.leaseMsOf(attempt));
          if (answer.cancelRequested) attempt.abort('cancel');
        } else if (!attempt.finishSubmitted && this.held.has(attempt)) {
          // A submitted finish may have been written between our snapshot and the renewal; its own
          // answer (accepted or refused) settles it, so only handlers still running count as lost here.
          this.lost(attempt);
        }
      }
    }
  }

  /** The keeper thread, started on first use; null when renewal runs on the event loop or after stop. */
  private keeperNow(): LeaseKeeper<RunningAttempt> | null {
    const address = this.keeperAddress;
    if (this.keeper !== null || address === null || this.stopped.signal.aborted) return this.keeper;
    const { leaseMs, concurrency, bufferSize } = this.options;
    // Leases held at once: running attempts plus a full ready buffer (outcomes being written come on top).
    this.keeper = new LeaseKeeper<RunningAttempt>(
      { ...address, leaseMs },
      concurrency + bufferSize,
      this,
      this.logger,
      this.leasesKnownFrom(),
    );
    return this.keeper;
  }
}
