/** `queue_limits` and `concurrency_keys` rows as both stores read them for their lists. */
import type { ConcurrencyKeyInfo, QueueLimitInfo, StartRate } from './store.js';

interface RateColumns {
  rate_limit: number | null;
  rate_period_ms: number | null;
}

export interface QueueLimitListRow extends RateColumns {
  queue: string;
  max: number | null;
  in_use: number;
}

export interface KeyListRow extends RateColumns {
  key: string;
  in_use: number;
  limit_now: number | null;
  max: number | null;
}

/** A rate needs both of its columns. */
function toRate(row: RateColumns): StartRate | null {
  return row.rate_limit === null || row.rate_period_ms === null
    ? null
    : { limit: row.rate_limit, periodMs: row.rate_period_ms };
}

/** The row as the store's read answers it. */
export function toQueueLimitInfo(row: QueueLimitListRow): QueueLimitInfo {
  return { queue: row.queue, limit: row.max, running: row.in_use, rate: toRate(row) };
}

/** The row as the store's read answers it. */
export function toConcurrencyKeyInfo(row: KeyListRow): ConcurrencyKeyInfo {
  return {
    key: row.key,
    running: row.in_use,
    limit: row.limit_now,
    operatorLimit: row.max,
    rate: toRate(row),
  };
}
