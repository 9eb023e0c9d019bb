/**
 * The one builder of a `NewJob`, the row the store inserts: a caller's options over its task's
 * defaults, each within its bounds (validation/job-options.ts), and the engine's own fields. Enqueues
 * (enqueue.ts, after validating the payload) and schedule slots (scheduler/slot-job.ts) both build
 * their rows here, so a job's defaults are decided in one place.
 */
import type { EnqueueInternals, EnqueueOptions } from './enqueue.js';
import { newJobId } from './job-id.js';
import type { NewJob } from './store/store.js';
import {
  DEFAULT_CONCURRENCY_LIMIT,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_QUEUE,
  type ResolvedTask,
} from './task-registry.js';
import { checkJobOptions } from './validation/job-options.js';

/** What a job takes from its task where its options set nothing. */
export type JobDefaults = Pick<
  ResolvedTask,
  'queue' | 'priority' | 'maxAttempts' | 'timeoutMs' | 'leaseMs' | 'concurrencyLimit' | 'requires'
>;

/**
 * The defaults of a task this process has not registered (a schedule may name a task only other
 * processes run): the registry's defaults for a task that sets none.
 */
export const UNREGISTERED_TASK_DEFAULTS: JobDefaults = {
  queue: DEFAULT_QUEUE,
  priority: 0,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  timeoutMs: null,
  leaseMs: null,
  concurrencyLimit: DEFAULT_CONCURRENCY_LIMIT,
  requires: null,
};

/** The row of one job; throws `invalid_argument` for an option out of its bounds. */
export function newJob(
  task: string,
  payload: unknown,
  options: Omit<EnqueueOptions, 'tx'>,
  defaults: JobDefaults,
  internals: EnqueueInternals = {},
): NewJob {
  const {
    queue,
    priority,
    maxAttempts,
    delayMs,
    runAt,
    timeoutMs,
    leaseMs,
    idempotencyKey,
    concurrencyKey,
    concurrencyLimit,
    requires,
    group,
  } = checkJobOptions(options, defaults);
  return {
    id: newJobId(),
    task,
    queue,
    payload,
    priority,
    runAt,
    delayMs: runAt ? null : delayMs,
    maxAttempts,
    idempotencyKey,
    concurrencyKey,
    concurrencyLimit,
    requires,
    group,
    leaseMs,
    timeoutMs,
    scheduleId: internals.scheduleId ?? null,
    scheduleSlot: internals.scheduleSlot ?? null,
    parentId: internals.parentId ?? null,
    ...(internals.traceContext !== undefined && { traceContext: internals.traceContext }),
  };
}
