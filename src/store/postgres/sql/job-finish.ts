/**
 * Ending attempts, in batches. Plain completions, nearly every finish at high throughput, take
 * `jobFinishManyComplete`; every other outcome takes `jobFinishMany`.
 *
 * `jobFinishManyComplete` writes no run-history row: a completed job is final (no retry, cancel or rescue
 * touches it again), so its row already holds everything its last run would repeat (attempt, worker,
 * start, end, due time) and `jobRunList` reads that run from it. That saves an insert and an index
 * insert per job, the most frequent write of the system. A completion that overran its max duration
 * takes `jobFinishMany`, which records the flag in a real run row.
 *
 * The UPDATE matches exactly the rows whose lease token is still current (a stale attempt's finish
 * matches nothing, so it changes nothing and is reported as refused). Waiting on a row another
 * transaction holds, PostgreSQL re-checks the token on the newest row version, so a finish racing a
 * rescue loses cleanly; the new state reads `cancel_requested` from that newest version too.
 *
 * `jobFinishMany`: the self-join `o` supplies the attempt's values from before the update (attempt, start, due time)
 * for the run-history row, written by the same statement (data-modifying CTE) so history and state
 * never disagree. Those values can be trusted because everything that changes them also changes the
 * lease token, which the UPDATE just proved current. A SELECT ... FOR UPDATE first would do the same
 * with a second heap write (the row lock) per job; this way each finished job costs one.
 *
 * Every finish changes its job's row in place (no index of `jobs` covers a column it writes, see
 * migration 005). Jobs that reached a final state are listed in one `job_finish_log` row per statement
 * (retention's order); released and retried jobs get their `job_queue` row back.
 *
 * Each accepted finish writes its event (`job:completed`, `job:failed`, `job:retrying`,
 * `job:cancelled`; none for a release, which gives its attempt back) in the same statement.
 *
 * Notifications: `finished` carries (id, state) pairs of jobs that reached a final state, grouped 100 per
 * message to stay under NOTIFY's 8,000-byte payload limit; `ready` fires once per queue that got a
 * released job back; `capacity` once per statement that gave back a queue slot or a concurrency key.
 */

import { jobFinishManyEventType, jobEventInsert } from './events.js';
import { capacityNote, giveBack } from './concurrency-limits.js';

/**
 * $1 ids, $2 lease tokens, $3 outcomes, $4 results (JSON text), $5 errors (JSON text), $6 retry delay
 * ms (null: no retry), $7 has-checkpoint flags, $8 checkpoints (boxed JSON text), $9 max-duration flags,
 * $10 channel, $11 origin.
 */
export const jobFinishMany = (s: string): string => `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[],
                         $7::boolean[], $8::text[], $9::boolean[])
      AS i(id, lease_token, outcome, result, error, retry_ms, has_checkpoint, checkpoint, max_duration_exceeded)
  ), updated AS (
    UPDATE ${s}.jobs j
    SET state = CASE
          WHEN i.outcome = 'completed' THEN 'completed'::${s}.job_state
          WHEN i.outcome = 'cancelled' OR j.cancel_requested THEN 'cancelled'::${s}.job_state
          WHEN i.outcome = 'released' AND i.retry_ms IS NULL THEN 'queued'::${s}.job_state
          -- Retries, and releases that wait (a task the releasing worker does not implement).
          WHEN i.retry_ms IS NOT NULL THEN 'scheduled'::${s}.job_state
          ELSE 'failed'::${s}.job_state
        END,
        -- A graceful release gives its attempt back.
        attempt = CASE WHEN i.outcome = 'released' AND NOT j.cancel_requested THEN j.attempt - 1
                       ELSE j.attempt END,
        run_at = CASE WHEN i.retry_ms IS NOT NULL AND NOT j.cancel_requested
                      THEN ${s}.nightshift_now() + i.retry_ms * interval '1 millisecond' ELSE j.run_at END,
        finished_at = CASE WHEN i.outcome IN ('completed', 'cancelled') OR j.cancel_requested
                             OR (i.outcome IN ('failed', 'timeout') AND i.retry_ms IS NULL)
                           THEN ${s}.nightshift_now() END,
        result = CASE WHEN i.outcome = 'completed' THEN i.result::json ELSE j.result END,
        error = CASE WHEN i.outcome = 'completed' THEN NULL ELSE coalesce(i.error::jsonb, j.error) END,
        checkpoint = CASE WHEN i.has_checkpoint THEN i.checkpoint::json ELSE j.checkpoint END,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = ${s}.nightshift_now()
    FROM input i, ${s}.jobs o
    -- No extra \`id = ANY($1)\` terms: given those, the planner scanned j by them and re-ran the unnest
    -- for every row as a join filter (quadratic: 12 ms instead of 1 ms per 100 finishes in EXPLAIN).
    WHERE j.id = i.id AND j.lease_token = i.lease_token AND j.state = 'running' AND o.id = i.id
    RETURNING j.id, j.state, j.task, j.queue, j.priority, j.run_at, j.schedule_id, j.concurrency_key,
              j.concurrency_limit, j.requires, j.group_key, j.queue_slot, o.attempt, o.worker_id,
              o.started_at, o.run_at AS due_at, i.outcome, i.error, i.max_duration_exceeded
  ), ${giveBack(s, 'updated')}, ended AS (${jobEventInsert(s, 'updated', {
    type: jobFinishManyEventType('state', 'outcome'),
    attempt: 'attempt',
    state: 'state',
    error: "CASE WHEN state <> 'completed' THEN error END",
  })}
  ), requeued AS (
    -- Released and retried jobs wait in the queue again, under the state and due time just written.
    INSERT INTO ${s}.job_queue (id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key)
    SELECT id, queue, priority, run_at, state, concurrency_key, concurrency_limit, requires, group_key FROM updated WHERE state IN ('queued', 'scheduled')
  ), logged AS (
    INSERT INTO ${s}.job_finish_log (finished_at, job_ids)
    SELECT ${s}.nightshift_now(), array_agg(id) FROM updated WHERE state IN ('completed', 'failed', 'cancelled')
    HAVING count(*) > 0
  ), runs AS (
    INSERT INTO ${s}.job_runs (job_id, attempt, worker_id, started_at, finished_at, due_at, outcome, error,
                               max_duration_exceeded)
    SELECT id, attempt, coalesce(worker_id, ''), coalesce(started_at, ${s}.nightshift_now()),
           ${s}.nightshift_now(), due_at, outcome, error::jsonb, coalesce(max_duration_exceeded, false)
    FROM updated
  ), finished_note AS (
    SELECT pg_notify($10, json_build_object('o', $11::text, 'f', json_agg(json_build_array(id, state)))::text)
    FROM (SELECT id, state, (row_number() OVER ()) / 100 AS page FROM updated
          WHERE state IN ('completed', 'failed', 'cancelled')) f
    GROUP BY page
  ), ready_note AS (
    -- A retry due later too: another process's waiting worker claims once and learns when it is due
    -- (its claim reports it), as for a scheduled job enqueued.
    SELECT pg_notify($10, json_build_object('o', $11::text, 'q', queue)::text)
    FROM (SELECT DISTINCT queue FROM updated WHERE state IN ('queued', 'scheduled')) r
  ), ${capacityNote('updated', '$10', '$11')}
  SELECT id, state, queue,
         (SELECT count(*) FROM finished_note) + (SELECT count(*) FROM ready_note) AS notified,
         (SELECT count(*) FROM capacity_note) > 0 AS freed
  FROM updated`;

/**
 * Plain completions: $1 ids, $2 lease tokens, $3 results (JSON text), $4 channel, $5 origin; answers
 * the accepted ids comma-separated in one row. The
 * `finished` notification lists the ids (key \`c\`, completed), 150 per message: 37 bytes each stays
 * under NOTIFY's 8,000-byte payload limit.
 */
export const jobFinishManyComplete = (s: string): string => completion(s, true);

/**
 * Plain completions of jobs that hold no queue slot and no concurrency key, the same way but without
 * giving anything back: the give-back's CTEs (two locking reads, two UPDATEs) cost ~190k instructions
 * per statement even with nothing to give back, 38% of a completion of 5 jobs (`npm run bench:sql --
 * --batch 5`). The row is its own judge: a job that holds a slot or a key is left running, unanswered,
 * for `jobFinishManyComplete` to end (postgres/job-finish.ts).
 */
export const jobFinishManyCompleteNoLimits = (s: string): string => completion(s, false);

/** A plain completion; `limits`: giving back the queue slots and concurrency keys of the jobs. */
function completion(s: string, limits: boolean): string {
  return `
  WITH input AS (
    -- Each job's lease token and result by its id, found by key (a jsonb object's keys are sorted).
    SELECT jsonb_object($1::uuid[]::text[], $2::uuid[]::text[]) AS tokens,
           jsonb_object($1::uuid[]::text[], $3::text[]) AS results
  ), completed AS (
    UPDATE ${s}.jobs j
    SET state = 'completed',
        result = ((SELECT results FROM input) ->> j.id::text)::json,
        error = NULL,
        finished_at = ${s}.nightshift_now(),
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = ${s}.nightshift_now()
    -- No join: jobs is read by its primary key, for the batch's ids only, whatever the plan kept by
    -- the prepared statement believes about the table. Joined to unnest($1, $2, $3), the plan made
    -- while jobs was small walked all of jobs_pkey (4,000 running rows read for 50 completions once
    -- the table grew) or re-ran the unnest per job (70-90 ms for 500 completions).
    WHERE j.id = ANY($1::uuid[]) AND j.state = 'running'
      AND j.lease_token = ((SELECT tokens FROM input) ->> j.id::text)::uuid
      ${limits ? '' : 'AND NOT j.queue_slot AND j.concurrency_key IS NULL'}
    RETURNING j.id, j.task, j.queue, j.attempt, j.schedule_id, j.concurrency_key, j.queue_slot
  ), ${limits ? `${giveBack(s, 'completed')}, ` : ''}ended AS (${jobEventInsert(s, 'completed', { type: "'job:completed'", attempt: 'attempt', state: "'completed'" })}
  ), logged AS (
    INSERT INTO ${s}.job_finish_log (finished_at, job_ids)
    SELECT ${s}.nightshift_now(), array_agg(id) FROM completed HAVING count(*) > 0
  ), note AS (
    SELECT pg_notify($4, json_build_object('o', $5::text, 'c', json_agg(id))::text)
    FROM (SELECT id, (row_number() OVER ()) / 150 AS page FROM completed) c
    GROUP BY page
  )${limits ? `, ${capacityNote('completed', '$4', '$5')}` : ''}
  -- One row whatever the batch: the accepted ids as one text (node-postgres decodes a row per job
  -- field by field). Naming \`note\` makes it run: a CTE that writes nothing runs only when read.
  SELECT (SELECT count(*) FROM note) AS notified, coalesce(string_agg(id::text, ','), '') AS ids,
         ${limits ? '(SELECT count(*) FROM capacity_note) > 0' : 'false'} AS freed
  FROM completed`;
}
