/**
 * Planners for operator actions on one schedule: trigger now, pause, resume. Each runs inside the
 * store transaction that locked the schedule, like the scheduler's own planners.
 */
import { v7 as uuidv7 } from 'uuid';
import type { DueSchedule, ScheduleWrites } from '../store/store.js';
import type { SlotStatus } from '../schedule-types.js';
import { noWrites, placeRuns, slotRow, stateOf, type PlanOptions } from './runs.js';
import { slotSeries } from './slots.js';

/** What a trigger did: the job it enqueued, or why it held or skipped the run. */
export type TriggerOutcome =
  | { status: 'enqueued'; jobId: string }
  | { status: Exclude<SlotStatus, 'enqueued' | 'missed'>; reason: string };

/** Runs a schedule now, outside its slots, under its overlap policy (a paused schedule still runs). */
export function planTrigger(due: DueSchedule, options: PlanOptions): ScheduleWrites {
  const writes = noWrites();
  const state = stateOf(due.schedule);
  // Each trigger is its own ledger row; a UUIDv7 key keeps concurrent triggers from colliding.
  const run = { slotKey: `trigger:${uuidv7()}`, slotAt: options.now, kind: 'trigger' as const, drainSeq: 0 };
  placeRuns(
    due.schedule,
    state,
    [run],
    { active: due.activeJobId, waiting: due.waitingSlot },
    writes,
    options,
  );
  writes.states.push({ id: due.schedule.id, expectVersion: due.schedule.version, state });
  return writes;
}

/** Reads a trigger's outcome back from its writes. */
export function triggerOutcome(writes: ScheduleWrites): TriggerOutcome {
  const row = writes.slots[0];
  if (row === undefined) throw new Error('trigger planned no ledger row');
  if (row.status === 'enqueued' && row.jobId !== null) return { status: 'enqueued', jobId: row.jobId };
  return { status: row.status === 'waiting' ? 'waiting' : 'skipped', reason: row.reason ?? '' };
}

/** Pauses: schedulers stop taking the schedule's slots until it is resumed. */
export function planPause(due: DueSchedule): ScheduleWrites {
  const writes = noWrites();
  const state = stateOf(due.schedule);
  state.paused = true;
  writes.states.push({ id: due.schedule.id, expectVersion: due.schedule.version, state });
  return writes;
}

// Counting the slots of a long pause is bounded: past this many cron slots the range row says "uncounted".
const COUNT_CAP = 10_000;

/**
 * Resumes a paused or suspended schedule: clears the suspension and the failure count and starts at the
 * first slot from now. The slots that fell while it was paused or suspended are recorded as one
 * `skipped` range row, so they are accounted for without being run.
 */
export function planResume(due: DueSchedule, options: PlanOptions): ScheduleWrites {
  const writes = noWrites();
  const { schedule } = due;
  const state = stateOf(schedule);
  const series = slotSeries(schedule);
  const from = schedule.nextSlotAt;
  const next = series.atOrAfter(options.now);
  if (from !== null && from < options.now) {
    const why = schedule.suspendedAt !== null ? 'suspended' : 'paused';
    let count = 0;
    for (let t: Date | null = from; t !== null && t < options.now && count <= COUNT_CAP; t = series.after(t))
      count++;
    const row = slotRow(
      schedule.id,
      { slotKey: `${why}:${from.toISOString()}`, slotAt: from, kind: 'slot', drainSeq: 0 },
      'skipped',
      `not run: schedule was ${why}`,
      options.now,
    );
    row.slotUntil = options.now;
    row.slotCount = count > COUNT_CAP ? null : count;
    if (count > 0) writes.slots.push(row);
  }
  state.paused = false;
  state.suspendedAt = null;
  state.suspendedReason = null;
  state.consecutiveFailures = 0;
  state.nextSlotAt = next;
  writes.states.push({ id: schedule.id, expectVersion: schedule.version, state });
  return writes;
}
