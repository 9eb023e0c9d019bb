/**
 * Converting between SQLite rows and the job model: INTEGER ms <-> Date, TEXT JSON <-> values,
 * INTEGER 0/1 <-> boolean. A NULL JSON column means undefined (never set); JSON null is the text 'null'.
 */
import type { Job, JobError, JobRun, RunOutcome } from '../../job.js';
import { decodeClaimedJob, decodeJob, type JobColumnAdapter, type JobColumns } from '../job-record.js';
import type { ClaimedJob } from '../store.js';

/** The driver types of SQLite's job columns: INTEGER ms, TEXT JSON, INTEGER 0/1. */
export interface SqliteJobColumns {
  time: number;
  json: string;
  error: string;
  checkpoint: string;
  flag: number;
  /** A JSON array (validation/labels.ts keeps it canonical). */
  labels: string;
}

/** A `jobs` row as better-sqlite3 returns it. */
export type JobRow = JobColumns<SqliteJobColumns>;

/** Decodes SQLite's job columns (see job-record.ts). */
export const SQLITE_JOB_COLUMNS: JobColumnAdapter<SqliteJobColumns> = {
  time: (ms) => new Date(ms),
  json: (text) => JSON.parse(text) as unknown,
  error: (text) => JSON.parse(text) as JobError,
  checkpoint: (text) => JSON.parse(text) as unknown,
  flag: (value) => value !== 0,
  labels: (text) => JSON.parse(text) as string[],
};

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

/** The job a row holds. */
export function toJob(row: JobRow): Job {
  return decodeJob(row, SQLITE_JOB_COLUMNS);
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

/** A row jobClaim returns (sql/job-claim.ts), read raw: its RETURNING columns in order. */
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
  requires: string | null,
  groupKey: string | null,
];

/** What a claim set on every job it started. */
export interface ClaimContext {
  workerId: string;
  /** The claim's now: every claimed job's start and update time, and the base of its lease. */
  now: number;
  /** The lease length a job without its own `lease_ms` got. */
  defaultLeaseMs: number;
}

/** The claimed job a jobClaim row and its claim describe: the claim decided the rest of the row. */
export function toClaimedJob(row: ClaimRow, claim: ClaimContext): ClaimedJob {
  const leaseMs = row[12];
  return decodeClaimedJob(
    {
      id: row[0],
      task: row[1],
      queue: row[2],
      payload: row[3],
      state: 'running',
      priority: row[4],
      attempt: row[5],
      max_attempts: row[6],
      run_at: row[7],
      created_at: row[8],
      updated_at: claim.now,
      started_at: claim.now,
      finished_at: null,
      lease_expires_at: claim.now + (leaseMs ?? claim.defaultLeaseMs),
      lease_token: row[19],
      worker_id: claim.workerId,
      result: null,
      error: row[9],
      idempotency_key: row[10],
      concurrency_key: row[11],
      lease_ms: leaseMs,
      timeout_ms: row[13],
      checkpoint: row[14],
      cancel_requested: row[15],
      schedule_id: row[16],
      schedule_slot: row[17],
      parent_id: row[18],
      requires: row[21],
      trace_context: row[20],
      group_key: row[22],
    },
    SQLITE_JOB_COLUMNS,
  );
}
