/**
 * Turns a caller's (task, payload, options) into the `NewJob` row the store inserts: task defaults
 * applied, options checked, payload validated with the task's Standard Schema and proven
 * JSON-serialisable. Everything is checked before anything is written, so bad input changes nothing.
 *
 * The payload stored is the schema's output (a schema may coerce or strip), and `undefined` becomes
 * `null` because JSON has no undefined.
 */
import { NightshiftError } from './errors.js';
import { keyNames, unknownKey } from './validation/known-keys.js';
import { checkSchema } from './schema-check.js';
import type { EventBus } from './events.js';
import type { JobInsertResult, NewJob } from './store/store.js';
import type { TaskRegistry } from './task-registry.js';
import { applyPayloadDefaults, newJob } from './new-job.js';
import { checkTaskName } from './validation/job-options.js';

/** Options of `ns.enqueue`; every field overrides the task's default. */
export interface EnqueueOptions {
  queue?: string;
  /** Higher runs first. Integer; default the task's (0). */
  priority?: number;
  /** Absolute due time (a Date or an ISO-8601 string); not with `delayMs`. */
  runAt?: Date | string;
  /** Due this many ms after the database's now; not with `runAt`. */
  delayMs?: number;
  /** A second enqueue with the same key returns the first job with `created: false`. */
  idempotencyKey?: string;
  maxAttempts?: number;
  /**
   * At most `concurrencyLimit` jobs with this key run at once, cluster-wide (docs/TENANCY.md): a
   * tenant, a resource, a schedule. Without a limit, the task's `concurrencyLimit`, else the queue's,
   * else 1.
   */
  concurrencyKey?: string;
  /** The key's limit for this job; needs `concurrencyKey`. An operator's limit for the key wins. */
  concurrencyLimit?: number;
  /**
   * Labels a worker must offer (`startWorker({ labels })`) to claim this job, all of them (docs/TENANCY.md,
   * "Worker labels"): e.g. `['region:eu', 'gpu']`. Default the task's `requires`; `[]` requires none.
   */
  requires?: string[];
  /**
   * The group (tenant) the job is claimed for: claims interleave groups by their weights, so one
   * group's backlog cannot starve another's (docs/TENANCY.md). Without it, the job is claimed as before.
   */
  group?: string;
  /** Handler time limit for this job. */
  timeoutMs?: number;
  /** Lease length for this job's attempts. */
  leaseMs?: number;
  /** The caller's open transaction (better-sqlite3 Database or node-postgres client inside BEGIN). */
  tx?: unknown;
}

/** Fields the engine sets itself (schedules, child jobs), never taken from public options. */
export interface EnqueueInternals {
  scheduleId?: string;
  scheduleSlot?: Date;
  parentId?: string;
  /** The trace the job continues (observe/tracing.ts); enqueues set it after building the row. */
  traceContext?: string | null;
}

/** One item of `ns.enqueueMany`. */
export interface EnqueueItem {
  task: string;
  payload?: unknown;
  options?: Omit<EnqueueOptions, 'tx'>;
}

const ITEM_FIELDS = keyNames<EnqueueItem>({ task: true, payload: true, options: true });

/**
 * Throws `invalid_argument` unless `item` is an object of `enqueueMany`'s three fields at most (a
 * child's item, of `ctx.enqueueMany`, has the same three).
 */
export function checkEnqueueItem(item: unknown): asserts item is EnqueueItem {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new NightshiftError('invalid_argument', 'an item is an object { task, payload, options }');
  }
  const unknown = unknownKey(item, ITEM_FIELDS);
  if (unknown !== undefined) {
    throw new NightshiftError(
      'invalid_argument',
      `unknown item field ${JSON.stringify(unknown)}: an item is { task, payload, options }, a job's options go in options`,
    );
  }
}

/** Builds and validates the row for one job; throws `NightshiftError` and writes nothing on bad input. */
export async function buildNewJob(
  registry: TaskRegistry,
  taskName: string,
  payload: unknown,
  options: EnqueueOptions = {},
  internals: EnqueueInternals = {},
): Promise<NewJob> {
  const task = registry.require(checkTaskName(taskName));
  // Options are checked before the payload: a bad option is reported as such whatever the payload.
  const row = newJob(taskName, null, options, task, registry.queueDefaults, internals);

  let value = payload === undefined ? null : payload;
  if (task.schema) {
    let checked = checkSchema(task.schema, value);
    if (checked instanceof Promise) checked = await checked;
    if (!checked.ok) {
      throw new NightshiftError(
        'invalid_payload',
        `invalid payload for task "${taskName}": ${checked.issues}`,
      );
    }
    value = checked.value === undefined ? null : checked.value;
  }
  assertJson(value, `payload for task "${taskName}"`);
  row.payload = value;
  applyPayloadDefaults(row, options, task, registry.queueDefaults);
  return row;
}

/**
 * `value` as JSON text; throws `code` (`invalid_payload` unless told) unless it survives JSON
 * unchanged: cycles make `JSON.stringify` throw, as a BigInt would (refused first, naming its key), and
 * it would silently drop a function or symbol (or turn one at the top level into nothing), store NaN and Infinity as null and a Map or Set
 * as `{}`. A property whose value is `undefined` is left out, as JSON does. Each refusal is one line:
 * a cycle's is found here and names the reference that closes it, as V8's own message spans lines.
 */
export function checkedJsonText(
  value: unknown,
  what: string,
  code: 'invalid_payload' | 'invalid_result' = 'invalid_payload',
): string {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(value, refuseLossy);
  } catch (error) {
    const circle = error instanceof LossyValue ? undefined : findCircle(value);
    if (circle !== undefined) {
      throw new NightshiftError(
        code,
        `${what} cannot be stored as JSON: it is circular (${circle.at} refers back to ${circle.to})`,
        { cause: error },
      );
    }
    throw new NightshiftError(code, `${what} is not JSON-serialisable: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (encoded === undefined) {
    throw new NightshiftError(code, `${what} is not JSON-serialisable (${typeof value})`);
  }
  return encoded;
}

/** `checkedJsonText`'s check alone; returns the encoded length. */
export function assertJson(
  value: unknown,
  what: string,
  code: 'invalid_payload' | 'invalid_result' = 'invalid_payload',
): number {
  return checkedJsonText(value, what, code).length;
}

/** What `refuseLossy` throws: its message names the value, so no cycle is looked for. */
class LossyValue extends TypeError {}

/** A `JSON.stringify` replacer that throws on a value JSON would change or drop without a word. */
function refuseLossy(this: unknown, key: string, value: unknown): unknown {
  const at = key === '' ? 'the value' : `key ${JSON.stringify(key)}`;
  if (typeof value === 'function' || typeof value === 'symbol')
    throw new LossyValue(`${at} is a ${typeof value}`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new LossyValue(`${at} is ${String(value)}`);
  // JSON.stringify would throw on it anyway, but without saying where.
  if (typeof value === 'bigint') throw new LossyValue(`${at} is a BigInt (give a number or a string)`);
  if (value instanceof Map || value instanceof Set) {
    throw new LossyValue(`${at} is a ${value instanceof Map ? 'Map' : 'Set'} (give an object or an array)`);
  }
  return value;
}

/** A reference back into its own ancestors: its path from the top (`$`), and the path of the one it meets. */
interface Circle {
  at: string;
  to: string;
}

/** An object being walked, its path, and the next of its keys to visit. */
interface Frame {
  node: object;
  path: string;
  keys: string[];
  next: number;
}

/**
 * The first reference of `value` back into its own ancestors, in `JSON.stringify`'s order (own enumerable
 * keys; a value with `toJSON`, such as a Date, is not walked), or undefined. Looked for only after
 * stringify failed, so storing a value pays nothing for it; iterative, as a value nested too deep for
 * stringify's recursion would overflow a recursive walk as well.
 */
function findCircle(value: unknown): Circle | undefined {
  // The objects on the path being walked, each with its own path: met again below itself, a cycle.
  const open = new Map<object, string>();
  const stack: Frame[] = [];
  const enter = (node: unknown, path: string): Circle | undefined => {
    if (typeof node !== 'object' || node === null) return undefined;
    if (typeof (node as { toJSON?: unknown }).toJSON === 'function') return undefined;
    const to = open.get(node);
    if (to !== undefined) return { at: path, to };
    open.set(node, path);
    stack.push({ node, path, keys: Object.keys(node), next: 0 });
    return undefined;
  };
  let found = enter(value, '$');
  while (found === undefined && stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const key = frame.keys[frame.next];
    if (key === undefined) {
      stack.pop();
      open.delete(frame.node);
      continue;
    }
    frame.next += 1;
    const child = (frame.node as Record<string, unknown>)[key];
    found = enter(child, childPath(frame.path, key, Array.isArray(frame.node)));
  }
  return found;
}

/** `path` and `key` as JavaScript would write the access: `$.a`, `$[0]`, `$["a b"]`. */
function childPath(path: string, key: string, inArray: boolean): string {
  if (inArray) return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Emits `job:enqueued` for each job `inserted` created (a repeated idempotency key creates none), for
 * this process's listeners and metrics: `ns.enqueue`, `enqueueMany` and handlers' child jobs alike.
 */
export function noteEnqueued(events: EventBus, inserted: readonly JobInsertResult[]): void {
  if (!events.has('job:enqueued')) return;
  for (const { job, created } of inserted) {
    if (!created) continue;
    const { id: jobId, task, queue, scheduleId } = job;
    events.emit('job:enqueued', { jobId, task, queue, scheduleId });
  }
}
