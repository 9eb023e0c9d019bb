/**
 * When a failed attempt runs again: exponential backoff with jitter, from the task's backoff options.
 *
 * delay(attempt) = min(maxMs, baseMs * 2^(attempt - 1)), then spread by ±jitter so a burst of jobs
 * that failed together (one outage) does not retry in lockstep and hit the recovering service at once.
 * With the defaults (1 s, 1 h, 0.2) five attempts wait about 1, 2, 4 and 8 s between them.
 */
import type { ResolvedBackoff } from '../task-registry.js';

/** Delay before the next attempt, or null when `attempt` was the last one allowed. */
export function retryDelayMs(
  backoff: ResolvedBackoff,
  attempt: number,
  maxAttempts: number,
  random: () => number = Math.random,
): number | null {
  if (attempt >= maxAttempts) return null;
  // 2^(attempt-1) overflows to Infinity past ~1024 attempts; min() keeps it at maxMs.
  const raw = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  const spread = raw * backoff.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(backoff.maxMs, raw + spread)));
}
