/**
 * Shared planner steps: building ledger rows, and turning a list of runs a schedule owes into ledger
 * rows and jobs under its overlap policy.
 */
import type { NewJob, ScheduleWrites } from '../store/store.js';
import type { Schedule, ScheduleState, SlotKind, SlotRecord, SlotStatus } from '../schedule-types.js';

/** A run a schedule owes: one slot (or drain, or trigger) that should become a job. */
export interface SlotRun {
  slotKey: string;
  slotAt: Date;
  kind: SlotKind;
  drainSeq: number;
}

/** Everything a planner needs besides its input. */
export interface PlanOptions {
  /** The scheduler's clock reading for this pass. */
  now: Date;
  /** A slot older than this when first processed counts as missed (downtime) and goes through catch-up. */
  missedAfterMs: number;
  /** Slots due within this many ms after `now` may be enqueued early, due at their slot (see fire.ts). */
  lookaheadMs?: number;
  /**
   * Slots due sooner than this many ms after `now` are not enqueued early: the scheduler wakes for them
   * and enqueues them due at once (see fire.ts). Default 1 ms.
   */
  earlyFromMs?: number;
  /** Builds the job for a run; the job's idempotency key is the slot's. */
  newJob: (schedule: Schedule, run: SlotRun) => NewJob;
}

/** An empty set of writes. */
export function noWrites(): ScheduleWrites {
  return { states: [], slots: [], slotUpdates: [], jobs: [] };
}

/** The scheduler-owned part of a schedule, copied so a planner can change it. */
export function stateOf(schedule: Schedule): ScheduleState {
  return {
    paused: schedule.paused,
    nextSlotAt: schedule.nextSlotAt,
    lastSlotAt: schedule.lastSlotAt,
    lastJobId: schedule.lastJobId,
    lastOutcome: schedule.lastOutcome,
    lastStartedAt: schedule.lastStartedAt,
    lastFinishedAt: schedule.lastFinishedAt,
    lastDurationMs: schedule.lastDurationMs,
    lastRunLagMs: schedule.lastRunLagMs,
    consecutiveFailures: schedule.consecutiveFailures,
    lastError: schedule.lastError,
    suspendedAt: schedule.suspendedAt,
    suspendedReason: schedule.suspendedReason,
  };
}

/** A new ledger row. */
export function slotRow(
  scheduleId: string,
  run: SlotRun,
  status: SlotStatus,
  reason: string | null,
  now: Date,
  jobId: string | null = null,
): SlotRecord {
  return {
    scheduleId,
    slotKey: run.slotKey,
    slotAt: run.slotAt,
    kind: run.kind,
    status,
    reason,
    jobId,
    slotCount: 1,
    slotUntil: null,
    drainSeq: run.drainSeq,
    recordedAt: now,
    outcome: null,
    durationMs: null,
    runLagMs: null,
    finishedAt: null,
  };
}

/** A schedule's runs as a planner sees them: the active job and whether a slot already waits. */
export interface RunState {
  active: string | null;
  /** The oldest `waiting` ledger row, still to be released; null when none waits. */
  waiting: SlotRecord | null;
}

/**
 * Enqueues the oldest waiting slot when nothing is active (a run finished, or the schedule was paused
 * while slots waited). Returns true when it did.
 */
export function releaseWaiting(
  schedule: Schedule,
  state: ScheduleState,
  runs: RunState,
  writes: ScheduleWrites,
  options: PlanOptions,
): boolean {
  const held = runs.waiting;
  if (held === null || runs.active !== null || state.paused || state.suspendedAt !== null) return false;
  const job = options.newJob(schedule, held);
  writes.jobs.push(job);
  writes.slotUpdates.push({ ...held, status: 'enqueued', jobId: job.id });
  state.lastJobId = job.id;
  runs.active = job.id;
  // Further waiting rows (chained catch-up runs) are released one per finished run, by later passes.
  runs.waiting = null;
  return true;
}

/**
 * Places `runs` for one schedule under its overlap policy. With `allow` every run is enqueued. Otherwise
 * a run is enqueued only when no run of the schedule is active, so two never run at once: a regular
 * slot or trigger meeting an active run is skipped (`skip`) or held as `waiting` (`queue`, at most one
 * waiting slot); catch-up runs are always held as `waiting`, chained behind each other, because each
 * of them was explicitly owed a run. Mutates `runs.active` as it enqueues.
 */
export function placeRuns(
  schedule: Schedule,
  state: ScheduleState,
  toPlace: SlotRun[],
  runs: RunState,
  writes: ScheduleWrites,
  options: PlanOptions,
): void {
  let waits = runs.waiting !== null;
  for (const run of toPlace) {
    if (schedule.overlap === 'allow' || runs.active === null) {
      const job = options.newJob(schedule, run);
      writes.jobs.push(job);
      writes.slots.push(slotRow(schedule.id, run, 'enqueued', null, options.now, job.id));
      state.lastJobId = job.id;
      runs.active = job.id;
    } else if (run.kind === 'catch_up' || (schedule.overlap === 'queue' && !waits)) {
      writes.slots.push(
        slotRow(schedule.id, run, 'waiting', `waiting for run ${runs.active} to finish`, options.now),
      );
      waits = true;
    } else {
      const reason =
        schedule.overlap === 'skip'
          ? `overlap skip: run ${runs.active} ${activity(state, runs.active, options.now)}`
          : `overlap queue: a slot already waits for run ${runs.active}`;
      writes.slots.push(slotRow(schedule.id, run, 'skipped', reason, options.now));
    }
  }
}

/**
 * How the active run stands, for a skip's reason. The one run that can be active before it is due is the
 * schedule's last job when its slot is still ahead (written early by the lookahead); only a trigger or a
 * drain request can meet it, never the slot after it, which is planned once that slot is due.
 */
function activity(state: ScheduleState, active: string, now: Date): string {
  const slot = state.lastSlotAt;
  return state.lastJobId === active && slot !== null && slot > now
    ? `is already enqueued for the slot at ${slot.toISOString()}`
    : 'still active';
}

/** A 32-bit FNV-1a hash: a stable jitter per (schedule, slot), so a re-planned slot keeps its due time. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
