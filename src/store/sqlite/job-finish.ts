/**
 * Ending attempts: a worker's finishes, and the rescue of attempts whose lease lapsed. Both write the
 * job's transition and one run-history row per attempt in the same transaction, fenced by the token,
 * except a plain completion (within its max duration): one UPDATE and no run row, its run being the
 * completed job's row itself (sql/job-finish.ts, sql.jobFinishManyComplete).
 */
import type { JobError, JobState, RunOutcome } from '../../job.js';
import { finishTransition, type ErrorSource } from '../finish-transition.js';
import type { JobFinish } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { appendJobEvents, type JobEvent } from './event-log.js';
import { encodeJson, type JobRow } from './job-row.js';
import * as sql from './sql/job-finish.js';
import * as jobMaintenanceSql from './sql/job-maintenance.js';

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

/** A running job's row read with SELECT *: queue_slot too, the claim's mark of a queue slot taken, which the job model leaves out. */
type HeldRow = JobRow & { queue_slot: number };

/** Whether the attempt held a concurrency key or a queue slot, which ending it gives back (migration 010). */
function heldLimit(row: HeldRow): boolean {
  return row.concurrency_key !== null || row.queue_slot !== 0;
}

function storedError(row: JobRow): JobError | null {
  return row.error === null ? null : (JSON.parse(row.error) as JobError);
}

/** Writes the transition and the run row; false when the token went stale meanwhile. */
function endAttempt(conn: SqliteConnection, row: JobRow, next: NextRow, run: RunEntry, now: number): boolean {
  const changed = conn.stmt(sql.jobFinishManyAttemptEnd).run({
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
  conn.stmt(sql.jobFinishManyRunInsert).run({
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

/** The stored error, a finish's, or the rescuer's, as a transition names it (see finish-transition.ts). */
function errorOf(
  source: ErrorSource,
  row: JobRow,
  finish: JobFinish | undefined,
  lapse: JobError | undefined,
): JobError | null {
  const given = finish?.error;
  switch (source) {
    case 'none':
      return null;
    case 'kept':
      return storedError(row);
    case 'finish':
      return given ?? { message: `attempt ended: ${finish?.outcome}`, reason: finish?.outcome ?? 'failed' };
    case 'finish_or_kept':
      return given ?? storedError(row);
    case 'finish_or_none':
      return given ?? null;
    case 'lapse':
      return lapse ?? null;
  }
}

/**
 * The row and run an attempt's end leaves behind, as the shared transition table says: `finish` for a
 * worker's finish, `lapse` (the rescuer's error) for a lapsed lease.
 */
function afterEnd(
  row: JobRow,
  end: { finish: JobFinish; lapse?: undefined } | { finish?: undefined; lapse: JobError },
  now: number,
): { next: NextRow; run: RunEntry } {
  const { finish, lapse } = end;
  const retryDelayMs = finish?.retryDelayMs;
  const t = finishTransition({
    end: finish?.outcome ?? 'lease_lapsed',
    cancelRequested: row.cancel_requested !== 0,
    retry: retryDelayMs !== undefined && retryDelayMs !== null,
    attemptsLeft: row.attempt < row.max_attempts,
    maxDurationExceeded: finish?.maxDurationExceeded === true,
  });
  const checkpoint = finish?.checkpoint;
  return {
    next: {
      state: t.state,
      attempt: t.attemptReturned ? row.attempt - 1 : row.attempt,
      runAt: t.rescheduled ? now + Math.max(0, retryDelayMs ?? 0) : row.run_at,
      finishedAt: t.finished ? now : null,
      result: t.result ? encodeJson(finish?.result) : row.result,
      error: errorOf(t.error, row, finish, lapse),
      checkpoint: t.checkpoint && checkpoint !== undefined ? encodeJson(checkpoint) : row.checkpoint,
    },
    run: {
      outcome: t.run.outcome,
      error: errorOf(t.run.error, row, finish, lapse),
      maxDurationExceeded: t.run.maxDurationExceeded,
    },
  };
}

function announce(conn: SqliteConnection, ended: Ended[]): void {
  const ready = new Set<string>();
  for (const job of ended) {
    if (job.queue !== null && (job.state === 'queued' || job.state === 'scheduled')) ready.add(job.queue);
    else conn.emit('job:finished', { id: job.id, state: job.state });
  }
  for (const queue of ready) conn.emit('job:ready', { queue });
}

/** A row sql.jobFinishManyComplete returns, read raw. */
type CompletedRow = [
  id: string,
  held: number,
  task: string,
  queue: string,
  attempt: number,
  scheduleId: string | null,
];

/** A completion waiting for its batch statement: the statement (round) it is in, and its job. */
interface Completion {
  round: number;
  id: string;
}

/**
 * Completions of one batch of finishes, written by one statement (sql.jobFinishManyComplete) per round.
 * The statement answers with the ids it completed, not their tokens (RETURNING reads only the updated
 * table), so two finishes of one job (a lapsed attempt's late one beside its successor's) go to
 * successive rounds: within a round an id names one finish. Almost every batch is one round.
 */
class BatchedCompletions {
  private readonly rounds: Array<Array<[string, string, string | null]>> = [];
  private readonly seen = new Map<string, number>();
  /** True once a written completion gave back a concurrency key or a queue slot. */
  freed = false;

  add(id: string, leaseToken: string, result: string | null): Completion {
    const round = this.seen.get(id) ?? 0;
    this.seen.set(id, round + 1);
    (this.rounds[round] ??= []).push([id, leaseToken, result]);
    return { round, id };
  }

  /** Writes every round; per round, the ids it completed. Adds each completion's event to `events`. */
  write(conn: SqliteConnection, now: number, events: JobEvent[]): Array<Set<string>> {
    return this.rounds.map((completions) => {
      const ids = new Set<string>();
      const rows = conn
        .rawStmt(sql.jobFinishManyComplete)
        .all({ completions: JSON.stringify(completions), now }) as CompletedRow[];
      for (const [id, held, task, queue, attempt, scheduleId] of rows) {
        ids.add(id);
        if (held !== 0) this.freed = true;
        events.push({ id, task, queue, attempt, state: 'completed', scheduleId });
      }
      return ids;
    });
  }
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
  // Per finish, in the order given: its end, or its place among the batched completions.
  const ends: Array<Ended | Completion> = [];
  const completions = new BatchedCompletions();
  const completedEvents: JobEvent[] = [];
  let freed = false;
  for (const finish of finishes) {
    if (finish.outcome === 'completed' && finish.maxDurationExceeded !== true) {
      ends.push(completions.add(finish.id, finish.leaseToken, encodeJson(finish.result)));
      continue;
    }
    const row = conn
      .stmt(sql.jobFinishManyRunningGet)
      .get({ id: finish.id, leaseToken: finish.leaseToken }) as HeldRow | undefined;
    if (!row) continue;
    const { next, run } = afterEnd(row, { finish }, now);
    if (endAttempt(conn, row, next, run, now)) {
      ends.push({ id: row.id, queue: row.queue, state: next.state });
      if (heldLimit(row)) freed = true;
      if (next.state === 'completed') {
        const { id, task, queue, schedule_id: scheduleId } = row;
        completedEvents.push({ id, task, queue, attempt: next.attempt, state: 'completed', scheduleId });
      }
    }
  }
  const completed = completions.write(conn, now, completedEvents);
  // Completions write their own `job:completed` events, one log row (migration 018); the trigger
  // wrote every other end's.
  appendJobEvents(conn, conn.db, 'job:completed', completedEvents, now);
  const done: Ended[] = [];
  for (const end of ends) {
    if (!('round' in end)) done.push(end);
    else if (completed[end.round]?.has(end.id)) done.push({ id: end.id, queue: null, state: 'completed' });
  }
  freed ||= completions.freed;
  return {
    accepted: done.map((job) => job.id),
    announce: () => {
      announce(conn, done);
      // The triggers of migration 010 gave the slots back with the state change, in this transaction.
      if (freed) conn.emit('job:capacity', {});
    },
  };
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

/** True when no job is scheduled, queued or running (`Store.jobIdleCheck`). */
export function jobIdleCheck(conn: SqliteConnection): Promise<boolean> {
  return conn.read(() => (conn.stmt(jobMaintenanceSql.jobIdleCheck).get() as { idle: number }).idle === 1);
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
  let freed = false;
  const ended = await conn.write((now) => {
    const rows = conn.stmt(jobMaintenanceSql.jobRescueLapsedSelect).all({ now, limit }) as HeldRow[];
    const done: Ended[] = [];
    for (const row of rows) {
      const error: JobError = {
        message: `lease lapsed: worker ${row.worker_id ?? 'unknown'} stopped renewing attempt ${row.attempt}`,
        reason: 'lease_lapsed',
      };
      const { next, run } = afterEnd(row, { lapse: error }, now);
      if (endAttempt(conn, row, next, run, now)) {
        done.push({ id: row.id, queue: row.queue, state: next.state });
        if (heldLimit(row)) freed = true;
      }
    }
    return done;
  });
  announce(conn, ended);
  if (freed) conn.emit('job:capacity', {});
  return {
    requeued: ended.filter((job) => job.state === 'queued').map((job) => job.id),
    failed: ended.filter((job) => job.state === 'failed').map((job) => job.id),
  };
}
