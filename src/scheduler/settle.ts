/**
 * The settle planner: takes note of schedule runs whose job reached a final state. It records the
 * outcome in the ledger and on the schedule (last outcome, duration, run lag), counts consecutive
 * failures and suspends the schedule at its bound, enqueues a drain run when a handler returned
 * `{ again: true }`, and releases a slot held by overlap `queue`. Runs are found in the store, so the
 * scheduler needs no connection to the worker that ran them.
 */
import type { DueSchedule, FinishedSlotRun, ScheduleWrites } from '../store/store.js';
import type { Schedule, ScheduleRunOutcome, ScheduleState } from '../schedule-types.js';
import {
  noWrites,
  placeRuns,
  releaseWaiting,
  slotRow,
  stateOf,
  type PlanOptions,
  type RunState,
} from './runs.js';

/** True when a handler's result asks for the next run at once (`{ again: true }`). */
export function asksAgain(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { again?: unknown }).again === true;
}

interface Entry {
  schedule: Schedule;
  state: ScheduleState;
  runs: RunState;
}

function outcomeOf(run: FinishedSlotRun): ScheduleRunOutcome {
  const state = run.job?.state;
  return state === 'completed' || state === 'failed' || state === 'cancelled' ? state : 'unknown';
}

function settleOne(entry: Entry, run: FinishedSlotRun, writes: ScheduleWrites, options: PlanOptions): void {
  const { schedule, state } = entry;
  const { job, slot } = run;
  const outcome = outcomeOf(run);
  const startedAt = job?.startedAt ?? null;
  const finishedAt = job?.finishedAt ?? options.now;
  const durationMs = startedAt === null ? null : finishedAt.getTime() - startedAt.getTime();
  const runLagMs = startedAt === null ? null : startedAt.getTime() - slot.slotAt.getTime();
  writes.slotUpdates.push({ ...slot, outcome, durationMs, runLagMs, finishedAt });

  state.lastOutcome = outcome;
  state.lastStartedAt = startedAt;
  state.lastFinishedAt = finishedAt;
  state.lastDurationMs = durationMs;
  state.lastRunLagMs = runLagMs;
  if (outcome === 'completed') state.consecutiveFailures = 0;
  if (outcome === 'failed') {
    state.consecutiveFailures += 1;
    state.lastError = job?.error ?? null;
    const bound = schedule.maxConsecutiveFailures;
    if (bound !== null && state.consecutiveFailures >= bound && state.suspendedAt === null) {
      state.suspendedAt = options.now;
      state.suspendedReason =
        `suspended after ${state.consecutiveFailures} consecutive failed runs` +
        (state.lastError === null ? '' : `; last error: ${state.lastError.message}`);
    }
  }

  const inService = !state.paused && state.suspendedAt === null;
  if (outcome === 'completed' && asksAgain(job?.result) && inService) {
    const seq = slot.drainSeq + 1;
    const base = slot.slotKey.split('#')[0] ?? slot.slotKey;
    const drain = { slotKey: `${base}#${seq}`, slotAt: slot.slotAt, kind: 'drain' as const, drainSeq: seq };
    if (seq > schedule.maxDrainRuns) {
      writes.slots.push(
        slotRow(
          schedule.id,
          drain,
          'skipped',
          `drain limit: ${schedule.maxDrainRuns} extra runs per slot`,
          options.now,
        ),
      );
    } else {
      placeRuns(schedule, state, [drain], entry.runs, writes, options);
    }
  }
  releaseWaiting(schedule, state, entry.runs, writes, options);
}

/** Plans the settling of finished runs, oldest finish first so failure counts follow run order. */
export function planSettle(
  input: { runs: FinishedSlotRun[]; schedules: DueSchedule[] },
  options: PlanOptions,
): ScheduleWrites {
  const writes = noWrites();
  const entries = new Map<string, Entry>();
  for (const due of input.schedules) {
    entries.set(due.schedule.id, {
      schedule: due.schedule,
      state: stateOf(due.schedule),
      runs: { active: due.activeJobId, waiting: due.waitingSlot },
    });
  }
  const ordered = [...input.runs].sort(
    (a, b) => (a.job?.finishedAt?.getTime() ?? 0) - (b.job?.finishedAt?.getTime() ?? 0),
  );
  for (const run of ordered) {
    const entry = entries.get(run.slot.scheduleId);
    if (entry !== undefined) settleOne(entry, run, writes, options);
  }
  for (const [id, entry] of entries) {
    writes.states.push({ id, expectVersion: entry.schedule.version, state: entry.state });
  }
  return writes;
}
