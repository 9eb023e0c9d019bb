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

/** The job holding an idempotency key. */
export const jobInsertManyExisting = `SELECT * FROM jobs WHERE idempotency_key = ?`;

/** 1 when the attempt (id, token) still holds its lease; fences child inserts. */
export const jobInsertManyLeaseHeld = `
SELECT 1 AS held FROM jobs WHERE id = @id AND lease_token = @leaseToken AND state = 'running'`;
