/**
 * SQL of the schedule store on PostgreSQL, rendered per schema like the job statements. Batch writes
 * take column arrays through unnest, so a pass over 500 due schedules costs a handful of round trips.
 */

// The active run of a schedule (an unsettled ledger row whose job is not final yet), whether a run
// finished and awaits settling, and its oldest waiting slot, computed with each schedule read so
// planners always see the ledger as it is. Both run lookups walk schedule_slots_open_idx.
const active = (s: string): string => `(
  SELECT sl.job_id FROM ${s}.schedule_slots sl JOIN ${s}.jobs j ON j.id = sl.job_id
  WHERE sl.schedule_id = sc.id AND sl.status = 'enqueued' AND sl.outcome IS NULL
    AND j.state IN ('scheduled', 'queued', 'running')
  LIMIT 1) AS active_job_id, EXISTS (
  SELECT 1 FROM ${s}.schedule_slots p LEFT JOIN ${s}.jobs pj ON pj.id = p.job_id
  WHERE p.schedule_id = sc.id AND p.status = 'enqueued' AND p.outcome IS NULL
    AND (pj.id IS NULL OR pj.state IN ('completed', 'failed', 'cancelled'))) AS settle_pending, (
  SELECT w.slot_key FROM ${s}.schedule_slots w WHERE w.schedule_id = sc.id AND w.status = 'waiting'
  ORDER BY w.slot_at, w.slot_key LIMIT 1) AS waiting_slot_key`;

/** One schedule with its active job. $1 id. */
export const scheduleGet = (s: string): string =>
  `SELECT sc.*, ${active(s)} FROM ${s}.schedules sc WHERE sc.id = $1`;

/** One schedule, locked for the rest of the transaction. $1 id. */
export const scheduleApplyLock = (s: string): string =>
  `SELECT sc.*, ${active(s)} FROM ${s}.schedules sc WHERE sc.id = $1 FOR UPDATE OF sc`;

/** Schedules by id, locked in id order (a fixed order, so two settlers cannot deadlock). $1 ids. */
export const scheduleSettleLock = (s: string): string => `
  SELECT sc.*, ${active(s)} FROM ${s}.schedules sc WHERE sc.id = ANY($1::text[]) ORDER BY sc.id FOR UPDATE OF sc`;

/**
 * A page of schedules by id, filtered by the non-null ones of $3 task, $4 condition and $5 id prefix.
 * Walks the primary key from $1 (after id) and tests each row: schedules are operator-sized
 * (thousands), so no index per filter for task and condition. A prefix reads only its own range:
 * the planner turns starts_with into a range of schedules_id_prefix_idx (bytewise, migration 027),
 * whatever the database's collation, and sorts the rows it finds. $2 limit.
 */
export const scheduleList = (s: string): string => `
  SELECT sc.*, ${active(s)} FROM ${s}.schedules sc
  WHERE sc.id > $1
    AND ($3::text IS NULL OR sc.task = $3)
    AND ($4::text IS NULL
      OR ($4 = 'suspended' AND sc.suspended_at IS NOT NULL)
      OR ($4 = 'paused' AND sc.paused AND sc.suspended_at IS NULL)
      OR ($4 = 'active' AND NOT sc.paused AND sc.suspended_at IS NULL))
    AND ($5::text IS NULL OR starts_with(sc.id, $5))
  ORDER BY sc.id LIMIT $2`;

/**
 * Claims due schedules: rows another scheduler holds are skipped, not waited for, so any number of
 * schedulers share the due set without blocking each other. $1 now, $2 limit.
 */
export const scheduleFireDue = (s: string): string => `
  SELECT sc.*, ${active(s)} FROM ${s}.schedules sc
  WHERE NOT sc.paused AND sc.suspended_at IS NULL AND sc.next_slot_at <= $1
  ORDER BY sc.next_slot_at LIMIT $2
  FOR UPDATE OF sc SKIP LOCKED`;

const DEFINITION_COLUMNS =
  'id, task, cron, every_ms, timezone, payload, queue, priority, jitter_ms, overlap, catch_up, catch_up_limit, ' +
  'max_consecutive_failures, max_drain_runs, source';

/** Inserts a schedule unless the id exists. $1..$15 definition, $16 paused, $17 next slot. */
export const scheduleCreate = (s: string): string => `
  INSERT INTO ${s}.schedules (${DEFINITION_COLUMNS}, paused, next_slot_at)
  VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
  ON CONFLICT (id) DO NOTHING RETURNING id`;

/**
 * Replaces a definition. The next slot changes when $17 (given) is true or the timing changed, so an
 * unchanged config schedule re-synced at every start keeps its place. $1..$15 definition, $16 next slot.
 */
export const scheduleUpdate = (s: string): string => `
  UPDATE ${s}.schedules SET
    task = $2, payload = $6::json, queue = $7, priority = $8, jitter_ms = $9, overlap = $10, catch_up = $11,
    catch_up_limit = $12, max_consecutive_failures = $13, max_drain_runs = $14, source = $15,
    next_slot_at = CASE
      WHEN $17::boolean THEN $16::timestamptz
      WHEN cron IS DISTINCT FROM $3 OR every_ms IS DISTINCT FROM $4::bigint OR timezone IS DISTINCT FROM $5
        THEN $16::timestamptz
      ELSE next_slot_at END,
    cron = $3, every_ms = $4, timezone = $5, version = version + 1, updated_at = ${s}.nightshift_now()
  WHERE id = $1 RETURNING id`;

/** Deletes a schedule (its ledger goes with it by cascade). $1 id. */
export const scheduleDelete = (s: string): string => `DELETE FROM ${s}.schedules WHERE id = $1`;

/**
 * Inserts the listed schedules that are missing and updates the existing ones that `updateWhen` (a
 * condition on the stored row `sc` and the new one `excluded`) accepts: the definition only, and the
 * next slot only when the timing changed. One statement for any number of schedules. $1..$15
 * definition arrays, $16 paused, $17 next slots. Returns each written id and whether it was inserted;
 * a row left alone is not returned (still locked until the transaction ends).
 */
const scheduleUpsertWhere = (s: string, updateWhen: string): string => `
  INSERT INTO ${s}.schedules AS sc (${DEFINITION_COLUMNS}, paused, next_slot_at)
  SELECT id, task, cron, every_ms, timezone, payload::json, queue, priority, jitter_ms, overlap, catch_up,
         catch_up_limit, max_consecutive_failures, max_drain_runs, source, paused, next_slot_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::int[],
              $9::int[], $10::text[], $11::text[], $12::int[], $13::int[], $14::int[], $15::text[], $16::boolean[],
              $17::timestamptz[])
    AS u(id, task, cron, every_ms, timezone, payload, queue, priority, jitter_ms, overlap, catch_up, catch_up_limit,
         max_consecutive_failures, max_drain_runs, source, paused, next_slot_at)
  ON CONFLICT (id) DO UPDATE SET
    task = excluded.task, payload = excluded.payload, queue = excluded.queue, priority = excluded.priority,
    jitter_ms = excluded.jitter_ms, overlap = excluded.overlap, catch_up = excluded.catch_up,
    catch_up_limit = excluded.catch_up_limit, max_consecutive_failures = excluded.max_consecutive_failures,
    max_drain_runs = excluded.max_drain_runs,
    next_slot_at = CASE
      WHEN sc.cron IS DISTINCT FROM excluded.cron OR sc.every_ms IS DISTINCT FROM excluded.every_ms
        OR sc.timezone IS DISTINCT FROM excluded.timezone THEN excluded.next_slot_at
      ELSE sc.next_slot_at END,
    cron = excluded.cron, every_ms = excluded.every_ms, timezone = excluded.timezone,
    version = sc.version + 1, updated_at = ${s}.nightshift_now()
  WHERE ${updateWhen}
  RETURNING sc.id, (xmax = 0) AS inserted`;

/** True when the stored row `sc` and the new one `excluded` differ in some field of the definition. */
const DEFINITION_DIFFERS = `(sc.task, sc.cron, sc.every_ms, sc.timezone, sc.payload::jsonb, sc.queue, sc.priority,
      sc.jitter_ms, sc.overlap, sc.catch_up, sc.catch_up_limit, sc.max_consecutive_failures, sc.max_drain_runs)
    IS DISTINCT FROM (excluded.task, excluded.cron, excluded.every_ms, excluded.timezone, excluded.payload::jsonb,
      excluded.queue, excluded.priority, excluded.jitter_ms, excluded.overlap, excluded.catch_up,
      excluded.catch_up_limit, excluded.max_consecutive_failures, excluded.max_drain_runs)`;

/**
 * Config sync, part one: the listed config schedules, created, or updated when their definition
 * differs, so an unchanged one keeps its version (a scheduler planning it meanwhile is not made to
 * plan again). Rows left alone, unchanged or held by an api schedule, are not returned.
 */
export const scheduleSync = (s: string): string =>
  scheduleUpsertWhere(s, `sc.source = 'config' AND ${DEFINITION_DIFFERS}`);

/**
 * The api upsert: creates the missing schedules and updates api schedules whose definition differs,
 * so an unchanged schedule keeps its version. Config rows are left alone (the store then refuses).
 */
export const scheduleUpsertMany = (s: string): string =>
  scheduleUpsertWhere(s, `sc.source = 'api' AND ${DEFINITION_DIFFERS}`);

/** Of the ids in $1, those held by a config schedule. */
export const scheduleUpsertManyConfigIds = (s: string): string =>
  `SELECT id FROM ${s}.schedules WHERE id = ANY($1::text[]) AND source = 'config' ORDER BY id`;

/** Config sync, part two: deletes config schedules not in $1 (ids). */
export const scheduleSyncDelete = (s: string): string =>
  `DELETE FROM ${s}.schedules WHERE source = 'config' AND NOT (id = ANY($1::text[])) RETURNING id`;

/**
 * Compare-and-set of scheduler state for many schedules; a row whose version moved on is not updated
 * and not returned. $1 ids, $2 expected versions, $3.. state columns.
 */
export const scheduleWritesState = (s: string): string => `
  UPDATE ${s}.schedules sc SET
    paused = u.paused, next_slot_at = u.next_slot_at, last_slot_at = u.last_slot_at, last_job_id = u.last_job_id,
    last_outcome = u.last_outcome, last_started_at = u.last_started_at, last_finished_at = u.last_finished_at,
    last_duration_ms = u.last_duration_ms, last_run_lag_ms = u.last_run_lag_ms,
    consecutive_failures = u.consecutive_failures, last_error = u.last_error, suspended_at = u.suspended_at,
    suspended_reason = u.suspended_reason,
    version = sc.version + 1, updated_at = ${s}.nightshift_now()
  FROM unnest(
    $1::text[], $2::int[], $3::boolean[], $4::timestamptz[], $5::timestamptz[], $6::uuid[], $7::text[],
    $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::bigint[], $12::int[], $13::jsonb[],
    $14::timestamptz[], $15::text[]
  ) AS u(id, expect_version, paused, next_slot_at, last_slot_at, last_job_id, last_outcome, last_started_at,
         last_finished_at, last_duration_ms, last_run_lag_ms, consecutive_failures, last_error, suspended_at,
         suspended_reason)
  WHERE sc.id = u.id AND sc.version = u.expect_version
  RETURNING sc.id`;

const SLOT_ARRAYS = `
    $1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::bigint[],
    $9::timestamptz[], $10::int[], $11::timestamptz[], $12::text[], $13::bigint[], $14::bigint[], $15::timestamptz[]`;
const SLOT_COLUMNS =
  'schedule_id, slot_key, slot_at, kind, status, reason, job_id, slot_count, slot_until, drain_seq, recorded_at, ' +
  'outcome, duration_ms, run_lag_ms, finished_at';

/** Records slots; existing (schedule, slot key) pairs insert nothing and are not returned. */
export const scheduleWritesSlotInsert = (s: string): string => `
  INSERT INTO ${s}.schedule_slots (${SLOT_COLUMNS})
  SELECT * FROM unnest(${SLOT_ARRAYS})
  ON CONFLICT (schedule_id, slot_key) DO NOTHING
  RETURNING schedule_id, slot_key`;

/** Rewrites ledger rows' mutable fields. */
export const scheduleWritesSlotUpdate = (s: string): string => `
  UPDATE ${s}.schedule_slots sl SET
    status = u.status, reason = u.reason, job_id = u.job_id, outcome = u.outcome, duration_ms = u.duration_ms,
    run_lag_ms = u.run_lag_ms, finished_at = u.finished_at
  FROM unnest(${SLOT_ARRAYS}) AS u(${SLOT_COLUMNS})
  WHERE sl.schedule_id = u.schedule_id AND sl.slot_key = u.slot_key`;

/** Ledger rows by (schedule, key). $1 schedule ids, $2 keys. */
export const scheduleFireSlotGet = (s: string): string => `
  SELECT sl.* FROM ${s}.schedule_slots sl
  JOIN unnest($1::text[], $2::text[]) AS k(schedule_id, slot_key) USING (schedule_id, slot_key)`;

/**
 * Unsettled runs whose job is final or gone, locked; rows another settler holds are skipped. $1 limit.
 */
export const scheduleSettleFinished = (s: string): string => `
  SELECT sl.*, j.id AS j_id, j.state AS j_state, j.result AS j_result, j.error AS j_error,
         j.started_at AS j_started_at, j.finished_at AS j_finished_at
  FROM ${s}.schedule_slots sl LEFT JOIN ${s}.jobs j ON j.id = sl.job_id
  WHERE sl.status = 'enqueued' AND sl.outcome IS NULL
    AND (j.id IS NULL OR j.state IN ('completed', 'failed', 'cancelled'))
  LIMIT $1
  FOR UPDATE OF sl SKIP LOCKED`;

/** A schedule's ledger, newest slot first. $1 schedule id, $2 limit. */
export const scheduleSlotList = (s: string): string => `
  SELECT * FROM ${s}.schedule_slots WHERE schedule_id = $1 ORDER BY slot_at DESC, drain_seq DESC, recorded_at DESC, slot_key DESC LIMIT $2`;

/**
 * Deletes up to $2 of the oldest ledger rows recorded more than $1 ms ago, keeping unsettled runs and
 * held slots: their schedule still needs them.
 */
export const scheduleSlotPrune = (s: string): string => `
  DELETE FROM ${s}.schedule_slots WHERE (schedule_id, slot_key) IN (
    SELECT schedule_id, slot_key FROM ${s}.schedule_slots
    WHERE recorded_at < ${s}.nightshift_now() - $1 * interval '1 millisecond' AND status <> 'waiting'
      AND NOT (status = 'enqueued' AND outcome IS NULL)
    ORDER BY recorded_at LIMIT $2)`;
