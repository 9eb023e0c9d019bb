/**
 * The tasks of the metrics tests' workloads (test/api/observe.test.ts, prometheus-scrape.test.ts):
 * one that completes at once, and one that fails twice in a row (one retry), so every attempt outcome
 * the counters label appears.
 */
import { defineTask } from '../../src/task.js';

export const METRICS_TASKS = {
  ok: () => 'ok',
  boom: defineTask({
    handler: () => {
      throw new Error('boom');
    },
    maxAttempts: 2,
    backoff: { baseMs: 1, maxMs: 1, jitter: 0 },
  }),
};
