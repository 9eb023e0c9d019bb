/** Nearest-rank percentiles, the definition both stores use (PostgreSQL's `percentile_disc`). */
import type { Percentiles } from './store.js';

/** The p50, p95 and p99 of `values` (sorted here, in place); nulls when there are none. */
export function nearestRankPercentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: null, p95: null, p99: null };
  values.sort((a, b) => a - b);
  // The smallest value whose cumulative share reaches p: index ceil(p * n) - 1.
  const at = (p: number): number => values[Math.max(0, Math.ceil(p * values.length) - 1)] as number;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
