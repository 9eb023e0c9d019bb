/**
 * The bounds of one job's options (bounds.ts), checked before its row is built: the values both
 * stores can hold, or `invalid_argument` naming the option and its range.
 */
import type { EnqueueOptions } from '../enqueue.js';
import { NightshiftError } from '../errors.js';
import type { JobDefaults } from '../new-job.js';
import type { QueueDefaultsByName, ResolvedQueueDefaults } from '../queue-defaults.js';
import { DEFAULT_CONCURRENCY_LIMIT } from '../task-registry.js';
import { keyNames, refuseUnknownKeys } from './known-keys.js';
import { checkRequires } from './labels.js';
import {
  dateIn,
  intIn,
  JOB_RANGES,
  MAX_KEY_BYTES,
  MAX_NAME_BYTES,
  numberIn,
  queueNameIn,
  textIn,
} from './bounds.js';

/** A job's options with the task's defaults applied, each within its bounds. */
export interface CheckedJobOptions {
  queue: string;
  priority: number;
  maxAttempts: number;
  delayMs: number | null;
  runAt: Date | null;
  timeoutMs: number | null;
  leaseMs: number | null;
  idempotencyKey: string | null;
  concurrencyKey: string | null;
  /** Null exactly when the key is. */
  concurrencyLimit: number | null;
  /** Canonical labels (labels.ts); null for none. */
  requires: string[] | null;
  group: string | null;
}

// The options one job takes (EnqueueOptions); `tx` belongs to the call, which takes it off first.
const OPTION_NAMES = keyNames<Omit<EnqueueOptions, 'tx'>>({
  queue: true,
  priority: true,
  runAt: true,
  delayMs: true,
  idempotencyKey: true,
  maxAttempts: true,
  concurrencyKey: true,
  concurrencyLimit: true,
  requires: true,
  group: true,
  timeoutMs: true,
  leaseMs: true,
});

/** Checks a task name before it is looked up: a name no store could index is refused as such. */
export function checkTaskName(task: unknown): string {
  return textIn('task', task, MAX_NAME_BYTES);
}

/**
 * Applies `task`'s defaults, then those of the job's queue in `queues` (the limit of a key the job
 * gives), to `options`, and checks every bound.
 */
export function checkJobOptions(
  options: EnqueueOptions,
  task: JobDefaults,
  queues: QueueDefaultsByName,
): CheckedJobOptions {
  // A misspelt option would otherwise be dropped without a word: `delay` would run the job at once.
  refuseUnknownKeys(options, OPTION_NAMES, 'enqueue option');
  const queue = queueNameIn('queue', options.queue ?? task.queue);
  const queueDefaults = queues.get(queue);
  // `??` throughout: an option given as null counts as not given, as it always has.
  const delayMs = options.delayMs ?? null;
  const runAt = options.runAt ?? null;
  const timeoutMs = options.timeoutMs ?? null;
  const leaseMs = options.leaseMs ?? null;
  const idempotencyKey = options.idempotencyKey ?? null;
  const concurrencyKey = options.concurrencyKey ?? null;
  const concurrencyLimit = options.concurrencyLimit ?? null;
  const requires = options.requires ?? null;
  const group = options.group ?? null;
  // Two due times for one job: which one was meant cannot be told, so neither is taken.
  if (delayMs !== null && runAt !== null) {
    throw new NightshiftError('invalid_argument', 'give delayMs or runAt, not both');
  }
  // A task or queue that derives keys from payloads checks a limit against the key it derives (new-job.ts).
  if (
    concurrencyKey === null &&
    concurrencyLimit !== null &&
    task.concurrencyKeyOf === null &&
    (queueDefaults?.concurrencyKeyOf ?? null) === null
  ) {
    throw new NightshiftError(
      'invalid_argument',
      'concurrencyLimit needs a concurrencyKey: the limit counts the running jobs that share the key',
    );
  }
  const checked: CheckedJobOptions = {
    queue,
    priority: intIn('priority', options.priority ?? task.priority, JOB_RANGES.priority),
    maxAttempts: intIn('maxAttempts', options.maxAttempts ?? task.maxAttempts, JOB_RANGES.maxAttempts),
    delayMs: delayMs === null ? null : numberIn('delayMs', delayMs, JOB_RANGES.delayMs),
    runAt: runAt === null ? null : dateIn('runAt', runAt),
    timeoutMs: timeoutMs === null ? task.timeoutMs : intIn('timeoutMs', timeoutMs, JOB_RANGES.timeoutMs),
    leaseMs: leaseMs === null ? task.leaseMs : intIn('leaseMs', leaseMs, JOB_RANGES.leaseMs),
    idempotencyKey: idempotencyKey === null ? null : textIn('idempotencyKey', idempotencyKey, MAX_KEY_BYTES),
    concurrencyKey: concurrencyKey === null ? null : textIn('concurrencyKey', concurrencyKey, MAX_KEY_BYTES),
    concurrencyLimit: concurrencyKey === null ? null : keyLimit(concurrencyLimit, task, queueDefaults),
    // Given (even empty: none required), the job's own list wins over its task's.
    requires: requires === null ? task.requires : checkRequires(requires),
    group: group === null ? null : textIn('group', group, MAX_KEY_BYTES),
  };
  return checked;
}

/**
 * The limit of a job's key, whichever key it has (its own, or one its task or queue derived): the
 * job's, else its task's, else its queue's, else 1; checked.
 */
export function keyLimit(
  own: number | null | undefined,
  task: Pick<JobDefaults, 'concurrencyLimit'>,
  queue: ResolvedQueueDefaults | undefined,
): number {
  const limit = own ?? task.concurrencyLimit ?? queue?.concurrencyLimit ?? DEFAULT_CONCURRENCY_LIMIT;
  return intIn('concurrencyLimit', limit, JOB_RANGES.concurrencyLimit);
}
