/**
 * The scheduler service: turns due schedule slots into jobs. Any number of schedulers may run against
 * one database, with no leader: each pass claims a batch of due schedules in one store transaction
 * (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), and the slot ledger's unique
 * (schedule, slot) key plus the version compare-and-set make a slot's job exist at most once, even
 * across a crash between planning and writing or a wall clock jumping back.
 *
 * A pass settles finished runs first (outcome, failure count, suspension, drain, waiting slots), then
 * fires due slots, each in batches of `batchSize` until nothing is left. Passes start on the next
 * multiple of `pollIntervalMs` of the clock (plus a few ms), so minute slots are seen right after the
 * minute turns, not up to a poll interval late; sooner when a schedule this scheduler planned has its
 * next slot before that (a 100 ms interval gets a pass per slot), and at once when a job this
 * scheduler enqueued reaches a final state (store event `job:finished`): a handler's `{ again: true }`
 * then gets its drain run without waiting for the next pass, and the next slot of a short schedule
 * can be written as soon as the run before it is over.
 *
 * Options and defaults: `schedules` (config schedules, synced at start; omitted: no sync),
 * `pollIntervalMs` 1000, `batchSize` 500, `missedAfterMs` 30,000 (a slot first seen later than this
 * went through catch-up: it was missed while no scheduler ran), `lookaheadMs` 5000, `slotRetentionMs`
 * 7 days, `maxStoreDownMs` 60,000, `clock` (default: the store's clock; tests inject one and call
 * `runOnce()`).
 *
 * Store outages: a failed pass is reported (`store:error`) and retried at the next pass. Once no pass
 * has succeeded for `maxStoreDownMs`, or one store call (the config schedule sync at start, a pass, or
 * the clock read after it) stays unanswered that long, the scheduler gives up as a worker does
 * (runtime/store-health.ts): `scheduler:fatal`, it stops, `failed` (and `ready`, during the sync)
 * rejects with `database_unavailable`, and the CLI exits 1, instead of logging errors forever while
 * no slot fires.
 *
 * Lookahead: a schedule's next slot, due within `lookaheadMs` and at least `pollIntervalMs` ahead, is
 * enqueued early, as a job that becomes due exactly at the slot, when nothing of its schedule is active
 * (fire.ts). So a pass over 10,000 schedules that takes longer than a second on a busy machine still has
 * every job waiting when the minute turns: the run lag of a slot job no longer depends on how long the
 * scheduler's pass takes. Five seconds: on the shared 2-core development machine (load average 10-20)
 * one pass over 10,000 due schedules took 2-3.5 s. The price: a trigger in those seconds meets the
 * early job as an active run (documented in docs/SCHEDULES.md); 0 turns it off.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NightshiftError } from '../errors.js';
import { settledWithin } from '../runtime/sleep.js';
import { StoreHealth } from '../runtime/store-health.js';
import { checkStopOptions, DEFAULT_GRACE_MS, type StopOptions } from '../runtime/stop-options.js';
import { intIn, MAX_TIMER_MS } from '../validation/bounds.js';
import { keyNames, refuseUnknownKeys } from '../validation/known-keys.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { ScheduleWrites, Store } from '../store/store.js';
import { DEFAULT_QUEUE, type TaskRegistry } from '../task-registry.js';
import { planFire } from './fire.js';
import type { PlanOptions } from './runs.js';
import type { ScheduleInput } from '../schedule-types.js';
import { DEFAULT_MISSED_AFTER_MS, type ScheduleService } from './schedule-service.js';
import { planSettle } from './settle.js';
import { slotJobFactory } from './slot-job.js';

/** Options of `ns.startScheduler()`. */
export interface SchedulerOptions {
  /** Config schedules to sync at start; omit to leave stored config schedules alone. */
  schedules?: readonly ScheduleInput[];
  pollIntervalMs?: number;
  batchSize?: number;
  missedAfterMs?: number;
  lookaheadMs?: number;
  slotRetentionMs?: number;
  /**
   * Give up (`failed` rejects) after the store stayed unreachable this long. Default 60,000; 0: no
   * bound, the scheduler retries for as long as it runs.
   */
  maxStoreDownMs?: number;
  /** The scheduler's clock; default the store's. */
  clock?: () => Date | Promise<Date>;
}

const OPTION_NAMES = keyNames<SchedulerOptions>({
  schedules: true,
  pollIntervalMs: true,
  batchSize: true,
  missedAfterMs: true,
  lookaheadMs: true,
  slotRetentionMs: true,
  maxStoreDownMs: true,
  clock: true,
});

/** What one pass did. */
export interface SchedulerPass {
  enqueued: number;
  waiting: number;
  skipped: number;
  missed: number;
  settled: number;
}

/** What the scheduler needs from its Nightshift instance. */
export interface SchedulerDeps {
  store: Store;
  registry: TaskRegistry;
  schedules: ScheduleService;
  /** Where `schedule:slot`, `schedule:settled` and `job:enqueued` go (metrics count them). */
  events: EventBus;
  logger: Logger;
}

// Passes start this long after the interval boundary, so a slot exactly on the boundary is already due
// on the store's clock even when the scheduler's clock runs a little ahead.
const BOUNDARY_MARGIN_MS = 5;
// Ledger retention runs once in this many passes (an hour at the default interval).
const PRUNE_EVERY_PASSES = 3600;
const PRUNE_LIMIT = 5000;
// Jobs remembered to wake on; past this the set is cleared, which only costs those jobs' wake-ups
// (the regular pass settles them).
const OURS_CAP = 100_000;

/** A running (or runnable) scheduler. */
export class Scheduler {
  private stopped = false;
  private stopPromise: Promise<void> | undefined;
  private readonly forced = new AbortController();
  private wake: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private passes = 0;
  /** The earliest next slot among the schedules the last pass planned, in ms. */
  private nextSlotMs = Infinity;
  /** Jobs this scheduler enqueued that are not final yet, as far as its events tell. */
  private readonly ours = new Set<string>();
  /** Tasks of schedules this scheduler fired without knowing them, each warned of once. */
  private readonly unknownTasks = new Set<string>();
  /** A job of ours finished during a pass: pass again without sleeping. */
  private passRequested = false;
  private unlisten: (() => void) | undefined;
  /**
   * Resolves once config schedules are synced and the first pass can run; rejects on bad config, or
   * with `failed`'s error when the sync stays unanswered past `maxStoreDownMs`.
   */
  ready: Promise<void> = Promise.resolve();
  /**
   * Resolves when the scheduler stopped normally; rejects with `NightshiftError('database_unavailable')`
   * when the store stayed unreachable past `maxStoreDownMs` (the scheduler then stops by itself).
   */
  readonly failed: Promise<void>;
  private settleFailed!: (error?: Error) => void;
  private readonly health: StoreHealth;

  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly missedAfterMs: number;
  private readonly lookaheadMs: number;
  private readonly slotRetentionMs: number;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly options: SchedulerOptions = {},
  ) {
    refuseUnknownKeys(options, OPTION_NAMES, 'scheduler option');
    // Both become timers: past Node's limit a timer fires at once, and the scheduler would pass in a
    // busy loop, or give the store up at its first call.
    this.pollIntervalMs = timerMs('pollIntervalMs', options.pollIntervalMs, 1000, 1);
    this.batchSize = positive('batchSize', options.batchSize, 500);
    this.missedAfterMs = positive('missedAfterMs', options.missedAfterMs, DEFAULT_MISSED_AFTER_MS);
    this.lookaheadMs = nonNegative('lookaheadMs', options.lookaheadMs, 5000);
    this.slotRetentionMs = positive('slotRetentionMs', options.slotRetentionMs, 7 * 24 * 3_600_000);
    this.failed = new Promise<void>((resolve, reject) => {
      this.settleFailed = (error) => (error ? reject(error) : resolve());
    });
    // Marks the rejection handled; callers who await `failed` still see it.
    this.failed.catch(() => undefined);
    this.health = new StoreHealth({
      maxStoreDownMs: timerMs('maxStoreDownMs', options.maxStoreDownMs, 60_000, 0),
      events: deps.events,
      logger: deps.logger,
      onFatal: (error) => this.fail(error),
    });
  }

  private async now(): Promise<Date> {
    return this.options.clock ? await this.options.clock() : await this.deps.store.now();
  }

  /** Syncs config schedules, then passes until stopped. */
  start(): this {
    const schedules = this.options.schedules;
    this.ready = schedules === undefined ? Promise.resolve() : this.syncAtStart(schedules);
    this.unlisten = this.deps.store.listen('job:finished', ({ id }) => {
      if (!this.ours.delete(id)) return;
      this.passRequested = true;
      this.wake?.abort();
    });
    this.loop = this.ready.then(
      () => this.run(),
      () => undefined,
    );
    return this;
  }

  /**
   * The sync is a store call like a pass, so it is watched like one: unwatched, a sync the database
   * never answered (black-holed while the scheduler started) held `ready`, and with it `nightshift
   * scheduler` and `nightshift start`, until its query timed out (65 s; never with no statement
   * timeout), and nothing could trip the outage bound meanwhile. A scheduler that gives up during the
   * sync rejects `ready` with the same error as `failed`, so a caller awaiting `ready` learns of it.
   */
  private syncAtStart(schedules: readonly ScheduleInput[]): Promise<void> {
    const gaveUp = new Promise<never>((_, reject) => void this.failed.catch(reject));
    return Promise.race([this.health.watch('scheduler', this.sync(schedules)), gaveUp]);
  }

  private async sync(schedules: readonly ScheduleInput[]): Promise<void> {
    const result = await this.deps.schedules.sync(schedules);
    this.deps.logger.info(result, 'config schedules synced');
    for (const id of result.conflicts) {
      this.deps.logger.warn(
        { scheduleId: id },
        'config schedule id is taken by an api schedule; config version ignored',
      );
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.passRequested = false;
      let failure: unknown = null;
      try {
        await this.health.watch('scheduler', this.runOnce());
        this.health.ok();
      } catch (error) {
        if (error instanceof NightshiftError && error.code === 'conflict') {
          // The store answered: a race lost to another scheduler is no outage.
          this.health.ok();
          this.deps.logger.debug({ err: error }, 'scheduler pass lost a race; retrying next pass');
        } else {
          failure = error;
        }
      }
      if (this.stopped) break;
      if (this.passRequested) {
        if (failure !== null) this.health.failed('scheduler', failure, 0);
        continue;
      }
      // A store call like the pass's, so it is watched like the pass: unwatched, a read the database
      // never answered (black-holed between passes) held the loop until its query timeout (65 s), and
      // with it the outage bound, which only a watched call or a reported failure can trip.
      const nowMs = (await this.health.watch('scheduler', this.now()).catch(() => new Date())).getTime();
      const wait = Math.max(
        0,
        Math.min(this.pollIntervalMs - (nowMs % this.pollIntervalMs), this.nextSlotMs - nowMs) +
          BOUNDARY_MARGIN_MS,
      );
      if (failure !== null) this.health.failed('scheduler', failure, wait);
      if (this.stopped) break;
      this.wake = new AbortController();
      if (this.passRequested) continue;
      await sleep(wait, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }

  /** One pass: settle finished runs, fire due slots, prune the ledger now and then. */
  async runOnce(): Promise<SchedulerPass> {
    const pass: SchedulerPass = { enqueued: 0, waiting: 0, skipped: 0, missed: 0, settled: 0 };
    const now = await this.now();
    const options: PlanOptions = {
      now,
      missedAfterMs: this.missedAfterMs,
      lookaheadMs: this.lookaheadMs,
      // A slot due before the next regular pass gets a pass of its own, which enqueues it due at once
      // and announces it to workers; an early job would wait for a worker's poll to be claimed.
      earlyFromMs: this.pollIntervalMs,
      newJob: slotJobFactory(this.deps.registry, now, {
        defaultsFailed: (schedule, error) =>
          this.deps.logger.error(
            { err: error, scheduleId: schedule.id },
            'payload defaults (of the task or its queue) failed on the schedule payload; job enqueued without its key and group',
          ),
        taskUnknown: (schedule) => {
          // Once per task for this scheduler: every slot of every such schedule would say the same.
          if (this.unknownTasks.has(schedule.task)) return;
          this.unknownTasks.add(schedule.task);
          this.deps.logger.warn(
            { scheduleId: schedule.id, task: schedule.task, queue: schedule.queue ?? DEFAULT_QUEUE },
            "this process does not declare the schedule's task: its jobs get no task defaults (the schedule's queue or the default one, default attempts, no timeout, key or group); declare the task here (a contract is enough) or give the schedule a queue",
          );
        },
      }),
    };
    this.nextSlotMs = Infinity;
    for (;;) {
      const writes = await this.deps.store.scheduleSettle({
        limit: this.batchSize,
        plan: (input) => planSettle(input, options),
      });
      this.noteJobs(writes);
      this.report(writes);
      const settled = writes.slotUpdates.filter((slot) => slot.outcome !== null).length;
      pass.settled += settled;
      count(pass, writes.slots);
      pass.enqueued += writes.slotUpdates.filter(
        (slot) => slot.outcome === null && slot.status === 'enqueued',
      ).length;
      if (settled < this.batchSize) break;
    }
    for (;;) {
      const writes = await this.deps.store.scheduleFire({
        dueBy: new Date(now.getTime() + this.lookaheadMs),
        limit: this.batchSize,
        plan: (due) => planFire(due, options),
      });
      this.noteJobs(writes);
      this.report(writes);
      this.noteNextSlots(writes);
      count(pass, writes.slots);
      pass.enqueued += writes.slotUpdates.filter((slot) => slot.status === 'enqueued').length;
      if (writes.states.length < this.batchSize) break;
    }
    if (this.passes++ % PRUNE_EVERY_PASSES === 0) {
      await this.deps.store.scheduleSlotPrune({ olderThanMs: this.slotRetentionMs, limit: PRUNE_LIMIT });
    }
    return pass;
  }

  /** Remembers the jobs a pass enqueued, to pass again when they finish. */
  private noteJobs(writes: ScheduleWrites): void {
    if (this.ours.size + writes.jobs.length > OURS_CAP) this.ours.clear();
    for (const job of writes.jobs) this.ours.add(job.id);
  }

  /** Tells this instance's listeners what a pass wrote: slots recorded, runs settled, jobs enqueued. */
  private report(writes: ScheduleWrites): void {
    const { events } = this.deps;
    for (const slot of writes.slots) {
      const { scheduleId, status, reason } = slot;
      events.emit('schedule:slot', { scheduleId, status, reason, slots: slot.slotCount ?? 1 });
    }
    for (const slot of writes.slotUpdates) {
      const { scheduleId, status, reason, outcome, runLagMs } = slot;
      if (outcome !== null) events.emit('schedule:settled', { scheduleId, outcome, runLagMs });
      else if (status === 'enqueued') events.emit('schedule:slot', { scheduleId, status, reason, slots: 1 });
    }
    for (const job of writes.jobs) {
      const { id: jobId, task, queue, scheduleId } = job;
      events.emit('job:enqueued', { jobId, task, queue, scheduleId });
    }
  }

  /**
   * Remembers the earliest next slot a fire pass planned, to pass at it. Settle passes do not move next
   * slots; the schedule they read may be due and about to be fired by this very pass.
   */
  private noteNextSlots(writes: ScheduleWrites): void {
    for (const { state } of writes.states) {
      const next = state.nextSlotAt?.getTime();
      if (next !== undefined && next < this.nextSlotMs) this.nextSlotMs = next;
    }
  }

  /**
   * Stops passing; resolves once the current pass is over, but waits for it no longer than `graceMs`
   * (default 30 s; not at all with `force`, which also hurries a stop in progress): a pass the database
   * never answers (a black-holed connection) held the stop until its statement timed out, past a
   * supervisor's kill. A pass cut short is rolled back when the store closes, or commits late: its
   * slots are written once either way. Every later call waits for the first.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    checkStopOptions(options);
    if (options.force === true) this.forced.abort();
    this.stopPromise ??= this.shutdown(options.graceMs ?? DEFAULT_GRACE_MS);
    return this.stopPromise;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    this.wake?.abort();
    const passOver = this.loop === undefined || (await settledWithin(this.loop, graceMs, this.forced.signal));
    if (!passOver) this.deps.logger.warn('scheduler stopped during a pass the store has not answered');
    // The pass left behind no longer speaks for this scheduler (store-health.ts).
    this.health.close();
    this.settleFailed();
  }

  private fail(error: Error): void {
    this.deps.logger.error({ err: error }, 'scheduler giving up: store unavailable too long');
    this.deps.events.emit('scheduler:fatal', { error });
    this.settleFailed(error);
    // Forced: the pass in progress is the call the store left unanswered; nothing is worth waiting for.
    void this.stop({ force: true });
  }
}

function count(pass: SchedulerPass, slots: Array<{ status: string }>): void {
  for (const slot of slots) {
    if (slot.status === 'enqueued') pass.enqueued++;
    else if (slot.status === 'waiting') pass.waiting++;
    else if (slot.status === 'skipped') pass.skipped++;
    else pass.missed++;
  }
}

function timerMs(name: string, value: number | undefined, fallback: number, min: number): number {
  return value === undefined ? fallback : intIn(`scheduler ${name}`, value, [min, MAX_TIMER_MS]);
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new NightshiftError('invalid_argument', `scheduler ${name} must be an integer >= 0`);
  }
  return value;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new NightshiftError(
      'invalid_argument',
      `scheduler ${name} must be an integer >= 1, got ${String(value)}`,
    );
  }
  return value;
}
