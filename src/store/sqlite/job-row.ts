/**
 * Converting between SQLite rows and the job model: INTEGER ms <-> Date, TEXT JSON <-> values,
 * INTEGER 0/1 <-> boolean. A NULL JSON column means undefined (never set); JSON null is the text 'null'.
 */
import type { Job, JobError, JobRun, JobState, RunOutcome } from '../../job.js';
import type { ClaimedJob } from '../store.js';

/** A `jobs` row as better-sqlite3 returns it. */
export interface JobRow {
  id: string;
  task: string;
  queue: string;
  payload: string;
  state: JobState;
  priority: number;
  attempt: number;
  max_attempts: number;
  run_at: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  worker_id: string | null;
  result: string | null;
  error: string | null;
  idempotency_key: string | null;
  concurrency_key: string | null;
  lease_ms: number | null;
  timeout_ms: number | null;
  checkpoint: string | null;
  cancel_requested: number;
  schedule_id: string | null;
  schedule_slot: number | null;
  parent_id: string | null;
  trace_context: string | null;
}

/** A `job_run_history` row as better-sqlite3 returns it (id NULL for a run implied by a job row). */
export interface JobRunRow {
  id: number | null;
  job_id: string;
  attempt: number;
  worker_id: string;
  started_at: number;
  finished_at: number;
  duration_ms: number;
  run_lag_ms: number;
  outcome: RunOutcome;
  error: string | null;
  max_duration_exceeded: number;
}

/** Encodes a value for a TEXT JSON column; undefined becomes NULL. */
export function encodeJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** Decodes a TEXT JSON column; NULL becomes undefined. */
export function decodeJson(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

/** The job a row holds. */
export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    task: row.task,
    queue: row.queue,
    payload: decodeJson(row.payload),
    state: row.state,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    runAt: new Date(row.run_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    startedAt: toDate(row.started_at),
    finishedAt: toDate(row.finished_at),
    leaseExpiresAt: toDate(row.lease_expires_at),
    workerId: row.worker_id,
    result: row.result === null ? null : decodeJson(row.result),
    error: row.error === null ? null : (JSON.parse(row.error) as JobError),
    idempotencyKey: row.idempotency_key,
    concurrencyKey: row.concurrency_key,
    leaseMs: row.lease_ms,
    timeoutMs: row.timeout_ms,
    checkpoint: decodeJson(row.checkpoint),
    cancelRequested: row.cancel_requested !== 0,
    scheduleId: row.schedule_id,
    scheduleSlot: toDate(row.schedule_slot),
    parentId: row.parent_id,
  };
}

/** The run a row holds. */
export function toJobRun(row: JobRunRow): JobRun {
  return {
    jobId: row.job_id,
    attempt: row.attempt,
    workerId: row.worker_id,
    startedAt: new Date(row.started_at),
    finishedAt: new Date(row.finished_at),
    durationMs: row.duration_ms,
    runLagMs: row.run_lag_ms,
    outcome: row.outcome,
    error: row.error === null ? null : (JSON.parse(row.error) as JobError),
    maxDurationExceeded: row.max_duration_exceeded !== 0,
  };
}

/** A row JOB_CLAIM returns (sql/job-claim.ts), read raw: its RETURNING columns in order. */
export type ClaimRow = [
  id: string,
  task: string,
  queue: string,
  payload: string,
  priority: number,
  attempt: number,
  maxAttempts: number,
  runAt: number,
  createdAt: number,
  error: string | null,
  idempotencyKey: string | null,
  concurrencyKey: string | null,
  leaseMs: number | null,
  timeoutMs: number | null,
  checkpoint: string | null,
  cancelRequested: number,
  scheduleId: string | null,
  scheduleSlot: number | null,
  parentId: string | null,
  leaseToken: string,
  traceContext: string | null,
];

/** What a claim set on every job it started. */
export interface ClaimContext {
  workerId: string;
  /** The claim's now: every claimed job's start and update time, and the base of its lease. */
  now: number;
  startedAt: Date;
  /** The lease length a job without its own `lease_ms` got. */
  defaultLeaseMs: number;
}

/** The claimed job a JOB_CLAIM row and its claim describe. */
export function toClaimedJob(row: ClaimRow, claim: ClaimContext): ClaimedJob {
  const leaseMs = row[12];
  return {
    id: row[0],
    task: row[1],
    queue: row[2],
    payload: JSON.parse(row[3]) as unknown,
    state: 'running',
    priority: row[4],
    attempt: row[5],
    maxAttempts: row[6],
    runAt: new Date(row[7]),
    createdAt: new Date(row[8]),
    updatedAt: claim.startedAt,
    startedAt: claim.startedAt,
    finishedAt: null,
    leaseExpiresAt: new Date(claim.now + (leaseMs ?? claim.defaultLeaseMs)),
    workerId: claim.workerId,
    result: null,
    error: row[9] === null ? null : (JSON.parse(row[9]) as JobError),
    idempotencyKey: row[10],
    concurrencyKey: row[11],
    leaseMs,
    timeoutMs: row[13],
    checkpoint: decodeJson(row[14]),
    cancelRequested: row[15] !== 0,
    scheduleId: row[16],
    scheduleSlot: toDate(row[17]),
    parentId: row[18],
    leaseToken: row[19],
    traceContext: row[20],
  };
}
