/**
 * The cluster event log (migration 010): the columns every writer fills, the type of a finish, and the
 * reader's, appender's and pruner's statements.
 *
 * Writers add an `INSERT INTO events ... SELECT ... FROM <their RETURNING>` step (`jobEventInsert`)
 * to the statement that makes the transition, so the events commit (or roll back) with it and cost no
 * round trip: one log row per statement and type, its jobs in arrays; `tx`, `id` and `at` come from the
 * column defaults. No writer takes a lock or a counter beyond the sequence, so
 * event writes never serialise commits.
 */

/**
 * The INSERT of a writer: one row per event type from `source`, a CTE of its RETURNING with id, task,
 * queue and schedule_id; `type`, `attempt`, `state` and `error` are SQL expressions over its columns
 * (a NULL type writes nothing), `error` absent for events that carry none.
 */
export const jobEventInsert = (
  s: string,
  source: string,
  e: { type: string; attempt: string; state: string; error?: string },
): string => `
    INSERT INTO ${s}.events (type, job_ids, tasks, queues, attempts, states, errors, schedule_ids)
    SELECT type, array_agg(id), array_agg(task), array_agg(queue), array_agg(attempt), array_agg(state),
           ${e.error === undefined ? 'NULL' : 'array_agg(error)'}, array_agg(schedule_id)
    FROM (SELECT ${e.type} AS type, id, task, queue, ${e.attempt} AS attempt,
                 ${e.state}::${s}.job_state AS state, ${e.error ?? 'NULL'}::jsonb AS error, schedule_id
          FROM ${source}) x
    WHERE type IS NOT NULL
    GROUP BY type`;

/**
 * The event type of an attempt's end, from the job's new state and how the attempt ended (a column or
 * a literal): final states name themselves; back to the queue is a retry, except a release, which gives
 * its attempt back and records nothing (the job did not fail; its worker stopped). The same rule as the
 * SQLite trigger of migrations/007_events.sql.
 */
export const jobFinishManyEventType = (state: string, outcome: string): string => `CASE
      WHEN ${state} = 'completed' THEN 'job:completed'
      WHEN ${state} = 'failed' THEN 'job:failed'
      WHEN ${state} = 'cancelled' THEN 'job:cancelled'
      WHEN ${outcome} = 'released' THEN NULL
      ELSE 'job:retrying' END`;

/** A cursor element past every element of its row. */
export const eventReadRowEnd = '9223372036854775807';

/**
 * A page of events after the cursor ($1 tx, $2 id, $3 element), in (tx, id, element) order, only
 * below the read horizon: the oldest transaction id still running when this statement's snapshot was
 * taken. Every transaction below it has ended, and any that commits later has a larger id, so no event
 * can ever appear before the end of this page.
 * $4 queue, $5 task, $6 job id (each nullable), $7 limit (of events, and of log rows scanned).
 *
 * Every row carries the horizon, how many log rows were scanned and the last of them (one row with
 * NULL event columns when no event matched), so a short page moves the cursor past what it scanned.
 *
 * Plan: an Index Scan on events_order_idx from the cursor's row, stopped by the LIMIT (pinned by
 * test/postgres/events-plan.test.ts); the filters are checked on the unnested elements.
 */
export const eventRead = (s: string): string => `
  WITH horizon AS MATERIALIZED (
    SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin
  ), scanned AS MATERIALIZED (
    SELECT * FROM ${s}.events
    -- A cursor past its whole row starts at the next row: a page of one scanned row must move on.
    WHERE (tx, id) >= ($1::xid8, CASE WHEN $3::bigint = ${eventReadRowEnd} AND $2::bigint < ${eventReadRowEnd}
                                     THEN $2::bigint + 1 ELSE $2::bigint END)
      AND tx < (SELECT xmin FROM horizon)
    ORDER BY tx, id
    -- A sub-select: with the limit's value known and no statistics, the planner read every row after
    -- the cursor (a bitmap scan) and sorted them; an unknown limit makes the ordered walk cheapest (as in
    -- sql/job-claim.ts).
    LIMIT (SELECT $7::integer)
  ), page AS (
    SELECT e.tx, e.id, u.n, e.at, e.type, u.job_id, u.task, u.queue, u.attempt, u.state, u.error, u.schedule_id,
           e.data
    FROM scanned e
    CROSS JOIN LATERAL unnest(coalesce(e.job_ids, ARRAY[NULL]::uuid[]), e.tasks, e.queues, e.attempts, e.states,
                              e.errors, e.schedule_ids)
      WITH ORDINALITY AS u(job_id, task, queue, attempt, state, error, schedule_id, n)
    WHERE (e.tx, e.id, u.n) > ($1::xid8, $2::bigint, $3::bigint)
      AND ($4::text IS NULL OR u.queue = $4)
      AND ($5::text IS NULL OR u.task = $5)
      AND ($6::uuid IS NULL OR u.job_id = $6)
    ORDER BY e.tx, e.id, u.n
    LIMIT $7
  )
  SELECT (SELECT xmin::text FROM horizon) AS horizon,
         (SELECT count(*) FROM scanned)::int AS scanned,
         (SELECT tx::text || '_' || id::text FROM scanned ORDER BY tx DESC, id DESC LIMIT 1) AS last_row,
         p.tx::text AS tx, p.id::text AS id, p.n::text AS n, p.at, p.type, p.job_id, p.task, p.queue, p.attempt,
         p.state::text AS state, p.error, p.schedule_id, p.data
  FROM (SELECT 1) one
  LEFT JOIN page p ON true
  ORDER BY p.tx, p.id, p.n`;

/** The read horizon now: a cursor there skips every event already readable. */
export const eventHead = `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`;

/**
 * Appends events given as column arrays, one log row of one element each: $1 types, $2 job ids,
 * $3 tasks, $4 queues, $5 attempts, $6 states, $7 errors (JSON text), $8 schedule ids, $9 data (JSON).
 */
export const eventAppend = (s: string): string => `
  INSERT INTO ${s}.events (type, job_ids, tasks, queues, attempts, states, errors, schedule_ids, data)
  SELECT type, ARRAY[job_id], ARRAY[task], ARRAY[queue], ARRAY[attempt], ARRAY[state::${s}.job_state],
         ARRAY[error::jsonb], ARRAY[schedule_id], data::jsonb
  FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[],
              $9::text[]) AS e(type, job_id, task, queue, attempt, state, error, schedule_id, data)`;

/**
 * Deletes up to $2 of the oldest events written more than $1 ms ago. Only the first $2 rows in log
 * order are looked at (an index range, never the whole log), so a batch is bounded even when the
 * oldest rows are still young; `at` follows the log order closely (both grow with time).
 */
export const eventPrune = (s: string): string => `
  WITH oldest AS (
    SELECT ctid AS row_id, at FROM ${s}.events ORDER BY tx, id LIMIT (SELECT $2::integer)
  ), deleted AS (
    DELETE FROM ${s}.events
    WHERE ctid = ANY(ARRAY(
      SELECT row_id FROM oldest WHERE at < ${s}.nightshift_now() - $1::float8 * interval '1 millisecond'))
    RETURNING 1
  )
  SELECT count(*)::int AS deleted FROM deleted`;
