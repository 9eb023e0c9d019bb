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
 * $1 ids, $2 tasks, $3 queues, $4 payloads (JSON text), $5 priorities, $6 run_at, $7 delay ms,
 * $8 max attempts, $9 idempotency keys, $10 concurrency keys, $11 lease ms, $12 timeout ms,
 * $13 schedule ids, $14 schedule slots, $15 parent ids, $16 channel, $17 origin, $18 trace contexts,
 * $19 concurrency limits, $20 required labels (each job's as the text of an array literal, NULL for
 * none: an array of arrays cannot hold lists of different lengths), $21 groups. Only $1-$5 and $8 hold
 * one element per job: an optional column no job of the batch sets comes as an empty array, which
 * unnest pads with NULLs.
 */
export const jobInsertMany = (s: string): string => `
  WITH input AS (
    SELECT i.*,
           coalesce(i.run_at, ${s}.nightshift_now() + coalesce(i.delay_ms, 0) * interval '1 millisecond') AS due
    FROM unnest(
      $1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::float8[], $8::int[],
      $9::text[], $10::text[], $11::int[], $12::int[], $13::text[], $14::timestamptz[], $15::text[], $18::text[],
      $19::int[], $20::text[], $21::text[]
    ) AS i(id, task, queue, payload, priority, run_at, delay_ms, max_attempts,
           idempotency_key, concurrency_key, lease_ms, timeout_ms, schedule_id, schedule_slot, parent_id,
           trace_context, concurrency_limit, requires, group_key)
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
  SELECT (SELECT count(*) FROM notified) AS notified, ${jobInsertManyBatchSelect('inserted', '$1::uuid[]')}`;

/** Existing jobs for ids or idempotency keys that conflicted, as they read now (dueColumn). $1 ids, $2 keys. */
export const jobInsertManyExisting = (s: string): string =>
  `SELECT j.*, ${dueColumn(s, 'j')} FROM ${s}.jobs j WHERE id = ANY($1::uuid[]) OR idempotency_key = ANY($2::text[])`;

/**
 * Holds the parent attempt's row for the rest of the transaction, so neither a rescue nor a newer claim
 * can take the lease between this check and the child insert. $1 id, $2 lease token.
 */
export const jobInsertManyLockFence = (s: string): string =>
  `SELECT 1 FROM ${s}.jobs WHERE id = $1 AND lease_token = $2 AND state = 'running' FOR SHARE`;
