/**
 * The job record, written once for both stores: a `jobs` row decoded into a `Job`. The row has the
 * same columns on both dialects; only the types its driver hands back differ (SQLite: INTEGER ms,
 * JSON text, 0/1; PostgreSQL: timestamptz as Date, parsed json, boolean), so each dialect supplies a
 * small column adapter and nothing else. A claim's and an enqueue's answers, which carry fewer
 * columns, fill the rest from what the claim or insert itself decided and decode through here too.
 */
import type { Job, JobError, JobState } from '../job.js';
import type { ClaimedJob, FinishedSlotRun, NewJob } from './store.js';

/** The driver types of one dialect's columns that need decoding. */
export interface JobColumnTypes {
  /** Timestamps. */
  time: unknown;
  /** Payload and result. */
  json: unknown;
  error: unknown;
  checkpoint: unknown;
  /** Booleans. */
  flag: unknown;
  /** A label list (a job's `requires`). */
  labels: unknown;
}

/** A `jobs` row as one dialect's driver returns it. NULL columns are null. */
export interface JobColumns<T extends JobColumnTypes> {
  id: string;
  task: string;
  queue: string;
  payload: T['json'] | null;
  state: JobState;
  priority: number;
  attempt: number;
  max_attempts: number;
  run_at: T['time'];
  created_at: T['time'];
  updated_at: T['time'];
  started_at: T['time'] | null;
  finished_at: T['time'] | null;
  lease_expires_at: T['time'] | null;
  lease_token: string | null;
  worker_id: string | null;
  result: T['json'] | null;
  error: T['error'] | null;
  idempotency_key: string | null;
  concurrency_key: string | null;
  requires: T['labels'] | null;
  group_key: string | null;
  lease_ms: number | null;
  timeout_ms: number | null;
  checkpoint: T['checkpoint'] | null;
  cancel_requested: T['flag'];
  schedule_id: string | null;
  schedule_slot: T['time'] | null;
  parent_id: string | null;
  trace_context: string | null;
  /**
   * Selected by the reads that show a job (a get, a list, a repeated idempotency key's answer; the SQL
   * of `dueColumn` in each dialect's job-read.ts): true when the row is `scheduled` and its time has
   * come by the store's clock. Such a job reads `queued` (README "Job states") while its row waits for
   * a claim to promote it. Absent where the writer decided the state itself (a claim, an insert).
   */
  due?: T['flag'];
}

/** How one dialect decodes its non-NULL column values. */
export interface JobColumnAdapter<T extends JobColumnTypes> {
  time(value: T['time']): Date;
  json(value: T['json']): unknown;
  error(value: T['error']): JobError;
  /** A saved checkpoint; a NULL column (never saved) is undefined without asking the adapter. */
  checkpoint(value: T['checkpoint']): unknown;
  flag(value: T['flag']): boolean;
  /** A label list; a NULL column (none required) is an empty list without asking the adapter. */
  labels(value: T['labels']): string[];
}

/** What an insert decided or encoded for a new job's row, in one dialect's types. */
export interface InsertedJobValues<T extends JobColumnTypes> {
  id: string;
  state: JobState;
  payload: T['json'] | null;
  runAt: T['time'];
  createdAt: T['time'];
  requires: T['labels'] | null;
  scheduleSlot: T['time'] | null;
  /** The dialect's false, for `cancel_requested`. */
  notCancelled: T['flag'];
}

/**
 * A new job's row as its insert wrote it, without reading it back: the caller's `NewJob` and what the
 * insert decided or encoded (`values`); every column no insert sets is NULL.
 */
export function insertedJobColumns<T extends JobColumnTypes>(
  job: NewJob,
  values: InsertedJobValues<T>,
): JobColumns<T> {
  return {
    id: values.id,
    task: job.task,
    queue: job.queue,
    payload: values.payload,
    state: values.state,
    priority: job.priority,
    attempt: 0,
    max_attempts: job.maxAttempts,
    run_at: values.runAt,
    created_at: values.createdAt,
    updated_at: values.createdAt,
    started_at: null,
    finished_at: null,
    lease_expires_at: null,
    lease_token: null,
    worker_id: null,
    result: null,
    error: null,
    idempotency_key: job.idempotencyKey,
    concurrency_key: job.concurrencyKey,
    requires: values.requires,
    group_key: job.group,
    lease_ms: job.leaseMs,
    timeout_ms: job.timeoutMs,
    checkpoint: null,
    cancel_requested: values.notCancelled,
    schedule_id: job.scheduleId,
    schedule_slot: values.scheduleSlot,
    parent_id: job.parentId,
    trace_context: job.traceContext ?? null,
  };
}

/** The job a row holds. */
export function decodeJob<T extends JobColumnTypes>(row: JobColumns<T>, columns: JobColumnAdapter<T>): Job {
  return {
    id: row.id,
    task: row.task,
    queue: row.queue,
    payload: row.payload === null ? null : columns.json(row.payload),
    state: row.due !== undefined && columns.flag(row.due) ? 'queued' : row.state,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    runAt: columns.time(row.run_at),
    createdAt: columns.time(row.created_at),
    updatedAt: columns.time(row.updated_at),
    startedAt: row.started_at === null ? null : columns.time(row.started_at),
    finishedAt: row.finished_at === null ? null : columns.time(row.finished_at),
    leaseExpiresAt: row.lease_expires_at === null ? null : columns.time(row.lease_expires_at),
    workerId: row.worker_id,
    result: row.result === null ? null : columns.json(row.result),
    error: row.error === null ? null : columns.error(row.error),
    idempotencyKey: row.idempotency_key,
    concurrencyKey: row.concurrency_key,
    requires: row.requires === null ? [] : columns.labels(row.requires),
    group: row.group_key,
    leaseMs: row.lease_ms,
    timeoutMs: row.timeout_ms,
    checkpoint: row.checkpoint === null ? undefined : columns.checkpoint(row.checkpoint),
    cancelRequested: columns.flag(row.cancel_requested),
    scheduleId: row.schedule_id,
    scheduleSlot: row.schedule_slot === null ? null : columns.time(row.schedule_slot),
    parentId: row.parent_id,
  };
}

/** The claimed job a running row holds: the job, its attempt's lease token and its trace context. */
export function decodeClaimedJob<T extends JobColumnTypes>(
  row: JobColumns<T> & { lease_token: string },
  columns: JobColumnAdapter<T>,
): ClaimedJob {
  return Object.assign(decodeJob(row, columns), {
    leaseToken: row.lease_token,
    traceContext: row.trace_context,
  });
}

/** The columns of a slot's job that a settle pass reads beside the ledger row (prefixed `j_`). */
export interface SettledJobColumns<T extends JobColumnTypes> {
  j_id: string | null;
  j_state: 'completed' | 'failed' | 'cancelled' | null;
  j_result: T['json'] | null;
  j_error: T['error'] | null;
  j_started_at: T['time'] | null;
  j_finished_at: T['time'] | null;
}

/** The final job of a slot's run, or null when the job is gone. */
export function decodeSettledJob<T extends JobColumnTypes>(
  row: SettledJobColumns<T>,
  columns: JobColumnAdapter<T>,
): FinishedSlotRun['job'] {
  if (row.j_id === null || row.j_state === null) return null;
  return {
    id: row.j_id,
    state: row.j_state,
    result: row.j_result === null ? null : columns.json(row.j_result),
    error: row.j_error === null ? null : columns.error(row.j_error),
    startedAt: row.j_started_at === null ? null : columns.time(row.j_started_at),
    finishedAt: row.j_finished_at === null ? null : columns.time(row.j_finished_at),
  };
}
