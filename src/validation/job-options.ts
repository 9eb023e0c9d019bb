/**
 * The bounds of one job's options (bounds.ts), checked before its row is built: the values both
 * stores can hold, or `invalid_argument` naming the option and its range.
 */
import type { EnqueueOptions } from '../enqueue.js';
import { NightshiftError } from '../errors.js';
import type { JobDefaults } from '../new-job.js';
import { dateIn, intIn, JOB_RANGES, MAX_KEY_BYTES, MAX_NAME_BYTES, numberIn, textIn } from './bounds.js';

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
}

/** Checks a task name before it is looked up: a name no store could index is refused as such. */
export function checkTaskName(task: unknown): string {
  return textIn('task', task, MAX_NAME_BYTES);
}

/** Applies `task`'s defaults to `options` and checks every bound. */
export function checkJobOptions(options: EnqueueOptions, task: JobDefaults): CheckedJobOptions {
  if (options.concurrencyKey !== undefined) {
    throw new NightshiftError(
      'invalid_argument',
      'concurrencyKey is not supported yet: claims do not enforce per-key limits',
    );
  }
  // `??` throughout: an option given as null counts as not given, as it always has.
  const delayMs = options.delayMs ?? null;
  const runAt = options.runAt ?? null;
  const timeoutMs = options.timeoutMs ?? null;
  const leaseMs = options.leaseMs ?? null;
  const idempotencyKey = options.idempotencyKey ?? null;
  return {
    queue: textIn('queue', options.queue ?? task.queue, MAX_NAME_BYTES),
    priority: intIn('priority', options.priority ?? task.priority, JOB_RANGES.priority),
    maxAttempts: intIn('maxAttempts', options.maxAttempts ?? task.maxAttempts, JOB_RANGES.maxAttempts),
    delayMs: delayMs === null ? null : numberIn('delayMs', delayMs, JOB_RANGES.delayMs),
    runAt: runAt === null ? null : dateIn('runAt', runAt),
    timeoutMs: timeoutMs === null ? task.timeoutMs : intIn('timeoutMs', timeoutMs, JOB_RANGES.timeoutMs),
    leaseMs: leaseMs === null ? task.leaseMs : intIn('leaseMs', leaseMs, JOB_RANGES.leaseMs),
    idempotencyKey: idempotencyKey === null ? null : textIn('idempotencyKey', idempotencyKey, MAX_KEY_BYTES),
  };
}
