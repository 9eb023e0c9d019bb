/**
 * Defaults a queue gives the jobs enqueued into it (`queues: { 'tenant-sync': { concurrencyKey,
 * concurrencyLimit, group } }`, docs/TENANCY.md): a concurrency key and a group derived from each
 * job's payload and task, and the limit of its key, for the jobs whose options and task give none.
 *
 * Unlike a queue's `concurrency` and `rate` (queue-limits.ts), these never reach the database: they
 * are applied by the process that enqueues, like a task's payload defaults, so every producer of a
 * queue should share them.
 */
import { NightshiftError, type ErrorCode } from './errors.js';
import { intIn, JOB_RANGES } from './validation/bounds.js';

/** The settings of a queue that apply to its jobs where enqueued (docs/TENANCY.md). */
export interface QueueJobDefaults {
  // Methods, not function-typed properties: a function written for the payloads it expects fits.
  /**
   * The key of each job of the queue whose options and task give none, from the payload as validated
   * and the task's name, e.g. `(p) => \`tenant:${p.tenantId}\``. It sees every task's payloads in the
   * queue. Null or undefined: no key. Anything else but a string, or a throw, refuses the enqueue.
   */
  concurrencyKey?(payload: unknown, task: string): string | null | undefined;
  /**
   * The limit of a job's key when neither the job nor its task gives one, whichever key it has (its
   * own, its task's or the queue's). Default 1.
   */
  concurrencyLimit?: number;
  /** The group (tenant) of each job whose options and task give none. Null or undefined: none. */
  group?(payload: unknown, task: string): string | null | undefined;
}

/** A queue's default derived from a job's payload and task name: its caller checks what it returns. */
export type QueuePayloadDefault = (payload: unknown, task: string) => unknown;

/** A queue's job defaults, checked. */
export interface ResolvedQueueDefaults {
  concurrencyKeyOf: QueuePayloadDefault | null;
  concurrencyLimit: number | null;
  groupOf: QueuePayloadDefault | null;
}

/** The job defaults of queues by queue name, as the task registry holds them. */
export type QueueDefaultsByName = ReadonlyMap<string, ResolvedQueueDefaults>;

/** The names of the settings `QueueJobDefaults` holds, for the list of known settings. */
export const QUEUE_JOB_DEFAULT_KEYS = ['concurrencyKey', 'concurrencyLimit', 'group'] as const;

/**
 * Checks a queue's job defaults; null when it sets none. `code` names the refusal (config or
 * argument), `prefix` the queue.
 */
export function checkQueueJobDefaults(
  settings: Record<string, unknown>,
  code: ErrorCode,
  prefix: string,
): ResolvedQueueDefaults | null {
  const { concurrencyKey, concurrencyLimit, group } = settings;
  if (concurrencyKey === undefined && concurrencyLimit === undefined && group === undefined) return null;
  return {
    concurrencyKeyOf: payloadDefault('concurrencyKey', concurrencyKey, code, prefix),
    concurrencyLimit:
      concurrencyLimit === undefined
        ? null
        : intIn('concurrencyLimit', concurrencyLimit, JOB_RANGES.concurrencyLimit, { code, prefix }),
    groupOf: payloadDefault('group', group, code, prefix),
  };
}

function payloadDefault(
  field: string,
  value: unknown,
  code: ErrorCode,
  prefix: string,
): QueuePayloadDefault | null {
  if (value === undefined) return null;
  if (typeof value !== 'function') {
    throw new NightshiftError(
      code,
      `${prefix}${field} must be a function of the payload and the task name (for a fixed ${field}, give the enqueue option ${field})`,
    );
  }
  return value as QueuePayloadDefault;
}
