/** Converting between PostgreSQL rows and the schedule model; bigint columns arrive as strings. */
import type { JobError } from '../../job.js';
import type {
  CatchUpPolicy,
  OverlapPolicy,
  Schedule,
  ScheduleDefinition,
  ScheduleRunOutcome,
  ScheduleSource,
  ScheduleState,
  SlotKind,
  SlotRecord,
  SlotStatus,
} from '../../schedule-types.js';

type BigintText = string | number;

/** A `schedules` row, plus the active job the select computes. */
export interface ScheduleRow {
  id: string;
  task: string;
  cron: string | null;
  every_ms: BigintText | null;
  timezone: string;
  payload: unknown;
  queue: string | null;
  priority: number | null;
  jitter_ms: number;
  overlap: OverlapPolicy;
  catch_up: CatchUpPolicy;
  catch_up_limit: number;
  max_consecutive_failures: number | null;
  max_drain_runs: number;
  source: ScheduleSource;
  paused: boolean;
  next_slot_at: Date | null;
  last_slot_at: Date | null;
  last_job_id: string | null;
  last_outcome: ScheduleRunOutcome | null;
  last_started_at: Date | null;
  last_finished_at: Date | null;
  last_duration_ms: BigintText | null;
  last_run_lag_ms: BigintText | null;
  consecutive_failures: number;
  last_error: JobError | null;
  suspended_at: Date | null;
  suspended_reason: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  active_job_id: string | null;
  settle_pending: boolean;
  waiting_slot_key: string | null;
}

/** A `schedule_slots` row. */
export interface SlotRow {
  schedule_id: string;
  slot_key: string;
  slot_at: Date;
  kind: SlotKind;
  status: SlotStatus;
  reason: string | null;
  job_id: string | null;
  slot_count: BigintText | null;
  slot_until: Date | null;
  drain_seq: number;
  recorded_at: Date;
  outcome: ScheduleRunOutcome | null;
  duration_ms: BigintText | null;
  run_lag_ms: BigintText | null;
  finished_at: Date | null;
}

function num(value: BigintText | null): number | null {
  return value === null ? null : Number(value);
}

/** The schedule a row holds. */
export function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    task: row.task,
    cron: row.cron,
    everyMs: num(row.every_ms),
    timezone: row.timezone,
    payload: row.payload,
    queue: row.queue,
    priority: row.priority,
    jitterMs: row.jitter_ms,
    overlap: row.overlap,
    catchUp: row.catch_up,
    catchUpLimit: row.catch_up_limit,
    maxConsecutiveFailures: row.max_consecutive_failures,
    maxDrainRuns: row.max_drain_runs,
    source: row.source,
    paused: row.paused,
    nextSlotAt: row.next_slot_at,
    lastSlotAt: row.last_slot_at,
    lastJobId: row.last_job_id,
    lastOutcome: row.last_outcome,
    lastStartedAt: row.last_started_at,
    lastFinishedAt: row.last_finished_at,
    lastDurationMs: num(row.last_duration_ms),
    lastRunLagMs: num(row.last_run_lag_ms),
    consecutiveFailures: row.consecutive_failures,
    lastError: row.last_error,
    suspendedAt: row.suspended_at,
    suspendedReason: row.suspended_reason,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Positional parameters $1..$15 of a definition. */
export function definitionValues(d: ScheduleDefinition): unknown[] {
  return [
    d.id,
    d.task,
    d.cron,
    d.everyMs,
    d.timezone,
    JSON.stringify(d.payload ?? null),
    d.queue,
    d.priority,
    d.jitterMs,
    d.overlap,
    d.catchUp,
    d.catchUpLimit,
    d.maxConsecutiveFailures,
    d.maxDrainRuns,
    d.source,
  ];
}

/** Column arrays for the batch state write, in statement order after ids and versions. */
export function stateArrays(
  states: Array<{ id: string; expectVersion: number; state: ScheduleState }>,
): unknown[] {
  const col = <T>(f: (s: ScheduleState) => T): T[] => states.map((entry) => f(entry.state));
  return [
    states.map((entry) => entry.id),
    states.map((entry) => entry.expectVersion),
    col((s) => s.paused),
    col((s) => s.nextSlotAt),
    col((s) => s.lastSlotAt),
    col((s) => s.lastJobId),
    col((s) => s.lastOutcome),
    col((s) => s.lastStartedAt),
    col((s) => s.lastFinishedAt),
    col((s) => s.lastDurationMs),
    col((s) => s.lastRunLagMs),
    col((s) => s.consecutiveFailures),
    col((s) => (s.lastError === null ? null : JSON.stringify(s.lastError))),
    col((s) => s.suspendedAt),
    col((s) => s.suspendedReason),
  ];
}

/** The ledger record a row holds. */
export function toSlot(row: SlotRow): SlotRecord {
  return {
    scheduleId: row.schedule_id,
    slotKey: row.slot_key,
    slotAt: row.slot_at,
    kind: row.kind,
    status: row.status,
    reason: row.reason,
    jobId: row.job_id,
    slotCount: num(row.slot_count),
    slotUntil: row.slot_until,
    drainSeq: row.drain_seq,
    recordedAt: row.recorded_at,
    outcome: row.outcome,
    durationMs: num(row.duration_ms),
    runLagMs: num(row.run_lag_ms),
    finishedAt: row.finished_at,
  };
}

/** Column arrays of ledger records, in SLOT_COLUMNS order. */
export function slotArrays(slots: SlotRecord[]): unknown[] {
  const col = <T>(f: (s: SlotRecord) => T): T[] => slots.map(f);
  return [
    col((s) => s.scheduleId),
    col((s) => s.slotKey),
    col((s) => s.slotAt),
    col((s) => s.kind),
    col((s) => s.status),
    col((s) => s.reason),
    col((s) => s.jobId),
    col((s) => s.slotCount),
    col((s) => s.slotUntil),
    col((s) => s.drainSeq),
    col((s) => s.recordedAt),
    col((s) => s.outcome),
    col((s) => s.durationMs),
    col((s) => s.runLagMs),
    col((s) => s.finishedAt),
  ];
}
