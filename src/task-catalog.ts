/**
 * The task catalog (`ns.taskCatalog()`, `GET /api/v1/tasks`, `nightshift tasks`): every task this
 * instance knows (its registry: the `tasks` map, contracts, implementations) and every task a live
 * worker implements (the `tasks` each worker wrote when it registered, worker/registration.ts), so an
 * operator sees which tasks exist, what payload they take, and whether anything runs them: a job of a
 * task no live worker implements waits until one does (worker/attempt-runner.ts hands it back).
 *
 * The defaults are the registry's resolved ones (task-registry.ts `ResolvedTask`), those an enqueue
 * through this instance gives a job whose options set none (new-job.ts). A task known only from a
 * worker has no defaults here: this instance does not know them, and refuses to enqueue it.
 */
import { standardJsonSchema } from './contract.js';
import type { WorkerInfo } from './store/store.js';
import type { ResolvedTask, TaskRegistry } from './task-registry.js';

/** One task of the catalog. */
export interface TaskCatalogEntry {
  name: string;
  /** Known to this instance (its registry), so its enqueue (and `POST /api/v1/jobs`) accepts it. */
  declared: boolean;
  /** The task's default queue; null for a task known only from a worker. */
  queue: string | null;
  /** The task's default priority; null for a task known only from a worker. */
  priority: number | null;
  /** The task's default attempts per job; null for a task known only from a worker. */
  maxAttempts: number | null;
  /**
   * The task's handler time limit in ms; null when it sets none (the worker's `timeoutMs` applies) or
   * the task is known only from a worker.
   */
  timeoutMs: number | null;
  /**
   * The JSON Schema (draft 2020-12) of the payload a producer sends, from the payload schema's Standard
   * JSON Schema converter; null when the task has no payload schema, its validator has no converter,
   * or the converter cannot express it.
   */
  payloadSchema: Record<string, unknown> | null;
  /** The ids of the live workers that implement it, by id; empty when none does. */
  workers: string[];
}

// A task's schema is fixed once registered: converted once per resolved task, not per read (the
// dashboard reads the catalog again on every burst of live events).
const converted = new WeakMap<ResolvedTask, Record<string, unknown> | null>();

/** The catalog of `registry`'s tasks and those `workers` (the live ones, by id) implement, by name. */
export function taskCatalog(registry: TaskRegistry, workers: readonly WorkerInfo[]): TaskCatalogEntry[] {
  const implementers = new Map<string, string[]>();
  for (const worker of workers) {
    for (const task of worker.tasks) {
      const ids = implementers.get(task);
      if (ids === undefined) implementers.set(task, [worker.id]);
      else ids.push(worker.id);
    }
  }
  const names = new Set([...registry.names(), ...implementers.keys()]);
  return [...names].sort().map((name) => {
    const task = registry.get(name);
    const ids = implementers.get(name) ?? [];
    if (task === undefined) {
      return {
        name,
        declared: false,
        queue: null,
        priority: null,
        maxAttempts: null,
        timeoutMs: null,
        payloadSchema: null,
        workers: ids,
      };
    }
    return {
      name,
      declared: true,
      queue: task.queue,
      priority: task.priority,
      maxAttempts: task.maxAttempts,
      timeoutMs: task.timeoutMs,
      payloadSchema: payloadSchema(task),
      workers: ids,
    };
  });
}

function payloadSchema(task: ResolvedTask): Record<string, unknown> | null {
  let schema = converted.get(task);
  if (schema === undefined) {
    schema = asJson(standardJsonSchema(task.schema, 'input', 'draft-2020-12'));
    converted.set(task, schema);
  }
  return schema;
}

/**
 * What a converter gave as plain JSON, or null: a converter is another library's code, and what it
 * returns is printed by the CLI and sent by the API, so a value JSON cannot hold (a cycle, a BigInt)
 * or that is no object is taken as "not convertible" rather than failing the whole catalog.
 */
function asJson(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  try {
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  } catch {
    return null;
  }
}
