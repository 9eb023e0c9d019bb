/**
 * The fire planner: given schedules whose next slot is due, decides per slot whether it runs on time,
 * runs late as catch-up, is recorded as missed, or is held/skipped by the overlap policy, and moves
 * each schedule's next slot past now. Pure: the store runs it inside the transaction that locked the rows.
 *
 * A slot is on time while it is at most `missedAfterMs` old when a scheduler first sees it (a slow tick
 * or a quick restart); older slots were missed (no scheduler ran) and go through catch-up:
 * - `skip`: none runs; each is recorded `missed`.
 * - `latest`: one run covers them: the on-time slot of this pass when there is one, else the latest
 *   missed slot runs as catch-up; the others are recorded `missed` naming the run that covered them.
 * - `all`: each runs once as catch-up, the latest `catchUpLimit` of them; older ones are recorded `missed`.
 * An outage longer than MISSED_CAP slots is recorded as one `missed` range row rather than a row per slot.
 */
import type { DueSchedule, ScheduleWrites } from '../store/store.js';
import type { Schedule, ScheduleState } from '../schedule-types.js';
import {
  noWrites,
  placeRuns,
  releaseWaiting,
  slotRow,
  stateOf,
  type PlanOptions,
  type SlotRun,
} from './runs.js';
import { slotSeries, slotsBetween, type SlotSeries } from './slots.js';

/** Most missed slots recorded one row each; a longer outage becomes one range row. */
export const MISSED_CAP = 1000;
/** Most on-time slots handled per schedule per pass; the rest wait for the next pass. */
const ON_TIME_CAP = 1000;

function regular(slotAt: Date, kind: SlotRun['kind']): SlotRun {
  return { slotKey: slotAt.toISOString(), slotAt, kind, drainSeq: 0 };
}

/** Catch-up for the missed region [from, lateBoundary]: returns the runs it owes, records the rest. */
function catchUp(
  schedule: Schedule,
  series: SlotSeries,
  from: Date,
  lateBoundary: Date,
  hasOnTimeSlot: boolean,
  writes: ScheduleWrites,
  now: Date,
): SlotRun[] {
  const { slots: missed, more } = slotsBetween(series, from, lateBoundary, MISSED_CAP);
  if (missed.length === 0) return [];
  const policy = schedule.catchUp;
  const keep = policy === 'all' ? schedule.catchUpLimit : policy === 'latest' && !hasOnTimeSlot ? 1 : 0;
  if (more) {
    const tail = series.before(new Date(lateBoundary.getTime() + 1), keep).filter((t) => t >= from);
    const row = slotRow(
      schedule.id,
      { ...regular(from, 'slot'), slotKey: `missed:${from.toISOString()}` },
      'missed',
      null,
      now,
    );
    row.slotUntil = lateBoundary;
    row.slotCount =
      schedule.everyMs === null
        ? null
        : Math.floor((lateBoundary.getTime() - from.getTime()) / schedule.everyMs) + 1;
    row.reason = `missed while no scheduler ran: more than ${MISSED_CAP} slots; ${tail.length} latest run as catch-up (catchUp ${policy})`;
    writes.slots.push(row);
    return tail.map((t) => regular(t, 'catch_up'));
  }
  const run = missed.slice(missed.length - keep);
  const latestRun = run[run.length - 1];
  const reason =
    policy === 'skip'
      ? 'missed while no scheduler ran (catchUp skip)'
      : policy === 'latest'
        ? latestRun === undefined
          ? 'missed while no scheduler ran; covered by this pass\u2019s on-time run (catchUp latest)'
          : `missed while no scheduler ran; covered by the catch-up run of ${latestRun.toISOString()} (catchUp latest)`
        : `missed while no scheduler ran; beyond catchUpLimit ${schedule.catchUpLimit} (catchUp all)`;
  for (const slotAt of missed.slice(0, missed.length - run.length)) {
    writes.slots.push(slotRow(schedule.id, regular(slotAt, 'slot'), 'missed', reason, now));
  }
  return run.map((t) => regular(t, 'catch_up'));
}

/**
 * Plans one pass over schedules due by `now + lookaheadMs`. Slots up to now are placed under the
 * overlap policy. Then the lookahead: the schedule's next slot, when it falls in the window, is
 * enqueued early as a job that becomes due exactly at its slot, but only when nothing of the schedule
 * is active, waiting, or finished and not yet settled (its outcome may ask for a drain run). An early
 * job is active from then on, so only one slot per schedule is ever written early: the slot after it
 * waits until the early run has finished, or for the pass that sees it due, where the overlap policy
 * meets a run that has really started or is really due. With overlap `allow` every slot in the window
 * is written early. Slots nearer than `earlyFromMs` are left to the pass woken for them (see
 * scheduler.ts), which enqueues them due at once and announces them to workers.
 */
export function planFire(due: DueSchedule[], options: PlanOptions): ScheduleWrites {
  const writes = noWrites();
  const { now } = options;
  const horizon = new Date(now.getTime() + (options.lookaheadMs ?? 0));
  const earlyFrom = new Date(now.getTime() + Math.max(1, options.earlyFromMs ?? 1));
  for (const { schedule, activeJobId, waitingSlot, settlePending } of due) {
    const state: ScheduleState = stateOf(schedule);
    const series = slotSeries(schedule);
    const from = schedule.nextSlotAt ?? series.atOrAfter(now);
    if (from === null) continue;
    const lateBoundary = new Date(now.getTime() - options.missedAfterMs);
    const onTimeFrom = from > lateBoundary ? from : new Date(lateBoundary.getTime() + 1);
    const onTime = slotsBetween(series, onTimeFrom, now, ON_TIME_CAP);
    const runs =
      from <= lateBoundary
        ? catchUp(schedule, series, from, lateBoundary, onTime.slots.length > 0, writes, now)
        : [];
    runs.push(...onTime.slots.map((t) => regular(t, 'slot')));
    const runState = { active: activeJobId, waiting: waitingSlot };
    releaseWaiting(schedule, state, runState, writes, options);
    placeRuns(schedule, state, runs, runState, writes, options);

    // The first slot not handled yet: never before `from`, so a slot planned by an earlier pass (an
    // early one) is never planned again.
    const lastOnTime = onTime.slots[onTime.slots.length - 1];
    let next =
      onTime.more && lastOnTime !== undefined
        ? series.after(lastOnTime)
        : from > now
          ? from
          : series.after(now);
    const idle = runState.active === null && runState.waiting === null && !settlePending;
    if (next !== null && !onTime.more && next <= horizon && next >= earlyFrom) {
      if (schedule.overlap === 'allow') {
        const early = slotsBetween(series, next, horizon, ON_TIME_CAP).slots.map((t) => regular(t, 'slot'));
        placeRuns(schedule, state, early, runState, writes, options);
        runs.push(...early);
        const lastEarly = early[early.length - 1];
        if (lastEarly !== undefined) next = series.after(lastEarly.slotAt);
      } else if (idle) {
        const early = regular(next, 'slot');
        placeRuns(schedule, state, [early], runState, writes, options);
        runs.push(early);
        next = series.after(next);
      }
    }
    state.nextSlotAt = next;
    const lastRun = runs[runs.length - 1];
    if (lastRun !== undefined) state.lastSlotAt = lastRun.slotAt;
    writes.states.push({ id: schedule.id, expectVersion: schedule.version, state });
  }
  return writes;
}
