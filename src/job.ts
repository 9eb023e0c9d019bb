/**
 * The job model: the states a job moves through, the record the store keeps, and one run per attempt.
 *
 * State machine (docs/ARCHITECTURE.md draws it):
 *   scheduled --(run_at reached)--> queued --(claim)--> running
 *   running --(handler returned)--> completed
 *   running --(error/timeout, attempts left)--> scheduled (backoff)
 *   running --(error/timeout, attempts exhausted)--> failed
 *   running --(lease lapsed, rescued)--> queued | failed
 *   running --(graceful release)--> queued (attempt not spent)
 *   running --(task not implemented by the worker)--> scheduled (attempt not spent)
 *   scheduled|queued --(cancel)--> cancelled;  running --(cancel)--> cancelled once the handler stops
 *   failed|cancelled --(manual retry)--> queued
 */
import type { ErrorCode } from './errors.js';

/** Every state a job can be in, exactly the words of the public contract. */
export const JOB_STATES = ['scheduled', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;

/** A job's state. */
export type JobState = (typeof JOB_STATES)[number];

/** States from which a job never moves on its own. */
export const FINAL_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

/** True for `completed`, `failed` and `cancelled`. */
export function isFinalState(state: JobState): boolean {
  return FINAL_STATES.includes(state);
}

/** True when `value` is one of the documented job states. */
export function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

/**
 * How one attempt ended. `timeout` (the handler was alive but too slow) and `lease_lapsed` (the worker
 * stopped renewing: crashed, killed, partitioned) are kept apart on purpose: they call for different fixes.
 */
export type RunOutcome = 'completed' | 'failed' | 'timeout' | 'lease_lapsed' | 'released' | 'cancelled';

/** An error as stored on a job and in its run history. */
export interface JobError {
  message: string;
  name?: string;
  /** The `NightshiftError` code when nightshift itself refused the attempt (`invalid_payload`, `unknown_task`, ...). */
  code?: ErrorCode;
  stack?: string;
  /** Why the attempt failed, in words a dashboard can filter on. */
  reason: RunOutcome;
}

/** A job as the store keeps it. Times are the database's. */
export interface Job<Payload = unknown, Result = unknown> {
  id: string;
  task: string;
  queue: string;
  payload: Payload;
  state: JobState;
  /** Higher runs first; ties go to the earlier `runAt`. Default 0. */
  priority: number;
  /** Attempts started so far (a graceful release gives its attempt back). */
  attempt: number;
  maxAttempts: number;
  /** When the job is due: its run-at time, or the end of its retry backoff. */
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
  /** Start of the current or last attempt. */
  startedAt: Date | null;
  finishedAt: Date | null;
  leaseExpiresAt: Date | null;
  workerId: string | null;
  result: Result | null;
  error: JobError | null;
  idempotencyKey: string | null;
  concurrencyKey: string | null;
  /** Labels a worker must offer to claim this job, sorted; empty when it requires none. */
  requires: string[];
  /** The group (tenant) the job is claimed fairly for (docs/TENANCY.md), or null. */
  group: string | null;
  /** Lease length for this job's attempts; null means the worker's default. */
  leaseMs: number | null;
  /** Handler time limit; null means the task's or worker's default. */
  timeoutMs: number | null;
  /** Last value saved with `ctx.saveCheckpoint`, undefined on a job that never saved one. */
  checkpoint: unknown;
  /** Set when a running job was asked to cancel; the worker aborts the handler's signal. */
  cancelRequested: boolean;
  scheduleId: string | null;
  scheduleSlot: Date | null;
  parentId: string | null;
}

/** One attempt of a job, written when the attempt ends. */
export interface JobRun {
  jobId: string;
  attempt: number;
  workerId: string;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  /** Start minus due time: how long the job waited for a worker. */
  runLagMs: number;
  outcome: RunOutcome;
  error: JobError | null;
  /** The attempt ran longer than its declared maximum duration. */
  maxDurationExceeded: boolean;
}

/** Levels of stored job log lines: `info` for a handler's `ctx.log`, `warn` for nightshift's own notes. */
export type JobLogLevel = 'info' | 'warn';

/**
 * One line a handler wrote with `ctx.log(message, data)`, stored with its attempt. `at` is the worker's
 * clock when the line was logged. Bounded per attempt (see src/worker/job-log-lines.ts).
 */
export interface JobLogLine {
  attempt: number;
  at: Date;
  level: JobLogLevel;
  message: string;
  /** The line's data, or null when it had none. */
  data: unknown;
}
