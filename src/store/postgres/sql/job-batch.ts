/**
 * The SQL side of job-batch.ts: the answers of the two bulk hot-path statements, claim and enqueue, as
 * ONE text value per statement (why, and the decoders that read these positions, in ../job-batch.ts).
 * A position changed here is changed in the decoder too.
 */
import { jobClaimGroupsWaiting } from './job-groups.js';
import { jobClaimLabelsFit } from './worker-labels.js';
import { rateWaitMs } from './rate-limits.js';

/** Epoch milliseconds of a timestamptz (floor, like node-postgres's own parser); NULL stays NULL. */
// date_part, not extract: extract returns numeric since PostgreSQL 14, and numeric arithmetic per value
// is measurably slower than float8 on a 100-job batch.
const ms = (column: string): string => `floor(date_part('epoch', ${column}) * 1000)`;

/**
 * The enqueue's answer from CTE `cte` (the INSERT's RETURNING id, state, run_at, created_at): only what
 * the database decided, the due state and time (on its clock) and the creation time; everything else
 * of a new job is what the caller sent. Most jobs are due at once: queued, due at their creation,
 * which every job of the statement shares. So the answer is `created_ms` (that time, NULL when nothing
 * was inserted), `decided` ("id state run-ms" for each new job that is not queued at its creation
 * time, comma-separated) and `ids` (every new job's id, comma-separated, only when fewer jobs were
 * inserted than `ids` (the statement's id array) holds: an id or an idempotency key was taken; NULL
 * when every job is new). Per job, a batch of due jobs costs the text of nothing.
 */
export const jobInsertManyBatchSelect = (cte: string, ids: string): string =>
  `${ms('min(created_at)')} AS created_ms,
  coalesce(string_agg(id || ' ' || state || ' ' || ${ms('run_at')}, ',')
             FILTER (WHERE state <> 'queued' OR run_at <> created_at), '') AS decided,
  CASE WHEN count(*) < cardinality(${ids}) THEN (SELECT string_agg(id::text, ',') FROM ${cte}) END AS ids
  FROM ${cte}`;

/**
 * The claim's answer is lean: a tuple carries only what differs between jobs and is not known to the
 * claimer. State, worker id, start, lease end and finish are implied by the claim itself, the lease
 * token is the claim's own, and the columns that are NULL for almost every job (previous error, keys,
 * overrides, checkpoint, schedule, parent, required labels, group) travel as one `extras` json value that is NULL when all of
 * them are.
 */
const EXTRAS = `CASE WHEN j.error IS NULL AND j.idempotency_key IS NULL AND j.concurrency_key IS NULL
          AND j.lease_ms IS NULL AND j.timeout_ms IS NULL AND j.checkpoint IS NULL AND NOT j.cancel_requested
          AND j.schedule_id IS NULL AND j.parent_id IS NULL AND j.requires IS NULL AND j.group_key IS NULL
     THEN 'null'
     ELSE json_build_array(j.error, j.idempotency_key, j.concurrency_key, j.lease_ms, j.timeout_ms, j.checkpoint,
                           j.cancel_requested, j.schedule_id, ${ms('j.schedule_slot')}, j.parent_id,
                           j.requires, j.group_key)::text END`;

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
export const jobClaimLine = `'["' || j.id || '",' || to_json(j.task) || ',' || to_json(j.queue) || ','
  || coalesce(j.payload::text, 'null') || ',' || j.priority || ',' || j.attempt || ',' || j.max_attempts || ','
  || ${ms('j.run_at')} || ',' || ${ms('j.created_at')} || ',' || ${EXTRAS} || ','
  || CASE WHEN j.trace_context IS NULL THEN 'null' ELSE to_json(j.trace_context)::text END || ']'`;

/**
 * Milliseconds until the earliest scheduled job of the claim's queues (`restricted`: those of $4) is
 * due, by the store's clock; NULL when none is scheduled. Read from the statement's snapshot, where the
 * due rows this claim promoted are still scheduled: it is then 0 or less, and the next claim finds them
 * queued. One probe of job_queue_scheduled_idx (per queue: job_queue_scheduled_queue_idx).
 */
const nextDueMs = (s: string, restricted: boolean): string => {
  const wait = `floor(date_part('epoch', run_at - ${s}.nightshift_now()) * 1000)`;
  return restricted
    ? `(SELECT min(d.wait) FROM unnest($4::text[]) AS q(name)
       CROSS JOIN LATERAL (SELECT ${wait} AS wait FROM ${s}.job_queue
                           WHERE state = 'scheduled' AND queue = q.name ORDER BY run_at LIMIT 1) d)`
    : `(SELECT ${wait} FROM ${s}.job_queue WHERE state = 'scheduled' ORDER BY run_at LIMIT 1)`;
};

/**
 * The claim's answer from the `claimed` CTE of lines and the `lease` CTE: the claim's time (the store's
 * clock, fixed for the statement), its lease token (every job of the batch shares it), the batch as
 * json text, and what the store needs to claim grouped jobs (postgres/job-claim.ts): how many grouped
 * due rows it promoted that this worker may take (from `due`: they become claimable by turns from the
 * next statement on); whether grouped jobs it may take wait (a statement without `groups`: one probe
 * of job_queue_ready_group_idx, and for a labelled worker (`labels`) the requirement sets of grouped
 * rows, only when its batch is short; one with: whether its walk found a ready pair, or the batch left
 * no place to walk for); whether the groups dealt turns had fewer jobs to take than turns
 * (sql/job-groups.ts); whether the claim met a limited queue or a keyed job (`limits_needed`: the
 * lean statement took neither; a full one says whether the lean one would have done); for a short
 * batch, when the next scheduled job is due or a rate out of starts allows one again (`next_due_ms`,
 * see nextDueMs and rate-limits.ts `rateWaitMs`; NULL for a full batch).
 */
export const jobClaimBatchSelect = (
  s: string,
  groups: boolean,
  labels: string | null,
  limits: boolean,
  restricted: boolean,
): string => `SELECT ${ms(`${s}.nightshift_now()`)} AS started_ms,
  CASE WHEN count(*) < $2 THEN least(${nextDueMs(s, restricted)}, ${rateWaitMs(s, restricted, limits)}) END
    AS next_due_ms,
  (SELECT token FROM lease) AS lease_token, '[' || coalesce(string_agg(line, ','), '') || ']' AS batch,
  (SELECT count(*) FROM due WHERE group_key IS NOT NULL AND ${jobClaimLabelsFit(labels)})::integer AS grouped_promoted,
  ${
    limits
      ? `EXISTS (SELECT 1 FROM queue_slots) OR EXISTS (SELECT 1 FROM ranked WHERE concurrency_key IS NOT NULL)`
      : `(SELECT found FROM limited) OR EXISTS (SELECT 1 FROM ready WHERE concurrency_key IS NOT NULL)
    OR EXISTS (SELECT 1 FROM due WHERE concurrency_key IS NOT NULL)${
      groups ? ' OR EXISTS (SELECT 1 FROM grouped WHERE concurrency_key IS NOT NULL)' : ''
    }`
  } AS limits_needed,
  ${
    groups
      ? `(SELECT n FROM group_places) = 0 OR EXISTS (SELECT 1 FROM group_walk WHERE head IS NOT NULL)
    AS grouped_waiting,
  (SELECT coalesce(sum(turns), 0) FROM group_dealt) > (SELECT count(*) FROM grouped) AS grouped_short`
      : `CASE WHEN count(*) < $2 THEN ${jobClaimGroupsWaiting(s, labels)} ELSE false END AS grouped_waiting,
  false AS grouped_short`
  }
  FROM claimed`;
