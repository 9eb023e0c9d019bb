/** Inserting jobs, with idempotency keys and lease-fenced child inserts. */

/**
 * Inserts one job; a repeated idempotency key inserts nothing (changes = 0) and the caller reads the
 * existing row with jobInsertManyExisting in the same transaction.
 */
export const jobInsertMany = `
INSERT INTO jobs (
  id, task, queue, payload, state, priority, attempt, max_attempts, run_at, created_at, updated_at,
  idempotency_key, concurrency_key, concurrency_limit, lease_ms, timeout_ms, schedule_id, schedule_slot, parent_id,
  trace_context, requires, group_key
) VALUES (
  @id, @task, @queue, @payload, @state, @priority, 0, @maxAttempts, @runAt, @now, @now,
  @idempotencyKey, @concurrencyKey, @concurrencyLimit, @leaseMs, @timeoutMs, @scheduleId, @scheduleSlot, @parentId, @traceContext,
  @requires, @group
)
ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`;

/**
 * The `job:enqueued` events of a batch's new jobs, @jobs a JSON array of [id, task, queue, state,
 * schedule id] in insert order: one row each, in that order, so event ids follow the job rows.
 */
export const jobInsertManyEvents = `
INSERT INTO events (at, type, job_id, task, queue, attempt, state, schedule_id)
SELECT @now, 'job:enqueued', e.value ->> 0, e.value ->> 1, e.value ->> 2, 0, e.value ->> 3, e.value ->> 4
FROM json_each(@jobs) e
ORDER BY e.key`;

/** The job holding an idempotency key. */
export const jobInsertManyExisting = `SELECT * FROM jobs WHERE idempotency_key = ?`;

/** 1 when the attempt (id, token) still holds its lease; fences child inserts. */
export const jobInsertManyLeaseHeld = `
SELECT 1 AS held FROM jobs WHERE id = @id AND lease_token = @leaseToken AND state = 'running'`;
