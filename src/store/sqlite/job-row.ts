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

/** A ready job as the claim's walks read it, before its limits admit it (limits.ts). */
export interface ReadyCandidate {
  id: string;
  priority: number;
  run_at: number;
  queue: string;
  concurrency_key: string | null;
  concurrency_limit: number | null;
}

/**
 * The walks' leading columns (id, priority, run_at, queue, concurrency_key, concurrency_limit; the
 * grouped walk's statements add theirs after them), read raw: better-sqlite3 builds a keyed object per
 * row at ~0.6 µs more per row than an array (1.54 against 0.94 µs per row walked, claims of 470), more
 * than building the object here.
 */
export type RawReadyCandidate = [string, number, number, string, string | null, number | null];

export function toReadyCandidate(r: readonly [...RawReadyCandidate, ...unknown[]]): ReadyCandidate {
  return {
    id: r[0],
    priority: r[1],
    run_at: r[2],
    queue: r[3],
    concurrency_key: r[4],
    concurrency_limit: r[5],
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
  /** ClaimRare as JSON text; NULL when the job sets none of them. */
  rare: string | null,
];

/** A claimed job's rarely set columns, as jobClaim folds them (sql/job-claim.ts CLAIM_RARE_COLUMNS). */
type ClaimRare = [
  cancelRequested: number,
  error: string | null,
  idempotencyKey: string | null,
  concurrencyKey: string | null,
  leaseMs: number | null,
  timeoutMs: number | null,
  checkpoint: string | null,
  scheduleId: string | null,
  scheduleSlot: number | null,
  parentId: string | null,
  traceContext: string | null,
  requires: string | null,
  groupKey: string | null,
];

/** The value of each rare column when a job sets none of them. */
const NO_RARE: ClaimRare = [0, null, null, null, null, null, null, null, null, null, null, null, null];

/** What a claim set on every job it started. */
export interface ClaimContext {
  workerId: string;
  /** The claim's now: every claimed job's start and update time, and the base of its lease. */
  now: number;
  /** The lease length a job without its own `lease_ms` got. */
  defaultLeaseMs: number;
  /** The claim's lease token, shared by its jobs. */
  leaseToken: string;
}

/** The claimed job a jobClaim row and its claim describe: the claim decided the rest of the row. */
export function toClaimedJob(row: ClaimRow, claim: ClaimContext): ClaimedJob {
  const rare = row[9] === null ? NO_RARE : (JSON.parse(row[9]) as ClaimRare);
  const leaseMs = rare[4];
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
      lease_token: claim.leaseToken,
      worker_id: claim.workerId,
      result: null,
      cancel_requested: rare[0],
      error: rare[1],
      idempotency_key: rare[2],
      concurrency_key: rare[3],
      lease_ms: leaseMs,
      timeout_ms: rare[5],
      checkpoint: rare[6],
      schedule_id: rare[7],
      schedule_slot: rare[8],
      parent_id: rare[9],
      trace_context: rare[10],
      requires: rare[11],
      group_key: rare[12],
    },
    SQLITE_JOB_COLUMNS,
  );
}
