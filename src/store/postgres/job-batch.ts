/**
 * The answers of the two bulk hot-path statements, claim and enqueue, as one row per statement with ONE
 * text value for all its jobs instead of typed columns per job (the enqueue's text names only the jobs
 * whose due state the database decided otherwise than most). node-postgres decodes a row column by column
 * (a Buffer slice, a string and a parser call per field), which made row decoding and its garbage the
 * largest Node cost of the claim. The server concatenates the text in the same statement: json_build_array
 * would look up every argument's type and output function on every call (~20-27k instructions per job, as
 * much as the row write), while a cast keeps its output function.
 *
 * The SQL that writes these positions is sql/job-batch.ts: a position changed there is changed here.
 */
import type { Job, JobError, JobState } from '../../job.js';
import { decodeClaimedJob, insertedJobColumns } from '../job-record.js';
import { toJob, POSTGRES_JOB_COLUMNS, type PostgresJobColumns } from './job-row.js';
import type { ClaimedJob, NewJob } from '../store.js';

const date = (value: unknown): Date | null => (value === null ? null : new Date(value as number));

/** The enqueue's answer as a row (sql/job-batch.ts `jobInsertManyBatchSelect`). */
export interface InsertedBatchRow {
  /** node-postgres gives a float8 as a number; NULL when nothing was inserted. */
  created_ms: number | null;
  decided: string;
  ids: string | null;
  /** A fenced insert's: whether the attempt held its lease (nothing was written when not). */
  fenced?: boolean;
}

/**
 * The jobs an enqueue created, by id: each built from its `NewJob` and the database's decisions in
 * `row`. `payloads` are the JSON texts that were stored, parsed again so the job reads exactly as it
 * will from the database (a Date in a payload comes back as a string).
 */
export function decodeInsertedBatch(
  row: InsertedBatchRow | undefined,
  jobs: NewJob[],
  payloads: Array<string | null>,
): Map<string, Job> {
  const created = new Map<string, Job>();
  if (row === undefined || row.created_ms === null) return created;
  const createdAt = new Date(row.created_ms);
  const decided = new Map<string, { state: JobState; runAt: Date }>();
  if (row.decided !== '') {
    for (const entry of row.decided.split(',')) {
      const [id = '', state, runMs] = entry.split(' ');
      decided.set(id, { state: state as JobState, runAt: new Date(Number(runMs)) });
    }
  }
  const decode = (id: string, index: number): void => {
    const input = jobs[index]!;
    const payload = payloads[index] ?? null;
    const decision = decided.get(id);
    const job = toJob(
      insertedJobColumns<PostgresJobColumns>(input, {
        id,
        state: decision?.state ?? 'queued',
        payload: payload === null ? null : JSON.parse(payload),
        // Jobs due at their creation share its Date, as a claim's jobs share their start's.
        runAt: decision?.runAt ?? createdAt,
        createdAt,
        requires: input.requires,
        scheduleSlot: input.scheduleSlot === null ? null : new Date(input.scheduleSlot.getTime()),
        notCancelled: false,
      }),
    );
    created.set(id, job);
  };
  if (row.ids === null) {
    // Every job is new, so no id repeats: the database's text of each is its lower case.
    jobs.forEach((job, index) => decode(job.id.toLowerCase(), index));
    return created;
  }
  const byId = new Map<string, number>();
  // The first of repeated ids is the one the INSERT kept.
  jobs.forEach((job, index) => {
    const id = job.id.toLowerCase();
    if (!byId.has(id)) byId.set(id, index);
  });
  for (const id of row.ids.split(',')) {
    const index = byId.get(id);
    if (index !== undefined) decode(id, index);
  }
  return created;
}

/** The claim's answer as a row. */
export interface ClaimedBatchRow {
  started_ms: number;
  lease_token: string;
  batch: string;
  grouped_promoted: number;
  grouped_waiting: boolean;
  grouped_short: boolean;
  limits_needed: boolean;
  /** node-postgres gives a float8 as a number; NULL for a full batch or nothing scheduled. */
  next_due_ms: number | null;
}

/**
 * The claimed jobs of a claim's answer, in claim order (priority, due time, id). `workerId` and
 * `defaultLeaseMs` are the claim's own parameters: the server computed each lease end as its clock
 * (nightshift_now()) plus the job's lease override or that default.
 */
export function decodeClaimedBatch(
  row: ClaimedBatchRow | undefined,
  workerId: string,
  defaultLeaseMs: number,
): ClaimedJob[] {
  if (row === undefined) return [];
  const startedMs = Number(row.started_ms);
  const startedAt = new Date(startedMs);
  // Jobs without a lease override (nearly all) share their lease end, as all of them share the start.
  const defaultLeaseEnd = new Date(startedMs + defaultLeaseMs);
  const leaseToken = row.lease_token;
  const tuples = JSON.parse(row.batch) as unknown[][];
  const jobs = new Array<ClaimedJob>(tuples.length);
  // Jobs enqueued by one statement share their creation time, and due-now ones their due time too:
  // equal times share one Date, as every job of the claim shares its start.
  let runAt = startedAt;
  let createdAt = startedAt;
  let ordered = true;
  for (let i = 0; i < tuples.length; i += 1) {
    const t = tuples[i]!;
    const extras = (t[9] ?? NO_EXTRAS) as unknown[];
    const leaseMs = extras[3] as number | null;
    if (runAt.getTime() !== t[7]) runAt = new Date(t[7] as number);
    if (createdAt.getTime() !== t[8]) createdAt = new Date(t[8] as number);
    const job = decodeClaimedJob(
      {
        id: t[0] as string,
        task: t[1] as string,
        queue: t[2] as string,
        payload: t[3],
        state: 'running',
        priority: t[4] as number,
        attempt: t[5] as number,
        max_attempts: t[6] as number,
        run_at: runAt,
        created_at: createdAt,
        updated_at: startedAt,
        started_at: startedAt,
        finished_at: null,
        lease_expires_at: leaseMs === null ? defaultLeaseEnd : new Date(startedMs + leaseMs),
        lease_token: leaseToken,
        worker_id: workerId,
        result: null,
        error: extras[0] as JobError | null,
        idempotency_key: extras[1] as string | null,
        concurrency_key: extras[2] as string | null,
        group_key: extras[11] as string | null,
        lease_ms: leaseMs,
        timeout_ms: extras[4] as number | null,
        checkpoint: extras[5],
        cancel_requested: extras[6] as boolean,
        schedule_id: extras[7] as string | null,
        schedule_slot: date(extras[8]),
        parent_id: extras[9] as string | null,
        requires: extras[10] as string[] | null,
        trace_context: t[10] as string | null,
      },
      POSTGRES_JOB_COLUMNS,
    );
    jobs[i] = job;
    if (ordered && i > 0 && claimOrder(jobs[i - 1]!, job) > 0) ordered = false;
  }
  // string_agg keeps the order the UPDATE reached its rows in (primary-key order), not claim order.
  // Plain jobs enqueued together already come in claim order (time-ordered ids, equal priority), so
  // the check usually saves the sort.
  return ordered ? jobs : jobs.sort(claimOrder);
}

function claimOrder(a: ClaimedJob, b: ClaimedJob): number {
  return (
    b.priority - a.priority ||
    a.runAt.getTime() - b.runAt.getTime() ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** The extras of a job whose rarely used columns are all NULL (see sql/job-batch.ts `EXTRAS`). */
const NO_EXTRAS: readonly unknown[] = [
  null,
  null,
  null,
  null,
  null,
  null,
  false,
  null,
  null,
  null,
  null,
  null,
];
