/**
 * The insert path of `jobInsertMany`: one bulk statement, then a read of the rows that lost to an
 * existing idempotency key or id (a retried batch whose first COMMIT went through unseen).
 *
 * The race: ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key to finish, so when
 * our statement returns, the winner has committed (or rolled back, in which case our row went in).
 * The winner is then visible to our next statement's snapshot. The one gap is a winner deleted in
 * between (pruned or cancelled and pruned): then neither insert nor read finds it, and we try again.
 */
import { LeaseLostError, NightshiftError } from '../../errors.js';
import { asQueryable, type NotifyTarget, type PostgresConnection } from './connection.js';
import { decodeInsertedBatch, type InsertedBatchRow } from './job-batch.js';
import { isUuid, toJob, toJsonText, type JobRow } from './job-row.js';
import { toStoreError } from './pool.js';
import type { Queryable, Statement, Statements } from './sql/statements.js';
import type { JobInsertManyParams, JobInsertResult, LeaseRef, NewJob } from '../store.js';

// Each round needs a winner deleted between two of our statements; three in a row means something
// keeps deleting the key's rows, which is worth an error rather than a loop.
const MAX_ROUNDS = 3;

/**
 * `jobInsertMany`: one bulk statement on the caller's `tx`, or on the pool, where it commits alone. A
 * `fence` is part of that statement (sql/job-insert.ts `jobInsertManyFence`), so a child insert without
 * a `tx` costs one round trip, as an unfenced insert does, instead of BEGIN, lock, insert and COMMIT.
 */
export async function jobInsertMany(
  conn: PostgresConnection,
  params: JobInsertManyParams,
): Promise<JobInsertResult[]> {
  const { jobs, fence } = params;
  checkNewJobs(jobs);
  const tx = params.tx === undefined ? undefined : asQueryable(params.tx);
  let results: JobInsertResult[];
  try {
    // No attempt holds a lease whose id or token is not even a UUID (PostgreSQL would refuse the cast).
    if (fence !== undefined && !(isUuid(fence.id) && isUuid(fence.leaseToken))) {
      throw new LeaseLostError(fence.id);
    }
    if (jobs.length === 0 && fence === undefined) return [];
    results = await insertJobs(tx ?? conn.pool, conn.sql, jobs, conn.notify, tx === undefined, fence);
  } catch (error) {
    throw toStoreError(error);
  }
  // A scheduled job too: a waiting worker's next claim learns when it is due (ClaimReport).
  const ready = new Set(results.filter((r) => r.created).map((r) => r.job.queue));
  const created = results.some((r) => r.created);
  conn.afterCommit(params.tx, () => {
    for (const queue of ready) conn.emit('job:ready', { queue });
    if (created) conn.eventsWritten();
  });
  return results;
}

/** Refuses jobs PostgreSQL would reject with a less helpful message. */
export function checkNewJobs(jobs: NewJob[]): void {
  for (const job of jobs) {
    if (!isUuid(job.id)) throw new NightshiftError('invalid_argument', `job id must be a UUID: ${job.id}`);
  }
}

/**
 * Inserts `jobs` on `db` and returns one result per job, in input order. With `fence`, every round's
 * insert is fenced and `LeaseLostError` means that round wrote nothing. Outside a caller's transaction
 * a later round (a winner deleted between the insert and the read) commits on its own: should the lease
 * be lost just then, the first round's jobs, written while it was held, stay.
 */
export async function insertJobs(
  db: Queryable,
  statements: Statements,
  jobs: NewJob[],
  notify: NotifyTarget,
  prepared: boolean,
  fence?: LeaseRef,
): Promise<JobInsertResult[]> {
  const results: Array<JobInsertResult | undefined> = new Array<JobInsertResult | undefined>(jobs.length);
  const statement = fence === undefined ? statements.jobInsertMany : statements.jobInsertManyFenced;
  const fenceValues = fence === undefined ? [] : [fence.id, fence.leaseToken];
  let pending = jobs.map((_, index) => index);
  // An empty fenced batch still runs once: it answers whether the lease is held.
  for (let round = 0; round < MAX_ROUNDS && (pending.length > 0 || round === 0); round += 1) {
    const batch = pending.map((index) => jobs[index] as NewJob);
    const payloads = batch.map((j) => toJsonText(j.payload));
    const inserted = await db.query<InsertedBatchRow>(
      config(statement, [...insertValues(batch, payloads, notify), ...fenceValues], prepared),
    );
    if (fence !== undefined && inserted.rows[0]?.fenced !== true) throw new LeaseLostError(fence.id);
    const created = decodeInsertedBatch(inserted.rows[0], batch, payloads);
    const lost: number[] = [];
    for (const index of pending) {
      const job = created.get((jobs[index] as NewJob).id.toLowerCase());
      if (job) results[index] = { job, created: true };
      else lost.push(index);
    }
    pending = [];
    if (lost.length === 0) break;
    const lostJobs = lost.map((index) => jobs[index] as NewJob);
    const existing = await db.query<JobRow>({
      text: statements.jobInsertManyExisting.text,
      values: [
        lostJobs.map((j) => j.id),
        lostJobs.flatMap((j) => (j.idempotencyKey === null ? [] : [j.idempotencyKey])),
      ],
    });
    const byId = new Map(existing.rows.map((row) => [row.id, row]));
    const byKey = new Map(existing.rows.map((row) => [row.idempotency_key, row]));
    lost.forEach((index, i) => {
      const job = lostJobs[i] as NewJob;
      const row =
        byId.get(job.id) ?? (job.idempotencyKey === null ? undefined : byKey.get(job.idempotencyKey));
      if (row) results[index] = { job: toJob(row), created: false };
      else pending.push(index);
    });
  }
  if (pending.length > 0) {
    throw new NightshiftError('conflict', 'idempotency key kept conflicting with rows that then vanished');
  }
  return results as JobInsertResult[];
}

function config(statement: Statement, values: unknown[], prepared: boolean) {
  return prepared && statement.name !== undefined
    ? { name: statement.name, text: statement.text, values }
    : { text: statement.text, values };
}

function insertValues(jobs: NewJob[], payloads: Array<string | null>, notify: NotifyTarget): unknown[] {
  return [
    jobs.map((j) => j.id),
    jobs.map((j) => j.task),
    jobs.map((j) => j.queue),
    payloads,
    jobs.map((j) => j.priority),
    optional(jobs, (j) => j.runAt),
    optional(jobs, (j) => j.delayMs),
    jobs.map((j) => j.maxAttempts),
    optional(jobs, (j) => j.idempotencyKey),
    optional(jobs, (j) => j.concurrencyKey),
    optional(jobs, (j) => j.leaseMs),
    optional(jobs, (j) => j.timeoutMs),
    optional(jobs, (j) => j.scheduleId),
    optional(jobs, (j) => j.scheduleSlot),
    optional(jobs, (j) => j.parentId),
    notify.channel,
    notify.origin,
    optional(jobs, (j) => j.traceContext ?? null),
    optional(jobs, (j) => j.concurrencyLimit),
    optional(jobs, (j) => (j.requires === null ? null : textArrayLiteral(j.requires))),
    optional(jobs, (j) => j.group),
  ];
}

/**
 * One optional column's array, or an empty one when no job sets it: the statement's multi-argument
 * unnest pads a shorter array with NULLs, so `{}` reads as a NULL for every job. Most batches set few
 * of these columns, and an array of 1,000 NULLs costs both sides: node-postgres writes each element
 * of the literal and the server parses it (at 1,000 jobs a call, the thirteen optional columns' arrays
 * were ~a third of the Node side's cost of a bulk enqueue).
 */
function optional<T>(jobs: NewJob[], value: (job: NewJob) => T | null): Array<T | null> {
  let values: Array<T | null> | null = null;
  for (let i = 0; i < jobs.length; i += 1) {
    const v = value(jobs[i]!);
    if (v !== null && values === null) values = new Array<T | null>(jobs.length).fill(null);
    if (values !== null) values[i] = v;
  }
  return values ?? [];
}

/** A text[] literal of `values`, each quoted (a quote and a backslash escaped), for a cast `::text[]`. */
function textArrayLiteral(values: string[]): string {
  return `{${values.map((value) => `"${value.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}
