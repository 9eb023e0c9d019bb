/**
 * Bulk enqueue. One INSERT ... SELECT FROM unnest(column arrays) whatever the batch size: one parse,
 * one round trip, one WAL flush at commit. Measured on the development machine: see the "PostgreSQL hot
 * path" section of docs/ARCHITECTURE.md.
 *
 * The due decision (queued or scheduled) is made on the database clock. A repeated idempotency key (or
 * id) is skipped by ON CONFLICT DO NOTHING (which waits for an in-flight inserter of the same key to
 * commit or roll back) and the caller reads the existing row in a later statement, whose newer snapshot
 * sees it.
 *
 * Each new job also gets its job_queue row (the ready and scheduled sets, see migration 005) and its
 * `job:enqueued` event (migration 010), in the same statement.
 *
 * The inserted jobs come back as one text value holding only what the database decided for each (see
 * job-batch.ts); the caller knows the rest.
 *
 * The statement notifies `ready` once per queue that got rows, not once per row (for scheduled rows
 * too: a waiting worker's next claim learns when they are due); NOTIFY is delivered at commit, so a
 * rolled-back transactional enqueue wakes nobody.
 */

import { jobInsertManyBatchSelect } from './job-batch.js';
import { jobEventInsert } from './events.js';
import { dueColumn } from './job-read.js';

/**
 * The fence of a child insert (`jobInsertMany` with `fenced`): the parent attempt's job row, $22 id and
 * $23 lease token, locked while that lease is current. The statement inserts only when it found the row
 * (`fenced` in its answer), and keeps the lock until its transaction ends: the statement's own when it
 * runs alone, so the children commit before any rescue, cancel or finish can take the lease; the
 * caller's on a caller's `tx`.
 *
 * FOR SHARE is the weakest lock that fences: every statement that changes a running job's lease token
 * or state is an UPDATE of its row, whose lock (FOR NO KEY UPDATE) conflicts with it, while FOR KEY
 * SHARE lets such an UPDATE through. Share locks do not conflict with each other, so an attempt's
 * concurrent child inserts do not wait for one another. When a writer holds the row, the lock waits
 * for it and then reads the row as it committed (READ COMMITTED): a lease taken meanwhile fails the
 * fence. The rescue locks with SKIP LOCKED, so it passes the job over rather than wait, and rescues it
 * on a later pass.
 *
 * MATERIALIZED: run once, before any row goes in, and read by the insert's input and by the answer. A
 * primary-key lookup whatever the statistics (pinned in test/postgres/hot-plans.test.ts).
 */
const jobInsertManyFence = (s: string): string => `fence AS MATERIALIZED (
    SELECT FROM ${s}.jobs WHERE id = $22::uuid AND lease_token = $23::uuid AND state = 'running' FOR SHARE
  ), `;

/**
 * $1 ids, $2 tasks, $3 queues, $4 payloads (JSON text), $5 priorities, $6 run_at, $7 delay ms,
 * $8 max attempts, $9 idempotency keys, $10 concurrency keys, $11 lease ms, $12 timeout ms,
 * $13 schedule ids, $14 schedule slots, $15 parent ids, $16 channel, $17 origin, $18 trace contexts,
 * $19 concurrency limits, $20 required labels (each job's as the text of an array literal, NULL for
 * none: an array of arrays cannot hold lists of different lengths), $21 groups. Only $1-$5 and $8 hold
 * one element per job: an optional column no job of the batch sets comes as an empty array, which
 * unnest pads with NULLs. With `fenced`, $22 and $23 name the attempt that fences the insert (see
 * `jobInsertManyFence`), and the answer says whether it held (`fenced`): when not, nothing was written.
 */
export const jobInsertMany = (s: string, fenced = false): string => {
  // Without the fence there are no input rows: nothing is inserted, and no conflicting key waited for.
  const gate = fenced ? 'WHERE EXISTS (SELECT FROM fence)' : '';
  return `
  WITH ${fenced ? jobInsertManyFence(s) : ''}input AS (
    SELECT i.*,
           coalesce(i.run_at, ${s}.nightshift_now() + coalesce(i.delay_ms, 0) * interval '1 millisecond') AS due
    FROM unnest(
      $1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::float8[], $8::int[],
      $9::text[], $10::text[], $11::int[], $12::int[], $13::text[], $14::timestamptz[], $15::text[], $18::text[],
      $19::int[], $20::text[], $21::text[]
    ) AS i(id, task, queue, payload, priority, run_at, delay_ms, max_attempts,
           idempotency_key, concurrency_key, lease_ms, timeout_ms, schedule_id, schedule_slot, parent_id,
           trace_context, concurrency_limit, requires, group_key)
    ${gate}
  ), inserted AS (
    INSERT INTO ${s}.jobs (id, task, queue, payload, state, priority, max_attempts, run_at, idempotency_key,
                           concurrency_key, lease_ms, timeout_ms, schedule_id, schedule_slot, parent_id,
                           trace_context, concurrency_limit, requires, group_key)
    SELECT id, task, queue, payload::json,
           CASE WHEN due <= ${s}.nightshift_now() THEN 'queued'::${s}.job_state ELSE 'scheduled'::${s}.job_state END,
           priority, max_attempts, due, idempotency_key, concurrency_key, lease_ms, timeout_ms,
           schedule_id, schedule_slot, parent_id, trace_context, concurrency_limit, requires::text[], group_key
    FROM input
    -- No conflict target: a repeated idempotency key AND a repeated id are both skipped. The id case is
    -- a caller retrying a batch whose COMMIT went through while the connection died before the reply;
    -- its retry then reads the jobs it already made instead of failing on the primary key.
    ON CONFLICT DO NOTHING
    RETURNING id, task, queue, priority, state, run_at, created_at, schedule_id, concurrency_key, concurrency_limit,
              requires, group_key
  ), waiting AS (
    INSERT INTO ${s}.job_queue (id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key)
    SELECT id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key FROM inserted
  ), enqueued AS (${jobEventInsert(s, 'inserted', { type: "'job:enqueued'", attempt: '0', state: 'state' })}
  ), notified AS (
    SELECT pg_notify($16, json_build_object('o', $17::text, 'q', queue)::text)
    FROM (SELECT DISTINCT queue FROM inserted) q
  )
  SELECT ${fenced ? 'EXISTS (SELECT FROM fence) AS fenced, ' : ''}(SELECT count(*) FROM notified) AS notified,
  ${jobInsertManyBatchSelect('inserted', '$1::uuid[]')}`;
};

/** Existing jobs for ids or idempotency keys that conflicted, as they read now (dueColumn). $1 ids, $2 keys. */
export const jobInsertManyExisting = (s: string): string =>
  `SELECT j.*, ${dueColumn(s, 'j')} FROM ${s}.jobs j WHERE id = ANY($1::uuid[]) OR idempotency_key = ANY($2::text[])`;
