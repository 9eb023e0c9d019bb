/**
 * Rules of the schedule model (schedule-types.ts): a new schedule's state, its condition, its slots' job
 * keys, and the error for an id no schedule has.
 */
import { NightshiftError } from '../errors.js';
import type { ScheduleCondition, ScheduleState } from '../schedule-types.js';

/**
 * The error for an id no schedule has, one wording for the library, the CLI and REST, as jobs have
 * (`job ID not found`): the library and the CLI's `trigger` said `no schedule "ID"` where `show` said
 * `schedule ID not found`.
 */
export function scheduleNotFound(id: string): NightshiftError {
  return new NightshiftError('not_found', `schedule ${id} not found`);
}

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
