/** Conversion between PostgreSQL rows and the store's job records. */
import type { Job, JobError, JobRun, JobState, RunOutcome } from '../../job.js';

/** A `jobs` row as node-postgres returns it (timestamptz as Date, json parsed, uuid as string). */
export interface JobRow {
  id: string;
  task: string;
  queue: string;
  payload: unknown;
  state: JobState;
  priority: number;
  attempt: number;
  max_attempts: number;
  run_at: Date;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  lease_expires_at: Date | null;
  lease_token: string | null;
  worker_id: string | null;
  result: unknown;
  error: JobError | null;
  idempotency_key: string | null;
  concurrency_key: string | null;
  lease_ms: number | null;
  timeout_ms: number | null;
  checkpoint: unknown;
  cancel_requested: boolean;
  schedule_id: string | null;
  schedule_slot: Date | null;
  parent_id: string | null;
}

/** A `job_runs` row. */
export interface JobRunRow {
  job_id: string;
  attempt: number;
  worker_id: string;
  started_at: Date;
  finished_at: Date;
  due_at: Date;
  outcome: RunOutcome;
  error: JobError | null;
  max_duration_exceeded: boolean;
}

/** The job record of a row. SQL NULL in `checkpoint` means "never saved" and maps to undefined. */
export function jobFromRow(row: JobRow): Job {
  return {
    id: row.id,
    task: row.task,
    queue: row.queue,
    payload: row.payload,
    state: row.state,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    leaseExpiresAt: row.lease_expires_at,
    workerId: row.worker_id,
    result: row.result ?? null,
    error: row.error,
    idempotencyKey: row.idempotency_key,
    concurrencyKey: row.concurrency_key,
    leaseMs: row.lease_ms,
    timeoutMs: row.timeout_ms,
    checkpoint: unbox(row.checkpoint),
    cancelRequested: row.cancel_requested,
    scheduleId: row.schedule_id,
    scheduleSlot: row.schedule_slot,
    parentId: row.parent_id,
  };
}

/** The run-history record of a row. */
export function runFromRow(row: JobRunRow): JobRun {
  return {
    jobId: row.job_id,
    attempt: row.attempt,
    workerId: row.worker_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.finished_at.getTime() - row.started_at.getTime(),
    runLagMs: Math.max(0, row.started_at.getTime() - row.due_at.getTime()),
    outcome: row.outcome,
    error: row.error,
    maxDurationExceeded: row.max_duration_exceeded,
  };
}

/** JSON text for a json column; undefined becomes SQL NULL. */
export function toJsonText(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/**
 * JSON text of `{ v: value }` for columns where "no value" and a saved null must stay apart
 * (checkpoints, step results): node-postgres parses SQL NULL and JSON null alike to null, and a boxed
 * value keeps them distinct whatever type parsers the caller's client uses. undefined boxes to `{}`.
 */
export function toBoxedJson(value: unknown): string {
  return JSON.stringify({ v: value });
}

/** The value inside a boxed column; undefined for SQL NULL or an empty box. */
export function unbox(column: unknown): unknown {
  return typeof column === 'object' && column !== null ? (column as { v?: unknown }).v : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for a string PostgreSQL accepts as uuid. Ids and lease tokens are uuid columns; anything else
 * can match no row, so callers answer "not found" or "refused" without asking the database.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
