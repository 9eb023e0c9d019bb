/** A `queue_limits` row as both stores read it for `queueLimitList`. */
import type { QueueLimitInfo } from './store.js';

export interface QueueLimitListRow {
  queue: string;
  max: number | null;
  in_use: number;
  rate_limit: number | null;
  rate_period_ms: number | null;
}

/** The row as the store's read answers it; a rate needs both of its columns. */
export function toQueueLimitInfo(row: QueueLimitListRow): QueueLimitInfo {
  const rate =
    row.rate_limit === null || row.rate_period_ms === null
      ? null
      : { limit: row.rate_limit, periodMs: row.rate_period_ms };
  return { queue: row.queue, limit: row.max, running: row.in_use, rate };
}
