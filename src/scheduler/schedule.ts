/** Rules of the schedule model (schedule-types.ts): a new schedule's state, its condition, its slots' job keys. */
import type { ScheduleCondition, ScheduleState } from '../schedule-types.js';

/** The state of a schedule that has never run: no slot taken, no outcome, no failure. */
export function initialScheduleState(nextSlotAt: Date | null, paused: boolean): ScheduleState {
  return {
    paused,
    nextSlotAt,
    lastSlotAt: null,
    lastJobId: null,
    lastOutcome: null,
    lastStartedAt: null,
    lastFinishedAt: null,
    lastDurationMs: null,
    lastRunLagMs: null,
    consecutiveFailures: 0,
    lastError: null,
    suspendedAt: null,
    suspendedReason: null,
  };
}

/** A schedule's condition. */
export function scheduleCondition(s: ScheduleState): ScheduleCondition {
  return s.suspendedAt !== null ? 'suspended' : s.paused ? 'paused' : 'active';
}

/** The idempotency key of a slot's job: a second enqueue of the same slot yields the same job. */
export function slotJobKey(scheduleId: string, slotKey: string): string {
  return `schedule:${scheduleId}:${slotKey}`;
}
