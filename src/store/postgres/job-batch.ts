/**
 * A batch of jobs (claimed or inserted) travels as ONE json text value instead of ~28 typed columns
 * per job. node-postgres decodes a row column by column (a Buffer slice, a string and a parser call per
 * field, five timestamps per job), which made row decoding and the garbage it leaves the largest Node
 * cost of the claim; one native JSON.parse of the whole batch, with timestamps as epoch milliseconds,
 * replaces it. The server builds the JSON in the same statement: json_agg over the CTE's rows for an
 * insert, and for the hot claim a cheaper concatenation (see CLAIMED_LINE).
 *
 * The column order lives only here: the SQL is generated from JOB_TUPLE and the decoder reads the
 * same positions.
 */
import type { Job, JobError, JobState } from '../../job.js';
import { unbox } from './job-row.js';
import type { ClaimedJob } from '../store.js';

/** Epoch milliseconds of a timestamptz (floor, like node-postgres's own parser); NULL stays NULL. */
// date_part, not extract: extract returns numeric since PostgreSQL 14, and numeric arithmetic per value
// is measurably slower than float8 on a 100-job batch.
const ms = (column: string): string => `floor(date_part('epoch', ${column}) * 1000)`;

// Positions in each tuple; decodeClaimedBatch reads them in this order.
const JOB_TUPLE = [
  'id',
  'task',
  'queue',
  'payload',
  'state',
  'priority',
  'attempt',
  'max_attempts',
  ms('run_at'),
  ms('created_at'),
  ms('updated_at'),
  ms('started_at'),
  ms('finished_at'),
  ms('lease_expires_at'),
  'worker_id',
  'result',
  'error',
  'idempotency_key',
  'concurrency_key',
  'lease_ms',
  'timeout_ms',
  'checkpoint',
  'cancel_requested',
  'schedule_id',
  ms('schedule_slot'),
  'parent_id',
  'lease_token',
] as const;

/** A SELECT turning the rows of CTE `cte` into one json array of job tuples, as column `batch`. */
export function jobBatchSelect(cte: string, order: string): string {
  return `coalesce(json_agg(json_build_array(${JOB_TUPLE.join(', ')}) ORDER BY ${order}), '[]')::text AS batch
  FROM ${cte}`;
}

const date = (value: unknown): Date | null => (value === null ? null : new Date(value as number));

/** The jobs of a batch produced by `jobBatchSelect`. */
export function decodeJobBatch(batch: string): Job[] {
  return (JSON.parse(batch) as unknown[][]).map(jobOfTuple);
}

/**
 * The claim's answer: one row per claimed job, straight from the claim's UPDATE ... RETURNING, read as
 * arrays in the positions of CLAIM_RETURNING. Each row carries `started_ms` (the claim's now(), which
 * is every claimed job's started_at and updated_at, and the base of its lease).
 *
 * Rows rather than one json value: building json cost the server about as much per job as the row
 * update itself (json_build_array looks up each argument's type on every call, and the RETURNING rows
 * had to be copied into a CTE to be aggregated), while node-postgres reads these few plain columns
 * about as fast as it parses the json. Callgrind on PostgreSQL 15 at 100 jobs per claim: see
 * docs/ARCHITECTURE.md ("Per-row costs, counted").
 *
 * Lean: a row carries only what differs between jobs and is not known to the claimer. State, worker
 * id, start, lease end and finish are implied by the claim itself, and the columns that are NULL for
 * almost every job (previous error, keys, overrides, checkpoint, schedule, parent) travel as one
 * `extras` json value that is NULL when all of them are.
 */
const EXTRAS = `CASE WHEN j.error IS NULL AND j.idempotency_key IS NULL AND j.concurrency_key IS NULL
          AND j.lease_ms IS NULL AND j.timeout_ms IS NULL AND j.checkpoint IS NULL AND NOT j.cancel_requested
          AND j.schedule_id IS NULL AND j.parent_id IS NULL THEN 'null'
     ELSE json_build_array(j.error, j.idempotency_key, j.concurrency_key, j.lease_ms, j.timeout_ms, j.checkpoint,
                           j.cancel_requested, j.schedule_id, ${ms('j.schedule_slot')}, j.parent_id)::text END`;

/**
 * One claimed job as the text of a json array, from the claim's UPDATE ... RETURNING (alias `j`);
 * decodeClaimedBatch reads its positions. Concatenated rather than built with json_build_array: that
 * looks up every argument's type and output function on every call, which cost the server as much per
 * job as the row update itself. Here each cast keeps its output function, uuids and numbers need no
 * escaping, the payload is json text already, and only the two names go through to_json.
 */
export const CLAIMED_LINE = `'["' || j.id || '",' || to_json(j.task) || ',' || to_json(j.queue) || ','
  || coalesce(j.payload::text, 'null') || ',' || j.priority || ',' || j.attempt || ',' || j.max_attempts || ','
  || ${ms('j.run_at')} || ',' || ${ms('j.created_at')} || ',' || ${EXTRAS} || ']'`;

/**
 * The claim's answer from the `claimed` CTE of lines and the `lease` CTE: the claim's now(), its lease
 * token (every job of the batch shares it) and the batch as json text.
 */
export const CLAIMED_BATCH_SELECT = `SELECT ${ms('now()')} AS started_ms, (SELECT token FROM lease) AS lease_token,
  '[' || coalesce(string_agg(line, ','), '') || ']' AS batch
  FROM claimed`;

/** The claim's answer as a row. */
export interface ClaimedBatchRow {
  started_ms: number;
  lease_token: string;
  batch: string;
}

/**
 * The claimed jobs of a claim's answer, in claim order (priority, due time, id). `workerId` and
 * `defaultLeaseMs` are the claim's own parameters: the server computed each lease end as its now()
 * plus the job's lease override or that default.
 */
export function decodeClaimedBatch(
  row: ClaimedBatchRow | undefined,
  workerId: string,
  defaultLeaseMs: number,
): ClaimedJob[] {
  if (row === undefined) return [];
  const startedMs = Number(row.started_ms);
  const startedAt = new Date(startedMs);
  const leaseToken = row.lease_token;
  const jobs = (JSON.parse(row.batch) as unknown[][]).map((t): ClaimedJob => {
    const extras = (t[9] ?? NO_EXTRAS) as unknown[];
    const leaseMs = extras[3] as number | null;
    return {
      id: t[0] as string,
      task: t[1] as string,
      queue: t[2] as string,
      payload: t[3],
      state: 'running',
      priority: t[4] as number,
      attempt: t[5] as number,
      maxAttempts: t[6] as number,
      runAt: new Date(t[7] as number),
      createdAt: new Date(t[8] as number),
      updatedAt: startedAt,
      startedAt,
      finishedAt: null,
      leaseExpiresAt: new Date(startedMs + (leaseMs ?? defaultLeaseMs)),
      workerId,
      result: null,
      error: extras[0] as JobError | null,
      idempotencyKey: extras[1] as string | null,
      concurrencyKey: extras[2] as string | null,
      leaseMs,
      timeoutMs: extras[4] as number | null,
      checkpoint: unbox(extras[5]),
      cancelRequested: extras[6] as boolean,
      scheduleId: extras[7] as string | null,
      scheduleSlot: date(extras[8]),
      parentId: extras[9] as string | null,
      leaseToken,
    };
  });
  // string_agg keeps the order the UPDATE reached its rows in (primary-key order), not claim order.
  // Plain jobs enqueued together already come in claim order (time-ordered ids, equal priority), so
  // the check usually saves the sort.
  for (let i = 1; i < jobs.length; i += 1) {
    if (claimOrder(jobs[i - 1]!, jobs[i]!) > 0) return jobs.sort(claimOrder);
  }
  return jobs;
}

function claimOrder(a: ClaimedJob, b: ClaimedJob): number {
  return (
    b.priority - a.priority ||
    a.runAt.getTime() - b.runAt.getTime() ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** The extras of a job whose rarely used columns are all NULL (see CLAIM_TUPLE). */
const NO_EXTRAS: readonly unknown[] = [null, null, null, null, null, null, false, null, null, null];

function jobOfTuple(t: unknown[]): Job {
  return {
    id: t[0] as string,
    task: t[1] as string,
    queue: t[2] as string,
    payload: t[3],
    state: t[4] as JobState,
    priority: t[5] as number,
    attempt: t[6] as number,
    maxAttempts: t[7] as number,
    runAt: new Date(t[8] as number),
    createdAt: new Date(t[9] as number),
    updatedAt: new Date(t[10] as number),
    startedAt: date(t[11]),
    finishedAt: date(t[12]),
    leaseExpiresAt: date(t[13]),
    workerId: t[14] as string | null,
    result: t[15] ?? null,
    error: (t[16] ?? null) as JobError | null,
    idempotencyKey: t[17] as string | null,
    concurrencyKey: t[18] as string | null,
    leaseMs: t[19] as number | null,
    timeoutMs: t[20] as number | null,
    checkpoint: unbox(t[21]),
    cancelRequested: t[22] as boolean,
    scheduleId: t[23] as string | null,
    scheduleSlot: date(t[24]),
    parentId: t[25] as string | null,
  };
}
