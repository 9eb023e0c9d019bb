/** Building `NewJob` rows for store tests. */
import { v7 as uuidv7 } from 'uuid';
import type { NewJob } from '../../src/store/store.js';

/**
 * A job due now on queue 'default' with 3 attempts; `overrides` change any field. A job given a
 * concurrency key and no limit gets the default limit, 1, as enqueue would give it.
 */
export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: uuidv7(),
    task: 'test.task',
    queue: 'default',
    payload: { n: 1 },
    priority: 0,
    runAt: null,
    delayMs: null,
    maxAttempts: 3,
    idempotencyKey: null,
    concurrencyKey: null,
    group: null,
    concurrencyLimit: overrides.concurrencyKey === undefined || overrides.concurrencyKey === null ? null : 1,
    requires: null,
    leaseMs: null,
    timeoutMs: null,
    scheduleId: null,
    scheduleSlot: null,
    parentId: null,
    ...overrides,
  };
}
