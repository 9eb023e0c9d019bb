/**
 * Cluster-wide queue limits from a config or `Nightshift.connect({ queues })`: at most `concurrency`
 * running jobs of a queue across every worker (docs/TENANCY.md). The limits live in the database, so
 * they hold whichever process claims; connecting with `queues` writes them there.
 */
import { NightshiftError, type ErrorCode } from './errors.js';
import type { Store } from './store/store.js';
import { intIn, JOB_RANGES, MAX_NAME_BYTES, textIn } from './validation/bounds.js';

/** Settings of one queue. */
export interface QueueSettings {
  /** Running jobs of the queue at most, cluster-wide; null removes a limit set before. */
  concurrency?: number | null;
}

/** Queue settings keyed by queue name. */
export type QueuesConfig = Record<string, QueueSettings>;

/** A queue's limit to write: a number, or null to remove it. */
export interface QueueLimit {
  queue: string;
  limit: number | null;
}

/** Checks `queues` and returns the limits it sets; `code` names the refusal (config or argument). */
export function checkQueuesConfig(queues: unknown, code: ErrorCode): QueueLimit[] {
  if (!isPlainObject(queues)) {
    throw new NightshiftError(code, 'queues must be an object of queue name to { concurrency }');
  }
  const limits: QueueLimit[] = [];
  for (const [queue, settings] of Object.entries(queues)) {
    textIn('queue name', queue, MAX_NAME_BYTES, { code, prefix: 'queues: ' });
    const prefix = `queues.${queue}: `;
    if (!isPlainObject(settings)) throw new NightshiftError(code, `${prefix}settings must be an object`);
    const { concurrency, ...rest } = settings;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      throw new NightshiftError(code, `${prefix}unknown setting "${unknown}" (known: concurrency)`);
    }
    if (concurrency === undefined) continue;
    const limit =
      concurrency === null
        ? null
        : intIn('concurrency', concurrency, JOB_RANGES.concurrencyLimit, { code, prefix });
    limits.push({ queue, limit });
  }
  return limits;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Writes the limits to the database. */
export async function applyQueueLimits(store: Store, limits: QueueLimit[]): Promise<void> {
  for (const { queue, limit } of limits) await store.queueSetLimit({ queue, limit });
}
