/**
 * The insert path of `jobInsertMany`: one bulk statement, then a read of the rows that lost to an
 * existing idempotency key or id (a retried batch whose first COMMIT went through unseen).
 *
 * The race: ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key to finish, so when
 * our statement returns, the winner has committed (or rolled back, in which case our row went in).
 * The winner is then visible to our next statement's snapshot. The one gap is a winner deleted in
 * between (pruned or cancelled and pruned): then neither insert nor read finds it, and we try again.
 */
import { NightshiftError } from '../../errors.js';
import { decodeInsertedBatch } from './job-batch.js';
import { isUuid, jobFromRow, toJsonText, type JobRow } from './job-row.js';
import type { Queryable, Statement, Statements } from './statements.js';
import type { JobInsertResult, NewJob } from '../store.js';

// Each round needs a winner deleted between two of our statements; three in a row means something
// keeps deleting the key's rows, which is worth an error rather than a loop.
const MAX_ROUNDS = 3;

/** Where notifications go and who sends them. */
export interface NotifyTarget {
  channel: string;
  origin: string;
}

/** Refuses jobs PostgreSQL would reject with a less helpful message. */
export function checkNewJobs(jobs: NewJob[]): void {
  for (const job of jobs) {
    if (!isUuid(job.id)) throw new NightshiftError('invalid_argument', `job id must be a UUID: ${job.id}`);
  }
}

/** Inserts `jobs` on `db` and returns one result per job, in input order. */
export async function insertJobs(
  db: Queryable,
  statements: Statements,
  jobs: NewJob[],
  notify: NotifyTarget,
  prepared: boolean,
): Promise<JobInsertResult[]> {
  const results: Array<JobInsertResult | undefined> = new Array<JobInsertResult | undefined>(jobs.length);
  let pending = jobs.map((_, index) => index);
  for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round += 1) {
    const batch = pending.map((index) => jobs[index] as NewJob);
    const payloads = batch.map((j) => toJsonText(j.payload));
    const inserted = await db.query<{ batch: string }>(
      config(statements.insertJobs, insertValues(batch, payloads, notify), prepared),
    );
    const created = decodeInsertedBatch(inserted.rows[0]?.batch ?? '', batch, payloads);
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
      text: statements.jobsByIdOrKey.text,
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
      if (row) results[index] = { job: jobFromRow(row), created: false };
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
    jobs.map((j) => j.runAt),
    jobs.map((j) => j.delayMs),
    jobs.map((j) => j.maxAttempts),
    jobs.map((j) => j.idempotencyKey),
    jobs.map((j) => j.concurrencyKey),
    jobs.map((j) => j.leaseMs),
    jobs.map((j) => j.timeoutMs),
    jobs.map((j) => j.scheduleId),
    jobs.map((j) => j.scheduleSlot),
    jobs.map((j) => j.parentId),
    notify.channel,
    notify.origin,
    jobs.map((j) => j.traceContext ?? null),
    jobs.map((j) => j.concurrencyLimit),
  ];
}
