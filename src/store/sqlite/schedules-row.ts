/** Converting between SQLite rows and the schedule model (INTEGER ms, TEXT JSON, INTEGER 0/1). */
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

/** A `schedules` row, plus the active job the select computes. */
export interface ScheduleRow {
  id: string;
  task: string;
  cron: string | null;
  every_ms: number | null;
  timezone: string;
  payload: string;
  queue: string | null;
  priority: number | null;
  jitter_ms: number;
  overlap: OverlapPolicy;
  catch_up: CatchUpPolicy;
  catch_up_limit: number;
  max_consecutive_failures: number | null;
  max_drain_runs: number;
  source: ScheduleSource;
  paused: number;
  next_slot_at: number | null;
  last_slot_at: number | null;
  last_job_id: string | null;
  last_outcome: ScheduleRunOutcome | null;
  last_started_at: number | null;
  last_finished_at: number | null;
  last_duration_ms: number | null;
  last_run_lag_ms: number | null;
  consecutive_failures: number;
  last_error: string | null;
  suspended_at: number | null;
  suspended_reason: string | null;
  version: number;
  created_at: number;
  updated_at: number;
  active_job_id: string | null;
  settle_pending: number;
  waiting_slot_key: string | null;
}

/** A `schedule_slots` row. */
export interface SlotRow {
  schedule_id: string;
  slot_key: string;
  slot_at: number;
  kind: SlotKind;
  status: SlotStatus;
  reason: string | null;
  job_id: string | null;
  slot_count: number | null;
  slot_until: number | null;
  drain_seq: number;
  recorded_at: number;
  outcome: ScheduleRunOutcome | null;
  duration_ms: number | null;
  run_lag_ms: number | null;
  finished_at: number | null;
}

function date(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

function ms(value: Date | null): number | null {
  return value === null ? null : value.getTime();
}

/** The schedule a row holds. */
export function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    task: row.task,
    cron: row.cron,
    everyMs: row.every_ms,
    timezone: row.timezone,
    payload: JSON.parse(row.payload) as unknown,
    queue: row.queue,
    priority: row.priority,
    jitterMs: row.jitter_ms,
    overlap: row.overlap,
    catchUp: row.catch_up,
    catchUpLimit: row.catch_up_limit,
    maxConsecutiveFailures: row.max_consecutive_failures,
    maxDrainRuns: row.max_drain_runs,
    source: row.source,
    paused: row.paused !== 0,
    nextSlotAt: date(row.next_slot_at),
    lastSlotAt: date(row.last_slot_at),
    lastJobId: row.last_job_id,
    lastOutcome: row.last_outcome,
    lastStartedAt: date(row.last_started_at),
    lastFinishedAt: date(row.last_finished_at),
    lastDurationMs: row.last_duration_ms,
    lastRunLagMs: row.last_run_lag_ms,
    consecutiveFailures: row.consecutive_failures,
    lastError: row.last_error === null ? null : (JSON.parse(row.last_error) as JobError),
    suspendedAt: date(row.suspended_at),
    suspendedReason: row.suspended_reason,
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** Named parameters of a definition. */
export function definitionParams(d: ScheduleDefinition): Record<string, unknown> {
  return {
    id: d.id,
    task: d.task,
    cron: d.cron,
    everyMs: d.everyMs,
    timezone: d.timezone,
    payload: JSON.stringify(d.payload ?? null),
    queue: d.queue,
    priority: d.priority,
    jitterMs: d.jitterMs,
    overlap: d.overlap,
    catchUp: d.catchUp,
    catchUpLimit: d.catchUpLimit,
    maxConsecutiveFailures: d.maxConsecutiveFailures,
    maxDrainRuns: d.maxDrainRuns,
    source: d.source,
  };
}

/** Named parameters of scheduler state. */
export function stateParams(s: ScheduleState): Record<string, unknown> {
  return {
    paused: s.paused ? 1 : 0,
    nextSlotAt: ms(s.nextSlotAt),
    lastSlotAt: ms(s.lastSlotAt),
    lastJobId: s.lastJobId,
    lastOutcome: s.lastOutcome,
    lastStartedAt: ms(s.lastStartedAt),
    lastFinishedAt: ms(s.lastFinishedAt),
    lastDurationMs: s.lastDurationMs,
    lastRunLagMs: s.lastRunLagMs,
    consecutiveFailures: s.consecutiveFailures,
    lastError: s.lastError === null ? null : JSON.stringify(s.lastError),
    suspendedAt: ms(s.suspendedAt),
    suspendedReason: s.suspendedReason,
  };
}

/** The ledger record a row holds. */
export function toSlot(row: SlotRow): SlotRecord {
  return {
    scheduleId: row.schedule_id,
    slotKey: row.slot_key,
    slotAt: new Date(row.slot_at),
    kind: row.kind,
    status: row.status,
    reason: row.reason,
    jobId: row.job_id,
    slotCount: row.slot_count,
    slotUntil: date(row.slot_until),
    drainSeq: row.drain_seq,
    recordedAt: new Date(row.recorded_at),
    outcome: row.outcome,
    durationMs: row.duration_ms,
    runLagMs: row.run_lag_ms,
    finishedAt: date(row.finished_at),
  };
}

/** Named parameters of a ledger record. */
export function slotParams(s: SlotRecord): Record<string, unknown> {
  return {
    scheduleId: s.scheduleId,
    slotKey: s.slotKey,
    slotAt: s.slotAt.getTime(),
    kind: s.kind,
    status: s.status,
    reason: s.reason,
    jobId: s.jobId,
    slotCount: s.slotCount,
    slotUntil: ms(s.slotUntil),
    drainSeq: s.drainSeq,
    recordedAt: s.recordedAt.getTime(),
    outcome: s.outcome,
    durationMs: s.durationMs,
    runLagMs: s.runLagMs,
    finishedAt: ms(s.finishedAt),
  };
}
