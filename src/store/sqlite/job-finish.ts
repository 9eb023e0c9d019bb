/**
 * Ending attempts: a worker's finishes, and the rescue of attempts whose lease lapsed. Both write the
 * job's transition and one run-history row per attempt in the same transaction, fenced by the token,
 * except a plain completion (within its max duration): one UPDATE and no run row, its run being the
 * completed job's row itself (sql/job-finish.ts, JOB_COMPLETE).
 */
import type { JobError, JobState, RunOutcome } from '../../job.js';
import type { JobFinish } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { encodeJson, type JobRow } from './job-row.js';
import { JOB_ATTEMPT_END, JOB_COMPLETE, JOB_RUN_INSERT, JOB_RUNNING_GET } from './sql/job-finish.js';
import { JOB_LAPSED_SELECT } from './sql/job-maintenance.js';

/** The row an attempt leaves behind. */
interface NextRow {
  state: JobState;
  attempt: number;
  runAt: number;
  finishedAt: number | null;
  result: string | null;
  error: JobError | null;
  checkpoint: string | null;
}

/** The run-history entry of an attempt. */
interface RunEntry {
  outcome: RunOutcome;
  error: JobError | null;
  maxDurationExceeded: boolean;
}

/** What happened to an attempt, for the events emitted after commit. */
interface Ended {
  id: string;
  /** Read only for a job back in the ready set; null for a plain completion, which never reads it. */
  queue: string | null;
  state: JobState;
}

function storedError(row: JobRow): JobError | null {
  return row.error === null ? null : (JSON.parse(row.error) as JobError);
}

/** Writes the transition and the run row; false when the token went stale meanwhile. */
function endAttempt(conn: SqliteConnection, row: JobRow, next: NextRow, run: RunEntry, now: number): boolean {
  const changed = conn.stmt(JOB_ATTEMPT_END).run({
    id: row.id,
    leaseToken: row.lease_token,
    state: next.state,
    attempt: next.attempt,
    runAt: next.runAt,
    finishedAt: next.finishedAt,
    result: next.result,
    error: next.error === null ? null : JSON.stringify(next.error),
    checkpoint: next.checkpoint,
    now,
  }).changes;
  if (changed !== 1) return false;
  const startedAt = row.started_at ?? now;
  conn.stmt(JOB_RUN_INSERT).run({
    jobId: row.id,
    attempt: row.attempt,
    workerId: row.worker_id ?? '',
    startedAt,
    finishedAt: now,
    durationMs: Math.max(0, now - startedAt),
    // run_at is untouched while an attempt runs, so it is still the due time the claim saw.
    runLagMs: Math.max(0, startedAt - row.run_at),
    outcome: run.outcome,
    error: run.error === null ? null : JSON.stringify(run.error),
    maxDurationExceeded: run.maxDurationExceeded ? 1 : 0,
  });
  return true;
}

/**
 * The next row for a worker's finish. A cancel request wins over failure, timeout and release (the
 * operator asked the job to stop), but not over success: a handler that completed did its work.
 */
function afterFinish(row: JobRow, finish: JobFinish, now: number): { next: NextRow; run: RunEntry } {
  const keep = {
    attempt: row.attempt,
    runAt: row.run_at,
    result: row.result,
    checkpoint: row.checkpoint,
    error: storedError(row),
  };
  const maxDurationExceeded = finish.maxDurationExceeded === true;
  const cancelled = row.cancel_requested !== 0 || finish.outcome === 'cancelled';
  switch (finish.outcome) {
    case 'completed':
      return {
        next: {
          ...keep,
          state: 'completed',
          finishedAt: now,
          result: encodeJson(finish.result),
          error: null,
        },
        run: { outcome: 'completed', error: null, maxDurationExceeded },
      };
    case 'failed':
    case 'timeout': {
      const error = finish.error ?? { message: `attempt ended: ${finish.outcome}`, reason: finish.outcome };
      const run = { outcome: finish.outcome, error, maxDurationExceeded };
      if (cancelled) return { next: { ...keep, state: 'cancelled', finishedAt: now, error }, run };
      if (finish.retryDelayMs !== undefined && finish.retryDelayMs !== null) {
        const runAt = now + Math.max(0, finish.retryDelayMs);
        return { next: { ...keep, state: 'scheduled', runAt, finishedAt: null, error }, run };
      }
      return { next: { ...keep, state: 'failed', finishedAt: now, error }, run };
    }
    case 'released': {
      const checkpoint = finish.checkpoint === undefined ? keep.checkpoint : encodeJson(finish.checkpoint);
      const run = { outcome: 'released' as const, error: finish.error ?? null, maxDurationExceeded };
      if (cancelled) return { next: { ...keep, state: 'cancelled', finishedAt: now, checkpoint }, run };
      // A release gives the attempt back: the job did not fail, the worker stopped (or cannot run it).
      const error = finish.error ?? keep.error;
      const next = { ...keep, attempt: row.attempt - 1, finishedAt: null, checkpoint, error };
      if (finish.retryDelayMs !== undefined && finish.retryDelayMs !== null) {
        const runAt = now + Math.max(0, finish.retryDelayMs);
        return { next: { ...next, state: 'scheduled', runAt }, run };
      }
      return { next: { ...next, state: 'queued' }, run };
    }
    case 'cancelled':
      return {
        next: { ...keep, state: 'cancelled', finishedAt: now, error: finish.error ?? keep.error },
        run: { outcome: 'cancelled', error: finish.error ?? null, maxDurationExceeded },
      };
  }
}

function announce(conn: SqliteConnection, ended: Ended[]): void {
  const ready = new Set<string>();
  for (const job of ended) {
    if (job.queue !== null && (job.state === 'queued' || job.state === 'scheduled')) ready.add(job.queue);
    else conn.emit('job:finished', { id: job.id, state: job.state });
  }
  for (const queue of ready) conn.emit('job:ready', { queue });
}

/**
 * Ends the attempts whose tokens are current with plain statements on the store's connection, inside
 * whatever transaction is open there; returns a function that emits their events (call it after COMMIT).
 */
export function finishAttempts(
  conn: SqliteConnection,
  finishes: JobFinish[],
  now: number,
): { accepted: string[]; announce: () => void } {
  const done: Ended[] = [];
  for (const finish of finishes) {
    if (finish.outcome === 'completed' && finish.maxDurationExceeded !== true) {
      const completed = conn.stmt(JOB_COMPLETE).run({
        id: finish.id,
        leaseToken: finish.leaseToken,
        result: encodeJson(finish.result),
        now,
      });
      if (completed.changes === 1) done.push({ id: finish.id, queue: null, state: 'completed' });
      continue;
    }
    const row = conn.stmt(JOB_RUNNING_GET).get({ id: finish.id, leaseToken: finish.leaseToken }) as
      JobRow | undefined;
    if (!row) continue;
    const { next, run } = afterFinish(row, finish, now);
    if (endAttempt(conn, row, next, run, now)) done.push({ id: row.id, queue: row.queue, state: next.state });
  }
  return { accepted: done.map((job) => job.id), announce: () => announce(conn, done) };
}

/** Ends the attempts whose tokens are current, in one transaction. */
export async function jobFinishMany(
  conn: SqliteConnection,
  finishes: JobFinish[],
): Promise<{ accepted: string[] }> {
  if (finishes.length === 0) return { accepted: [] };
  const { accepted, announce: emit } = await conn.write((now) => finishAttempts(conn, finishes, now));
  emit();
  return { accepted };
}

/**
 * Recovers up to `limit` lapsed attempts, oldest expiry first: requeued while attempts remain, else
 * failed with reason `lease_lapsed`. An attempt whose job was asked to cancel ends `cancelled` and
 * is reported in neither list (it is neither retried nor a failure).
 */
export async function jobRescueLapsed(
  conn: SqliteConnection,
  limit: number,
): Promise<{ requeued: string[]; failed: string[] }> {
  if (limit <= 0) return { requeued: [], failed: [] };
  const ended = await conn.write((now) => {
    const rows = conn.stmt(JOB_LAPSED_SELECT).all({ now, limit }) as JobRow[];
    const done: Ended[] = [];
    for (const row of rows) {
      const error: JobError = {
        message: `lease lapsed: worker ${row.worker_id ?? 'unknown'} stopped renewing attempt ${row.attempt}`,
        reason: 'lease_lapsed',
      };
      const state: JobState =
        row.cancel_requested !== 0 ? 'cancelled' : row.attempt >= row.max_attempts ? 'failed' : 'queued';
      const next: NextRow = {
        state,
        attempt: row.attempt,
        runAt: row.run_at,
        finishedAt: state === 'queued' ? null : now,
        result: row.result,
        error,
        checkpoint: row.checkpoint,
      };
      const run: RunEntry = { outcome: 'lease_lapsed', error, maxDurationExceeded: false };
      if (endAttempt(conn, row, next, run, now)) done.push({ id: row.id, queue: row.queue, state });
    }
    return done;
  });
  announce(conn, ended);
  return {
    requeued: ended.filter((job) => job.state === 'queued').map((job) => job.id),
    failed: ended.filter((job) => job.state === 'failed').map((job) => job.id),
  };
}
