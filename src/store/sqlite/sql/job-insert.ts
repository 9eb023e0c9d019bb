/** Inserting jobs, with idempotency keys and lease-fenced child inserts. */
import { dueColumn } from './job-read.js';

/**
 * Inserts one job; a repeated idempotency key inserts nothing (changes = 0) and the caller reads the
 * existing row with jobInsertManyExisting in the same transaction. Positional parameters, in the order
 * of the column list (created_at and updated_at both take the insert's clock): binding twenty named
 * parameters from an object cost ~1.5 µs of a job's ~9 µs insert (job-insert.ts `insertJobRow`).
 */
export const jobInsertMany = `
INSERT INTO jobs (
  id, task, queue, payload, state, priority, attempt, max_attempts, run_at, created_at, updated_at,
  idempotency_key, concurrency_key, concurrency_limit, lease_ms, timeout_ms, schedule_id, schedule_slot, parent_id,
  trace_context, requires, group_key
) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`;

/** The job holding an idempotency key @key, as it reads at @now (dueColumn). */
export const jobInsertManyExisting = `SELECT *, ${dueColumn} FROM jobs WHERE idempotency_key = @key`;

/** 1 when the attempt (id, token) still holds its lease; fences child inserts. */
export const jobInsertManyLeaseHeld = `
SELECT 1 AS held FROM jobs WHERE id = @id AND lease_token = @leaseToken AND state = 'running'`;
