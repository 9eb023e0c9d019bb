/**
 * The one builder of a `NewJob`, the row the store inserts: a caller's options over its task's
 * defaults, each within its bounds (validation/job-options.ts), and the engine's own fields. Enqueues
 * (enqueue.ts, after validating the payload) and schedule slots (scheduler/slot-job.ts) both build
 * their rows here, so a job's defaults are decided in one place.
 */
import type { EnqueueInternals, EnqueueOptions } from './enqueue.js';
import { NightshiftError } from './errors.js';
import { newJobId } from './job-id.js';
import type { NewJob } from './store/store.js';
import {
  DEFAULT_CONCURRENCY_LIMIT,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_QUEUE,
  type PayloadDefault,
  type ResolvedTask,
} from './task-registry.js';
import { intIn, JOB_RANGES, MAX_KEY_BYTES, textIn } from './validation/bounds.js';
import { checkJobOptions } from './validation/job-options.js';

/** What a job takes from its task where its options set nothing. */
export type JobDefaults = Pick<
  ResolvedTask,
  | 'queue'
  | 'priority'
  | 'maxAttempts'
  | 'timeoutMs'
  | 'leaseMs'
  | 'concurrencyLimit'
  | 'requires'
  | 'concurrencyKeyOf'
  | 'groupOf'
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
  concurrencyKeyOf: null,
  groupOf: null,
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

/**
 * Sets the key and group a task derives from the job's payload (contract.ts `PayloadDefaults`) where
 * the job's options give none; call it once `row.payload` is final. A key derived this way takes the
 * job's `concurrencyLimit`, else the task's. Throws `invalid_argument` when a function throws or
 * returns something other than a string, null or undefined, or when the job gives a limit and no key
 * comes of it.
 */
export function applyPayloadDefaults(
  row: NewJob,
  options: Pick<EnqueueOptions, 'concurrencyKey' | 'concurrencyLimit' | 'group'>,
  defaults: JobDefaults,
): void {
  // Everything is derived and checked before the row changes: a failure leaves it as it was.
  const keyOf = options.concurrencyKey === undefined ? defaults.concurrencyKeyOf : null;
  const key = keyOf === null ? null : derive(row, 'concurrencyKey', keyOf);
  if (keyOf !== null && key === null && options.concurrencyLimit !== undefined) {
    throw new NightshiftError(
      'invalid_argument',
      `concurrencyLimit needs a concurrencyKey, and task "${row.task}" derived none from this payload`,
    );
  }
  const limit =
    key === null
      ? null
      : intIn(
          'concurrencyLimit',
          options.concurrencyLimit ?? defaults.concurrencyLimit,
          JOB_RANGES.concurrencyLimit,
        );
  const groupOf = options.group === undefined ? defaults.groupOf : null;
  const group = groupOf === null ? null : derive(row, 'group', groupOf);
  if (key !== null) {
    row.concurrencyKey = key;
    row.concurrencyLimit = limit;
  }
  if (groupOf !== null) row.group = group;
}

function derive(row: NewJob, field: 'concurrencyKey' | 'group', of: PayloadDefault): string | null {
  let value: unknown;
  try {
    value = of(row.payload);
  } catch (error) {
    throw new NightshiftError(
      'invalid_argument',
      `task "${row.task}": its ${field} function threw on this payload: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') {
    throw new NightshiftError(
      'invalid_argument',
      `task "${row.task}": its ${field} function must return a string, null or undefined, not ${typeof value}`,
    );
  }
  return textIn(field, value, MAX_KEY_BYTES);
}
