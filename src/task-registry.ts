/**
 * The tasks a Nightshift instance knows, resolved once from the user's `tasks` map: a bare handler
 * becomes a definition with defaults, and every default a worker or enqueue needs is filled here so
 * the hot path never re-derives it.
 *
 * Defaults: queue `default`, priority 0, maxAttempts 5, backoff base 1 s / max 1 h / 20 % jitter.
 * Timeout and lease stay unset here (null): the job row or the worker decides them.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { NightshiftError } from './errors.js';
import type { Handler, TaskDefinition, TaskMap } from './task.js';
import { checkTaskBounds } from './validation/task-bounds.js';
import { resolveTaskIsolation, type TaskIsolation } from './worker/isolation/task-isolation.js';

/** Default queue for tasks that name none. */
export const DEFAULT_QUEUE = 'default';
/** Default attempts per job: enough to ride out a short outage, few enough to surface real bugs. */
export const DEFAULT_MAX_ATTEMPTS = 5;

/** Backoff used when a task sets none (and for jobs of tasks this process does not know). */
export const DEFAULT_BACKOFF: ResolvedBackoff = { baseMs: 1_000, maxMs: 3_600_000, jitter: 0.2 };

/** Backoff with every field decided. */
export interface ResolvedBackoff {
  baseMs: number;
  maxMs: number;
  jitter: number;
}

/** A task with its defaults filled in. */
export interface ResolvedTask {
  name: string;
  handler: Handler;
  schema: StandardSchemaV1 | undefined;
  queue: string;
  priority: number;
  maxAttempts: number;
  timeoutMs: number | null;
  leaseMs: number | null;
  maxDurationMs: number | null;
  backoff: ResolvedBackoff;
  /** Where the handler runs (worker/isolation/task-isolation.ts). */
  isolation: TaskIsolation;
}

/** Looks tasks up by name. */
export class TaskRegistry {
  private readonly tasks = new Map<string, ResolvedTask>();

  constructor(map: TaskMap = {}) {
    for (const [key, value] of Object.entries(map)) {
      const definition: TaskDefinition = typeof value === 'function' ? { handler: value } : value;
      this.tasks.set(key, resolve(key, definition));
    }
  }

  /** The task, or undefined when this instance does not know it. */
  get(name: string): ResolvedTask | undefined {
    return this.tasks.get(name);
  }

  /** The task, or `unknown_task`. */
  require(name: string): ResolvedTask {
    const task = this.tasks.get(name);
    if (!task) throw new NightshiftError('unknown_task', `unknown task "${name}"`);
    return task;
  }

  /** Names of every known task. */
  names(): string[] {
    return [...this.tasks.keys()];
  }

  /** Every known task. */
  all(): ResolvedTask[] {
    return [...this.tasks.values()];
  }
}

function resolve(key: string, definition: TaskDefinition): ResolvedTask {
  if (typeof definition.handler !== 'function') {
    throw new NightshiftError('config_error', `task "${key}" has no handler function`);
  }
  if (definition.name !== undefined && definition.name !== key) {
    throw new NightshiftError(
      'config_error',
      `task "${key}" is declared with a different name "${definition.name}"`,
    );
  }
  const backoff = definition.backoff ?? {};
  const resolved: ResolvedTask = {
    name: key,
    handler: definition.handler,
    schema: definition.schema,
    queue: definition.queue ?? DEFAULT_QUEUE,
    priority: definition.priority ?? 0,
    maxAttempts: definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    timeoutMs: definition.timeoutMs ?? null,
    leaseMs: definition.leaseMs ?? null,
    maxDurationMs: definition.maxDurationMs ?? null,
    backoff: {
      baseMs: backoff.baseMs ?? DEFAULT_BACKOFF.baseMs,
      maxMs: backoff.maxMs ?? DEFAULT_BACKOFF.maxMs,
      jitter: backoff.jitter ?? DEFAULT_BACKOFF.jitter,
    },
    isolation: resolveTaskIsolation(key, definition),
  };
  checkTaskBounds(resolved);
  return resolved;
}
