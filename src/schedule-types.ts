/**
 * The schedule model: a recurring schedule is data (a row), made of a definition written by config or
 * the API, and state written by schedulers (next slot, last run, failures). The slot ledger records
 * what happened to every slot, so no slot is ever lost without a recorded reason.
 *
 * Types only (and the value lists they derive from), outside scheduler/ so the store that keeps these
 * rows does not import the scheduler that writes them.
 */
import type { JobError } from './job.js';

/** What happens to a slot while an earlier run of the same schedule is still active. */
export const OVERLAP_POLICIES = ['skip', 'queue', 'allow'] as const;

/** `skip` records the slot as skipped; `queue` holds it until the active run ends; `allow` runs it. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** What happens to slots missed while no scheduler ran. */
export const CATCH_UP_POLICIES = ['skip', 'latest', 'all'] as const;

/** `skip` runs none, `latest` runs one for all of them, `all` runs each (up to `catchUpLimit`). */
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];

/** Where a schedule was declared: config schedules are synced at scheduler start, api ones are kept. */
export type ScheduleSource = 'config' | 'api';

/** A schedule as config or an API caller writes it. */
export interface ScheduleInput {
  id: string;
  task: string;
  /** Five fields, or six with seconds first. Exactly one of `cron` and `everyMs`. */
  cron?: string;
  /** Fixed interval; slots fall on multiples of it since the Unix epoch (60000 = every minute on the minute). */
  everyMs?: number;
  /** IANA time zone for `cron`. Default UTC. */
  timezone?: string;
  payload?: unknown;
  /** Default: the task's queue. */
  queue?: string;
  /** Default: the task's priority. */
  priority?: number;
  /** Each slot's job is due up to this many ms after the slot (a fixed offset per schedule and slot). */
  jitterMs?: number;
  /** Default `skip`. */
  overlap?: OverlapPolicy;
  /** Default `latest`. */
  catchUp?: CatchUpPolicy;
  /** Most missed slots `catchUp: 'all'` runs after one outage. Default 10. */
  catchUpLimit?: number;
  /** Suspend after this many consecutive failed runs, until an operator resumes. Default: never. */
  maxConsecutiveFailures?: number;
  /** Most extra runs per slot a handler can ask for with `{ again: true }`. Default 10. */
  maxDrainRuns?: number;
  /** Created paused. Only applies when the schedule is created; later pauses belong to operators. */
  paused?: boolean;
}

/**
 * The optional fields a schedule keeps empty (null) unless given, each with a meaning when empty:
 * `queue` the task's queue, `priority` the task's priority, `maxConsecutiveFailures` never suspend.
 * A change may empty them again with `null`.
 */
export const CLEARABLE_SCHEDULE_FIELDS = ['queue', 'priority', 'maxConsecutiveFailures'] as const;

/** A field `schedules.update` empties when given `null`. */
export type ClearableScheduleField = (typeof CLEARABLE_SCHEDULE_FIELDS)[number];

/**
 * What `schedules.update` changes, as a JSON merge patch does: a field left out, or given `undefined`,
 * keeps its value; `null` empties a clearable field (`queue`, `priority`, `maxConsecutiveFailures`).
 * The id names the schedule and pausing is an operator's action, so neither is a change.
 */
export type ScheduleChanges = {
  [K in Exclude<keyof ScheduleInput, 'id' | 'paused'>]?:
    ScheduleInput[K] | (K extends ClearableScheduleField ? null : never) | undefined;
};

/** A validated schedule definition, every default filled in. */
export interface ScheduleDefinition {
  id: string;
  task: string;
  cron: string | null;
  everyMs: number | null;
  timezone: string;
  payload: unknown;
  queue: string | null;
  priority: number | null;
  jitterMs: number;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  catchUpLimit: number;
  maxConsecutiveFailures: number | null;
  maxDrainRuns: number;
  source: ScheduleSource;
}

/** How a schedule's last finished run ended; `unknown` when its job was deleted before it was seen. */
export type ScheduleRunOutcome = 'completed' | 'failed' | 'cancelled' | 'unknown';

/** State written by schedulers and operators (pause, resume), never by config sync. */
export interface ScheduleState {
  paused: boolean;
  /** The next slot to process; schedulers compare-and-set it (through `version`) as they advance. */
  nextSlotAt: Date | null;
  lastSlotAt: Date | null;
  lastJobId: string | null;
  lastOutcome: ScheduleRunOutcome | null;
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  lastDurationMs: number | null;
  /** Start of the last finished run minus its slot time. */
  lastRunLagMs: number | null;
  consecutiveFailures: number;
  lastError: JobError | null;
  suspendedAt: Date | null;
  suspendedReason: string | null;
}

/** A schedule as the store keeps it. */
export interface Schedule extends ScheduleDefinition, ScheduleState {
  /** Bumped by every write; the compare-and-set token of scheduler writes. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Whether a schedule runs, as operators filter and read it. */
export const SCHEDULE_CONDITIONS = ['active', 'paused', 'suspended'] as const;

/**
 * `suspended`: stopped after too many consecutive failures (paused or not) until resumed; `paused`:
 * paused by an operator, not suspended; `active`: neither, its slots run.
 */
export type ScheduleCondition = (typeof SCHEDULE_CONDITIONS)[number];

/** Why a ledger row exists: a regular slot, a missed slot run late, a drain run, or a manual trigger. */
export type SlotKind = 'slot' | 'catch_up' | 'drain' | 'trigger';

/**
 * What happened to a slot. `waiting` rows are held behind the schedule's active run and enqueued one at
 * a time, oldest first, as runs finish (overlap `queue`, and catch-up runs chained behind each other).
 */
export type SlotStatus = 'enqueued' | 'skipped' | 'missed' | 'waiting';

/** One row of the slot ledger; (scheduleId, slotKey) is unique, and so is the job it enqueued. */
export interface SlotRecord {
  scheduleId: string;
  /** ISO slot time for regular slots; `<iso>#<n>` for drain runs; `trigger:<job id>`; `paused:<iso>`. */
  slotKey: string;
  slotAt: Date;
  kind: SlotKind;
  status: SlotStatus;
  reason: string | null;
  jobId: string | null;
  /**
   * Slots this row stands for: 1, or more for a range of missed or paused slots ending at `slotUntil`;
   * null when the range was too long to count (more than 10,000 cron slots).
   */
  slotCount: number | null;
  slotUntil: Date | null;
  /** 0 for the slot's own run, n for its n-th drain run. */
  drainSeq: number;
  recordedAt: Date;
  /** Set once the enqueued job reached a final state and the scheduler took note of it. */
  outcome: ScheduleRunOutcome | null;
  durationMs: number | null;
  runLagMs: number | null;
  finishedAt: Date | null;
}
