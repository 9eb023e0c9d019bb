/**
 * Schedule and slot-ledger records, written once for both stores: `schedules` and `schedule_slots` rows
 * decoded into the scheduler's model, and the model encoded into column values. The columns are the
 * same on both dialects; only their driver types differ (SQLite: INTEGER ms, JSON text, 0/1;
 * PostgreSQL: timestamptz as Date, parsed json, boolean, bigint as text), so each dialect supplies a
 * small column adapter. Encoded columns keep the order of their keys, which PostgreSQL's positional
 * statements follow.
 */
import type { JobError } from '../job.js';
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
} from '../schedule-types.js';

/** The driver types of one dialect's schedule columns that need converting. */
export interface ScheduleColumnTypes {
  time: unknown;
  /** The payload. */
  json: unknown;
  error: unknown;
  flag: unknown;
  /** Durations and counts stored as bigint. */
  count: unknown;
}

/** A `schedules` row as one dialect's driver returns it, plus the active job its select computes. */
export interface ScheduleColumns<T extends ScheduleColumnTypes> {
  id: string;
  task: string;
  cron: string | null;
  every_ms: T['count'] | null;
  timezone: string;
  payload: T['json'];
  queue: string | null;
  priority: number | null;
  jitter_ms: number;
  overlap: OverlapPolicy;
  catch_up: CatchUpPolicy;
  catch_up_limit: number;
  max_consecutive_failures: number | null;
  max_drain_runs: number;
  source: ScheduleSource;
  paused: T['flag'];
  next_slot_at: T['time'] | null;
  last_slot_at: T['time'] | null;
  last_job_id: string | null;
  last_outcome: ScheduleRunOutcome | null;
  last_started_at: T['time'] | null;
  last_finished_at: T['time'] | null;
  last_duration_ms: T['count'] | null;
  last_run_lag_ms: T['count'] | null;
  consecutive_failures: number;
  last_error: T['error'] | null;
  suspended_at: T['time'] | null;
  suspended_reason: string | null;
  version: number;
  created_at: T['time'];
  updated_at: T['time'];
  active_job_id: string | null;
  settle_pending: T['flag'];
  waiting_slot_key: string | null;
}

/** A `schedule_slots` row as one dialect's driver returns it. */
export interface SlotColumns<T extends ScheduleColumnTypes> {
  schedule_id: string;
  slot_key: string;
  slot_at: T['time'];
  kind: SlotKind;
  status: SlotStatus;
  reason: string | null;
  job_id: string | null;
  slot_count: T['count'] | null;
  slot_until: T['time'] | null;
  drain_seq: number;
  recorded_at: T['time'];
  outcome: ScheduleRunOutcome | null;
  duration_ms: T['count'] | null;
  run_lag_ms: T['count'] | null;
  finished_at: T['time'] | null;
}

/** How one dialect converts its non-NULL column values, both ways. */
export interface ScheduleColumnAdapter<T extends ScheduleColumnTypes> {
  time(value: T['time']): Date;
  json(value: T['json']): unknown;
  error(value: T['error']): JobError;
  flag(value: T['flag']): boolean;
  count(value: T['count']): number;
  /** A time as the dialect's statements take it. */
  timeParam(value: Date): unknown;
  /** A flag as the dialect's statements take it. */
  flagParam(value: boolean): unknown;
}

/** The schedule a row holds. */
export function decodeSchedule<T extends ScheduleColumnTypes>(
  row: ScheduleColumns<T>,
  columns: ScheduleColumnAdapter<T>,
): Schedule {
  const time = (value: T['time'] | null): Date | null => (value === null ? null : columns.time(value));
  const count = (value: T['count'] | null): number | null => (value === null ? null : columns.count(value));
  return {
    id: row.id,
    task: row.task,
    cron: row.cron,
    everyMs: count(row.every_ms),
    timezone: row.timezone,
    payload: columns.json(row.payload),
    queue: row.queue,
    priority: row.priority,
    jitterMs: row.jitter_ms,
    overlap: row.overlap,
    catchUp: row.catch_up,
    catchUpLimit: row.catch_up_limit,
    maxConsecutiveFailures: row.max_consecutive_failures,
    maxDrainRuns: row.max_drain_runs,
    source: row.source,
    paused: columns.flag(row.paused),
    nextSlotAt: time(row.next_slot_at),
    lastSlotAt: time(row.last_slot_at),
    lastJobId: row.last_job_id,
    lastOutcome: row.last_outcome,
    lastStartedAt: time(row.last_started_at),
    lastFinishedAt: time(row.last_finished_at),
    lastDurationMs: count(row.last_duration_ms),
    lastRunLagMs: count(row.last_run_lag_ms),
    consecutiveFailures: row.consecutive_failures,
    lastError: row.last_error === null ? null : columns.error(row.last_error),
    suspendedAt: time(row.suspended_at),
    suspendedReason: row.suspended_reason,
    version: row.version,
    createdAt: columns.time(row.created_at),
    updatedAt: columns.time(row.updated_at),
  };
}

/** The ledger record a row holds. */
export function decodeSlot<T extends ScheduleColumnTypes>(
  row: SlotColumns<T>,
  columns: ScheduleColumnAdapter<T>,
): SlotRecord {
  const count = (value: T['count'] | null): number | null => (value === null ? null : columns.count(value));
  return {
    scheduleId: row.schedule_id,
    slotKey: row.slot_key,
    slotAt: columns.time(row.slot_at),
    kind: row.kind,
    status: row.status,
    reason: row.reason,
    jobId: row.job_id,
    slotCount: count(row.slot_count),
    slotUntil: row.slot_until === null ? null : columns.time(row.slot_until),
    drainSeq: row.drain_seq,
    recordedAt: columns.time(row.recorded_at),
    outcome: row.outcome,
    durationMs: count(row.duration_ms),
    runLagMs: count(row.run_lag_ms),
    finishedAt: row.finished_at === null ? null : columns.time(row.finished_at),
  };
}

/** The column values of a definition, in statement order; the payload as JSON text on both dialects. */
export function definitionColumns(d: ScheduleDefinition): Record<string, unknown> {
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

/** The column values of scheduler state, in statement order. */
export function stateColumns<T extends ScheduleColumnTypes>(
  s: ScheduleState,
  columns: ScheduleColumnAdapter<T>,
): Record<string, unknown> {
  const time = (value: Date | null): unknown => (value === null ? null : columns.timeParam(value));
  return {
    paused: columns.flagParam(s.paused),
    nextSlotAt: time(s.nextSlotAt),
    lastSlotAt: time(s.lastSlotAt),
    lastJobId: s.lastJobId,
    lastOutcome: s.lastOutcome,
    lastStartedAt: time(s.lastStartedAt),
    lastFinishedAt: time(s.lastFinishedAt),
    lastDurationMs: s.lastDurationMs,
    lastRunLagMs: s.lastRunLagMs,
    consecutiveFailures: s.consecutiveFailures,
    lastError: s.lastError === null ? null : JSON.stringify(s.lastError),
    suspendedAt: time(s.suspendedAt),
    suspendedReason: s.suspendedReason,
  };
}

/** The column values of a ledger record, in statement order. */
export function slotColumns<T extends ScheduleColumnTypes>(
  s: SlotRecord,
  columns: ScheduleColumnAdapter<T>,
): Record<string, unknown> {
  const time = (value: Date | null): unknown => (value === null ? null : columns.timeParam(value));
  return {
    scheduleId: s.scheduleId,
    slotKey: s.slotKey,
    slotAt: columns.timeParam(s.slotAt),
    kind: s.kind,
    status: s.status,
    reason: s.reason,
    jobId: s.jobId,
    slotCount: s.slotCount,
    slotUntil: time(s.slotUntil),
    drainSeq: s.drainSeq,
    recordedAt: columns.timeParam(s.recordedAt),
    outcome: s.outcome,
    durationMs: s.durationMs,
    runLagMs: s.runLagMs,
    finishedAt: time(s.finishedAt),
  };
}
