/**
 * The one builder of a `NewJob`, the row the store inserts: a caller's options over its task's
 * defaults, then its queue's (queue-defaults.ts), each within its bounds (validation/job-options.ts),
 * and the engine's own fields. Enqueues (enqueue.ts, after validating the payload) and schedule slots
 * (scheduler/slot-job.ts) both build their rows here, so a job's defaults are decided in one place.
 */
import type { EnqueueInternals, EnqueueOptions } from './enqueue.js';
import { NightshiftError } from './errors.js';
import { newJobId } from './job-id.js';
import type { QueueDefaultsByName, QueuePayloadDefault } from './queue-defaults.js';
import type { NewJob } from './store/store.js';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_QUEUE,
  type PayloadDefault,
  type ResolvedTask,
} from './task-registry.js';
import { MAX_KEY_BYTES, textIn } from './validation/bounds.js';
import { checkJobOptions, keyLimit } from './validation/job-options.js';

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
  concurrencyLimit: null,
  requires: null,
  concurrencyKeyOf: null,
  groupOf: null,
};

/**
 * The row of one job, with its task's `defaults` and those of its queue in `queues`; throws
 * `invalid_argument` for an option out of its bounds.
 */
export function newJob(
  task: string,
  payload: unknown,
  options: Omit<EnqueueOptions, 'tx'>,
  defaults: JobDefaults,
  queues: QueueDefaultsByName,
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
  } = checkJobOptions(options, defaults, queues);
  return {
    id: newJobId(),
    task,
    queue,
    payload,
    priority,
    runAt,
    delayMs,
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
 * Sets the key and group derived from the job's payload where the job's options give none (contract.ts
 * `PayloadDefaults`, queue-defaults.ts); call it once `row.payload` and `row.queue` are final. For each
 * of the two, the task's function decides when it has one (null from it: none), else the function of
 * the job's queue in `queues`. A derived key takes the job's `concurrencyLimit`, else the task's, else
 * the queue's, else 1. Throws `invalid_argument` when a function throws or returns something other
 * than a string, null or undefined, or when the job gives a limit and no key comes of it.
 */
export function applyPayloadDefaults(
  row: NewJob,
  options: Pick<EnqueueOptions, 'concurrencyKey' | 'concurrencyLimit' | 'group'>,
  defaults: JobDefaults,
  queues: QueueDefaultsByName,
): void {
  const queue = queues.get(row.queue);
  // Everything is derived and checked before the row changes: a failure leaves it as it was.
  const keyOf =
    options.concurrencyKey === undefined
      ? deriver(row, defaults.concurrencyKeyOf, queue?.concurrencyKeyOf)
      : null;
  const key = keyOf === null ? null : derive(row, 'concurrencyKey', keyOf);
  if (keyOf !== null && key === null && options.concurrencyLimit !== undefined) {
    throw new NightshiftError(
      'invalid_argument',
      `concurrencyLimit needs a concurrencyKey, and ${ownerOf(row, keyOf)} derived none from this payload`,
    );
  }
  const limit = key === null ? null : keyLimit(options.concurrencyLimit, defaults, queue);
  const groupOf = options.group === undefined ? deriver(row, defaults.groupOf, queue?.groupOf) : null;
  const group = groupOf === null ? null : derive(row, 'group', groupOf);
  if (key !== null) {
    row.concurrencyKey = key;
    row.concurrencyLimit = limit;
  }
  if (groupOf !== null) row.group = group;
}

/** A function that derives a key or group, and whether it is the queue's (for the error naming it). */
interface Deriver {
  call: () => unknown;
  fromQueue: boolean;
}

function deriver(
  row: NewJob,
  taskOf: PayloadDefault | null,
  queueOf: QueuePayloadDefault | null | undefined,
): Deriver | null {
  if (taskOf !== null) return { call: () => taskOf(row.payload), fromQueue: false };
  if (queueOf === null || queueOf === undefined) return null;
  return { call: () => queueOf(row.payload, row.task), fromQueue: true };
}

/** `task "t"`, or `queue "q" (task "t")`: whose function it was. Made only for an error. */
function ownerOf(row: NewJob, of: Deriver): string {
  const task = `task ${JSON.stringify(row.task)}`;
  return of.fromQueue ? `queue ${JSON.stringify(row.queue)} (${task})` : task;
}

function derive(row: NewJob, field: 'concurrencyKey' | 'group', of: Deriver): string | null {
  let value: unknown;
  try {
    value = of.call();
  } catch (error) {
    throw new NightshiftError(
      'invalid_argument',
      `${ownerOf(row, of)}: its ${field} function threw on this payload: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') {
    throw new NightshiftError(
      'invalid_argument',
      `${ownerOf(row, of)}: its ${field} function must return a string, null or undefined, not ${typeof value}`,
    );
  }
  try {
    return textIn(field, value, MAX_KEY_BYTES);
  } catch (error) {
    throw new NightshiftError('invalid_argument', `${ownerOf(row, of)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
