/**
 * Inserting jobs: one transaction per batch, idempotency keys, lease-fenced child inserts, and
 * inserts on the caller's own transaction handle.
 */
import type Database from 'better-sqlite3';
import { LeaseLostError, NightshiftError, unexpectedStoreError } from '../../errors.js';
import type { JobInsertManyParams, JobInsertResult, NewJob } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { isBusyError } from './busy-retry.js';
import { insertedJobColumns } from '../job-record.js';
import { appendJobEvents, type JobEvent } from './event-log.js';
import { toJob, type JobRow, type SqliteJobColumns } from './job-row.js';
import * as sql from './sql/job-insert.js';

/**
 * Inserts jobs with plain statements on `handle`, inside whatever transaction is open there (none of
 * its own), so other writers (the scheduler's fire transaction) can add jobs to their own writes.
 * With `fence`, throws LeaseLostError unless that attempt still holds its lease.
 */
export function insertJobs(
  conn: SqliteConnection,
  handle: Database.Database,
  params: Pick<JobInsertManyParams, 'jobs' | 'fence'>,
  now: number,
): JobInsertResult[] {
  if (params.fence) {
    const held = conn
      .stmt(sql.jobInsertManyLeaseHeld, handle)
      .get({ id: params.fence.id, leaseToken: params.fence.leaseToken });
    if (held === undefined) throw new LeaseLostError(params.fence.id);
  }
  const inserted = insertJobRows(conn, handle, params.jobs, now);
  return params.jobs.map((job, index) => {
    // A new job is decoded from the row just written (reading it back cost ~13 µs a job); a job
    // whose idempotency key was taken is the one holding the key.
    const written = inserted[index] ?? null;
    const row =
      written ??
      (conn.stmt(sql.jobInsertManyExisting, handle).get({ key: job.idempotencyKey, now }) as JobRow);
    return { job: toJob(row), created: written !== null };
  });
}

/**
 * Inserts the jobs' rows on `handle`, then the new ones' `job:enqueued` events in one log row
 * (migrations 016 and 018): the rows as written, in order, null where the idempotency key was taken (nothing
 * inserted, no event). The one way a job row is inserted, for enqueues and schedule slots alike.
 */
export function insertJobRows(
  conn: SqliteConnection,
  handle: Database.Database,
  jobs: readonly NewJob[],
  now: number,
): Array<JobRow | null> {
  const rows = jobs.map((job) => insertJobRow(conn, handle, job, now));
  const events: JobEvent[] = [];
  for (const row of rows) {
    if (row === null) continue;
    const { id, task, queue, state, schedule_id: scheduleId } = row;
    events.push({ id, task, queue, attempt: 0, state, scheduleId });
  }
  appendJobEvents(conn, handle, 'job:enqueued', events, now);
  return rows;
}

/**
 * Inserts one job's row on `handle`, due at its `runAt`, or `delayMs` after `now`: queued when due,
 * else scheduled. Returns the row as written, or null when its idempotency key is taken (nothing
 * inserted). Its event is the caller's (insertJobRows).
 */
function insertJobRow(
  conn: SqliteConnection,
  handle: Database.Database,
  job: NewJob,
  now: number,
): JobRow | null {
  const runAt = job.runAt ? job.runAt.getTime() : now + Math.max(0, job.delayMs ?? 0);
  const row: JobRow = insertedJobColumns<SqliteJobColumns>(job, {
    id: job.id,
    state: runAt > now ? 'scheduled' : 'queued',
    // undefined is not JSON; a job without a payload stores null.
    payload: JSON.stringify(job.payload ?? null),
    runAt,
    createdAt: now,
    // Canonical already (validation/labels.ts): equal requirements are equal texts.
    requires: job.requires === null ? null : JSON.stringify(job.requires),
    scheduleSlot: job.scheduleSlot ? job.scheduleSlot.getTime() : null,
    notCancelled: 0,
  });
  const info = conn
    .stmt(sql.jobInsertMany, handle)
    .run(
      row.id,
      row.task,
      row.queue,
      row.payload,
      row.state,
      row.priority,
      row.max_attempts,
      runAt,
      now,
      now,
      row.idempotency_key,
      row.concurrency_key,
      job.concurrencyLimit,
      row.lease_ms,
      row.timeout_ms,
      row.schedule_id,
      row.schedule_slot,
      row.parent_id,
      row.trace_context,
      row.requires,
      row.group_key,
    );
  return info.changes === 1 ? row : null;
}

function announce(conn: SqliteConnection, results: JobInsertResult[]): void {
  const queues = new Set(results.filter((r) => r.created).map((r) => r.job.queue));
  for (const queue of queues) conn.emit('job:ready', { queue });
}

/**
 * Inserts a batch. With `tx` the statements run synchronously on the caller's handle before this
 * function first yields, so a caller may start it inside its own `db.transaction(...)` callback; the
 * rows then commit or roll back with the caller's transaction and no transaction of ours is opened.
 * `afterCommit` receives the event emission of a `tx` insert (default: emit at once).
 */
export function jobInsertMany(
  conn: SqliteConnection,
  params: JobInsertManyParams,
  afterCommit: (emit: () => void) => void = (emit) => emit(),
): Promise<JobInsertResult[]> {
  if (params.tx !== undefined) {
    try {
      const results = insertJobs(conn, conn.callerTransaction(params.tx), params, conn.clock());
      // Inside the store's own transaction() the events wait for its COMMIT. On a foreign handle the
      // commit is invisible to us, so they go out now: a woken poller may find nothing yet and polls again.
      afterCommit(() => announce(conn, results));
      return Promise.resolve(results);
    } catch (error) {
      if (isBusyError(error)) {
        // The caller's transaction could not take the write lock; only the caller can restart it.
        return Promise.reject(
          new NightshiftError('database_unavailable', 'database is locked; retry the enclosing transaction', {
            cause: error,
          }),
        );
      }
      return Promise.reject(unexpectedStoreError(error, 'SQLite'));
    }
  }
  return conn
    .write((now) => insertJobs(conn, conn.db, params, now))
    .then((results) => {
      announce(conn, results);
      return results;
    });
}
