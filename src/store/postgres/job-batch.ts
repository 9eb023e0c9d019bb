/**
 * A batch of jobs (claimed or inserted) travels as ONE json text value instead of ~28 typed columns
 * per job. node-postgres decodes a row column by column (a Buffer slice, a string and a parser call per
 * field, five timestamps per job), which made row decoding and the garbage it leaves the largest Node
 * cost of the claim; one native JSON.parse of the whole batch, with timestamps as epoch milliseconds,
 * replaces it. The server builds the JSON in the same statement (json_agg over the CTE's rows).
 *
 * The column order lives only here: the SQL is generated from JOB_TUPLE and the decoder reads the
 * same positions.
 */
import type { Job, JobError, JobState } from '../../job.js';
import { unbox } from './job-row.js';
import type { ClaimedJob } from '../store.js';

/** Epoch milliseconds of a timestamptz (floor, like node-postgres's own parser); NULL stays NULL. */
const ms = (column: string): string => `floor(extract(epoch from ${column}) * 1000)`;

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

/** The select list turning the `claimed` CTE into one json array of tuples, in claim order. */
export const CLAIMED_BATCH_SELECT = `SELECT ${jobBatchSelect('claimed', 'priority DESC, run_at, id')}`;

const date = (value: unknown): Date | null => (value === null ? null : new Date(value as number));

/** The jobs of a batch produced by `jobBatchSelect`. */
export function decodeJobBatch(batch: string): Job[] {
  return (JSON.parse(batch) as unknown[][]).map(jobOfTuple);
}

/** The claimed jobs of a batch produced by CLAIMED_BATCH_SELECT. */
export function decodeClaimedBatch(batch: string): ClaimedJob[] {
  return (JSON.parse(batch) as unknown[][]).map((t) => ({ ...jobOfTuple(t), leaseToken: t[26] as string }));
}

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
