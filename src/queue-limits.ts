/**
 * Cluster-wide queue limits from a config or `Nightshift.connect({ queues })`: at most `concurrency`
 * running jobs of a queue across every worker, and at most `rate.limit` starts per `rate.periodMs`
 * (docs/TENANCY.md). The limits live in the database, so they hold whichever process claims;
 * connecting with `queues` writes them there. The same settings carry the queue's job defaults
 * (queue-defaults.ts), which stay in the process: `checkQueuesConfig` checks and returns both.
 */
import { NightshiftError, type ErrorCode } from './errors.js';
import {
  checkQueueJobDefaults,
  QUEUE_JOB_DEFAULT_KEYS,
  type QueueJobDefaults,
  type ResolvedQueueDefaults,
} from './queue-defaults.js';
import type { StartRate, Store } from './store/store.js';
import { intIn, JOB_RANGES, queueNameIn, RATE_RANGES } from './validation/bounds.js';

/** Settings of one queue: its cluster-wide limits, and the defaults it gives the jobs enqueued into it. */
export interface QueueSettings extends QueueJobDefaults {
  /** Running jobs of the queue at most, cluster-wide; null removes a limit set before. */
  concurrency?: number | null;
  /** Starts of the queue's jobs at most per period, cluster-wide; null removes a rate set before. */
  rate?: StartRate | null;
}

/** Queue settings keyed by queue name. */
export type QueuesConfig = Record<string, QueueSettings>;

/** A queue's settings to write: a number or a rate, null to remove it, absent to leave it. */
export interface QueueLimit {
  queue: string;
  limit?: number | null;
  rate?: StartRate | null;
}

/** What `checkQueuesConfig` finds in `queues`. */
export interface CheckedQueues {
  /** The limits and rates to write to the database. */
  limits: QueueLimit[];
  /** The job defaults of the queues that set any, by queue name. */
  defaults: Map<string, ResolvedQueueDefaults>;
}

// Every setting of a queue, for the refusal of one that is not.
const QUEUE_SETTING_KEYS = ['concurrency', 'rate', ...QUEUE_JOB_DEFAULT_KEYS].join(', ');

/**
 * Checks `queues` and returns the limits and job defaults it sets; `code` names the refusal (config or
 * argument).
 */
export function checkQueuesConfig(queues: unknown, code: ErrorCode): CheckedQueues {
  if (!isPlainObject(queues)) {
    throw new NightshiftError(code, `queues must be an object of queue name to { ${QUEUE_SETTING_KEYS} }`);
  }
  const limits: QueueLimit[] = [];
  const defaults = new Map<string, ResolvedQueueDefaults>();
  for (const [queue, settings] of Object.entries(queues)) {
    queueNameIn('queue name', queue, { code, prefix: 'queues: ' });
    const prefix = `queues.${queue}: `;
    if (!isPlainObject(settings)) throw new NightshiftError(code, `${prefix}settings must be an object`);
    const { concurrency, rate, concurrencyKey, concurrencyLimit, group, ...rest } = settings;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      throw new NightshiftError(code, `${prefix}unknown setting "${unknown}" (known: ${QUEUE_SETTING_KEYS})`);
    }
    const jobDefaults = checkQueueJobDefaults({ concurrencyKey, concurrencyLimit, group }, code, prefix);
    if (jobDefaults !== null) defaults.set(queue, jobDefaults);
    const limit: QueueLimit = { queue };
    if (concurrency !== undefined) {
      limit.limit =
        concurrency === null
          ? null
          : intIn('concurrency', concurrency, JOB_RANGES.concurrencyLimit, { code, prefix });
    }
    if (rate !== undefined) limit.rate = rate === null ? null : checkRate(rate, code, prefix);
    if (concurrency !== undefined || rate !== undefined) limits.push(limit);
  }
  return { limits, defaults };
}

/**
 * `queues` without the limits and rates: the job defaults alone, for a process that enqueues with a
 * config but does not write its limits to the database (`nightshift enqueue`).
 */
export function queueJobDefaultsOnly(queues: QueuesConfig): QueuesConfig {
  const only: QueuesConfig = {};
  for (const [queue, { concurrency: _limit, rate: _rate, ...jobDefaults }] of Object.entries(queues)) {
    only[queue] = jobDefaults;
  }
  return only;
}

/** Checks a rate: a whole number of starts (1 to 2^31 - 1) per a whole number of ms (1 to a day). */
export function checkRate(rate: unknown, code: ErrorCode, prefix = ''): StartRate {
  if (!isPlainObject(rate)) {
    throw new NightshiftError(code, `${prefix}rate must be an object { limit, periodMs } or null`);
  }
  const { limit, periodMs, ...rest } = rate;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    throw new NightshiftError(code, `${prefix}rate: unknown setting "${unknown}" (known: limit, periodMs)`);
  }
  const at = { code, prefix: `${prefix}rate: ` };
  return {
    limit: intIn('limit', limit, RATE_RANGES.limit, at),
    periodMs: intIn('periodMs', periodMs, RATE_RANGES.periodMs, at),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Writes the limits and rates to the database. */
export async function applyQueueLimits(store: Store, limits: QueueLimit[]): Promise<void> {
  for (const { queue, limit, rate } of limits) {
    if (limit !== undefined) await store.queueSetLimit({ queue, limit });
    if (rate !== undefined) await store.queueSetRate({ queue, rate });
  }
}
