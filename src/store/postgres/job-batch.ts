/**
 * The answers of the two bulk hot-path statements, claim and enqueue, each as ONE text value per
 * statement instead of typed columns per job. node-postgres decodes a row column by column (a Buffer
 * slice, a string and a parser call per field), which made row decoding and its garbage the largest
 * Node cost of the claim. The server concatenates the text in the same statement: json_build_array
 * would look up every argument's type and output function on every call (~20-27k instructions per
 * job, as much as the row write), while a cast keeps its output function.
 *
 * The positions live only here: the SQL is generated next to the decoder that reads it.
 */
import type { Job, JobError, JobState } from '../../job.js';
import { decodeClaimedJob } from '../job-record.js';
import { toJob, POSTGRES_JOB_COLUMNS } from './job-row.js';
import type { ClaimedJob, NewJob } from '../store.js';

/** Epoch milliseconds of a timestamptz (floor, like node-postgres's own parser); NULL stays NULL. */
// date_part, not extract: extract returns numeric since PostgreSQL 14, and numeric arithmetic per value
// is measurably slower than float8 on a 100-job batch.
const ms = (column: string): string => `floor(date_part('epoch', ${column}) * 1000)`;

const date = (value: unknown): Date | null => (value === null ? null : new Date(value as number));

/**
 * The enqueue's answer from CTE `cte` (the INSERT's RETURNING id, state, run_at, created_at), as column
 * `batch`: "id state run-ms created-ms" per inserted job, comma-separated. Only what the database
 * decided: the due state and time (on its clock) and the creation time. Everything else of a new job
 * is what the caller sent.
 */
export const INSERTED_BATCH_SELECT = (cte: string): string =>
  `coalesce(string_agg(id || ' ' || state || ' ' || ${ms('run_at')} || ' ' || ${ms('created_at')}, ','), '')
  AS batch FROM ${cte}`;

/**
 * The jobs an enqueue created, by id: each built from its `NewJob` and the database's decisions in
 * `batch` (see INSERTED_BATCH_SELECT). `payloads` are the JSON texts that were stored, parsed again so
 * the job reads exactly as it will from the database (a Date in a payload comes back as a string).
 */
export function decodeInsertedBatch(
  batch: string,
  jobs: NewJob[],
  payloads: Array<string | null>,
): Map<string, Job> {
  const created = new Map<string, Job>();
  if (batch === '') return created;
  const byId = new Map<string, number>();
  // The first of repeated ids is the one the INSERT kept.
  jobs.forEach((job, index) => {
    const id = job.id.toLowerCase();
    if (!byId.has(id)) byId.set(id, index);
  });
  for (const entry of batch.split(',')) {
    const [id = '', state, runMs, createdMs] = entry.split(' ');
    const index = byId.get(id);
    if (index === undefined) continue;
    const input = jobs[index]!;
    const payload = payloads[index] ?? null;
    const createdAt = new Date(Number(createdMs));
    const job = toJob({
      id,
      task: input.task,
      queue: input.queue,
      payload: payload === null ? null : JSON.parse(payload),
      state: state as JobState,
      priority: input.priority,
      attempt: 0,
      max_attempts: input.maxAttempts,
      run_at: new Date(Number(runMs)),
      created_at: createdAt,
      updated_at: createdAt,
      started_at: null,
      finished_at: null,
      lease_expires_at: null,
      lease_token: null,
      worker_id: null,
      result: null,
      error: null,
      idempotency_key: input.idempotencyKey,
      concurrency_key: input.concurrencyKey,
      lease_ms: input.leaseMs,
      timeout_ms: input.timeoutMs,
      checkpoint: null,
      cancel_requested: false,
      schedule_id: input.scheduleId,
      schedule_slot: input.scheduleSlot === null ? null : new Date(input.scheduleSlot.getTime()),
      parent_id: input.parentId,
      trace_context: input.traceContext ?? null,
    });
    created.set(id, job);
  }
  return created;
}

/**
 * The claim's answer is lean: a tuple carries only what differs between jobs and is not known to the
 * claimer. State, worker id, start, lease end and finish are implied by the claim itself, the lease
 * token is the claim's own, and the columns that are NULL for almost every job (previous error, keys,
 * overrides, checkpoint, schedule, parent) travel as one `extras` json value that is NULL when all of
 * them are.
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
 * escaping, the payload is json text already, and only the two names and a trace context go through
 * to_json. The trace context is NULL unless the application traces, and then the CASE answers the
 * constant 'null' without a function call; it stays out of EXTRAS, where a traced job would pay
 * json_build_array for all ten extras.
 */
export const CLAIMED_LINE = `'["' || j.id || '",' || to_json(j.task) || ',' || to_json(j.queue) || ','
  || coalesce(j.payload::text, 'null') || ',' || j.priority || ',' || j.attempt || ',' || j.max_attempts || ','
  || ${ms('j.run_at')} || ',' || ${ms('j.created_at')} || ',' || ${EXTRAS} || ','
  || CASE WHEN j.trace_context IS NULL THEN 'null' ELSE to_json(j.trace_context)::text END || ']'`;

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
        lease_ms: leaseMs,
        timeout_ms: extras[4] as number | null,
        checkpoint: extras[5],
        cancel_requested: extras[6] as boolean,
        schedule_id: extras[7] as string | null,
        schedule_slot: date(extras[8]),
        parent_id: extras[9] as string | null,
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

/** The extras of a job whose rarely used columns are all NULL (see EXTRAS). */
const NO_EXTRAS: readonly unknown[] = [null, null, null, null, null, null, false, null, null, null];
