/**
 * The tasks a Nightshift instance knows, resolved once from what it registered: contracts (producers:
 * name, schemas, defaults, no handler), implementations (workers: a contract with its handler) and the
 * `tasks` map (bare handlers and `defineTask` results). Every default a worker or enqueue needs is
 * filled here so the hot path never re-derives it; so are the defaults its queues give their jobs
 * (queue-defaults.ts), which every enqueue of the instance reaches through the registry.
 *
 * A handler with a payload schema is wrapped once, here, so the worker validates each payload before
 * the handler sees it (a contract changed between deploys fails the attempt with `invalid_payload`
 * instead of running the handler on data it does not expect), and its result against the result
 * schema when the contract has one (`invalid_result`).
 *
 * Defaults: queue `default`, priority 0, maxAttempts 5, backoff base 1 s / max 1 h / 20 % jitter.
 * Timeout and lease stay unset here (null): the job row or the worker decides them.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { isContract, isImplementation, type TaskContract, type TaskImplementation } from './contract.js';
import { NightshiftError } from './errors.js';
import type { QueueDefaultsByName } from './queue-defaults.js';
import { checkRequires } from './validation/labels.js';
import { checkTaskBounds } from './validation/task-bounds.js';
import { resolveTaskIsolation, type TaskIsolation } from './worker/isolation/task-isolation.js';
import { checkSchema, type SchemaCheck } from './schema-check.js';
import {
  checkTaskDefinitionKeys,
  type Handler,
  type JobContext,
  type TaskDefinition,
  type TaskMap,
} from './task.js';
import type { ContractList, ImplementationList } from './task-types.js';

/** Default queue for tasks that name none. */
export const DEFAULT_QUEUE = 'default';
/** Default attempts per job: enough to ride out a short outage, few enough to surface real bugs. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** Running jobs per concurrency key when neither the job, its task nor its queue gives a limit: one at a time. */
export const DEFAULT_CONCURRENCY_LIMIT = 1;

/** Backoff used when a task sets none (and for jobs of tasks this process does not know). */
export const DEFAULT_BACKOFF: ResolvedBackoff = { baseMs: 1_000, maxMs: 3_600_000, jitter: 0.2 };

/** Backoff with every field decided. */
export interface ResolvedBackoff {
  baseMs: number;
  maxMs: number;
  jitter: number;
}

/** A default derived from a job's payload: its caller checks what it returns. */
export type PayloadDefault = (payload: unknown) => unknown;

/** A task with its defaults filled in. */
export interface ResolvedTask {
  name: string;
  /** Null for a task this process knows only by its contract: it can enqueue it, not run it. */
  handler: Handler | null;
  schema: StandardSchemaV1 | undefined;
  queue: string;
  priority: number;
  maxAttempts: number;
  timeoutMs: number | null;
  leaseMs: number | null;
  maxDurationMs: number | null;
  /** The limit of this task's keyed jobs that give none themselves; null: the queue's, else 1. */
  concurrencyLimit: number | null;
  /** Labels this task's jobs require when they give none themselves: canonical, null for none. */
  requires: string[] | null;
  /** The key and group this task derives from a job's payload (contract.ts `PayloadDefaults`), or null. */
  concurrencyKeyOf: PayloadDefault | null;
  groupOf: PayloadDefault | null;
  backoff: ResolvedBackoff;
  /** Where the handler runs (worker/isolation/task-isolation.ts). */
  isolation: TaskIsolation;
}

/** What one instance registers besides its `tasks` map. */
export interface Registrations {
  contracts?: ContractList | undefined;
  implementations?: ImplementationList | undefined;
  /** The job defaults of queues, checked (queue-limits.ts `checkQueuesConfig`), by queue name. */
  queueDefaults?: QueueDefaultsByName | undefined;
}

/** Looks tasks up by name. */
export class TaskRegistry {
  private readonly tasks = new Map<string, ResolvedTask>();
  /** Where each name came from, to refuse two different declarations of one task. */
  private readonly sources = new Map<string, TaskContract | TaskDefinition>();
  /** The defaults each queue gives the jobs enqueued into it, by queue name (queue-defaults.ts). */
  readonly queueDefaults: QueueDefaultsByName;

  constructor(tasks: TaskMap = {}, registrations: Registrations = {}) {
    this.queueDefaults = registrations.queueDefaults ?? new Map();
    for (const value of members(registrations.contracts, 'contracts')) {
      if (!isContract(value)) {
        throw new NightshiftError('config_error', '"contracts" must hold defineContract(...) results');
      }
      this.add(value.name, value, resolve(value.name, { ...value, schema: value.payload }, null));
    }
    for (const value of members(registrations.implementations, 'implementations')) {
      if (!isImplementation(value)) {
        throw new NightshiftError('config_error', '"implementations" must hold implement(...) results');
      }
      const { contract } = value;
      // The contract may be registered too (a process that produces and runs the task): same object.
      if (this.sources.get(contract.name) === contract) this.tasks.delete(contract.name);
      this.add(
        contract.name,
        contract,
        resolve(contract.name, { ...contract, schema: contract.payload }, value),
      );
    }
    for (const [key, value] of Object.entries(tasks)) {
      const definition: TaskDefinition = typeof value === 'function' ? { handler: value } : value;
      if (typeof definition.handler !== 'function') {
        throw new NightshiftError('config_error', `task "${key}" has no handler function`);
      }
      // Again here: a definition may be a plain object that never went through defineTask.
      checkTaskDefinitionKeys(definition, { code: 'config_error', prefix: `task ${JSON.stringify(key)}: ` });
      this.add(key, definition, resolve(key, definition, definition));
    }
  }

  private add(name: string, source: TaskContract | TaskDefinition, task: ResolvedTask): void {
    if (this.tasks.has(name)) {
      throw new NightshiftError('config_error', `task "${name}" is declared twice`);
    }
    this.sources.set(name, source);
    this.tasks.set(name, task);
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

  /**
   * Names of the tasks this instance can run (those with a handler, not a contract alone), sorted by
   * UTF-16 code units: the list a worker registers (worker/registration.ts).
   */
  implemented(): string[] {
    return [...this.tasks.values()]
      .filter((task) => task.handler !== null)
      .map((task) => task.name)
      .sort();
  }
}

/** What `resolve` reads: a task definition, or a contract with its payload schema as `schema`. */
type Declaration = Omit<TaskDefinition, 'handler'> & { result?: StandardSchemaV1 | undefined };

/** `runner` supplies the handler: a definition, an implementation, or null for a contract alone. */
function resolve(
  key: string,
  definition: Declaration,
  runner: { handler: Handler } | TaskImplementation | null,
): ResolvedTask {
  if (definition.name !== undefined && definition.name !== key) {
    throw new NightshiftError(
      'config_error',
      `task "${key}" is declared with a different name "${definition.name}"`,
    );
  }
  const backoff = definition.backoff ?? {};
  const resolved: ResolvedTask = {
    name: key,
    handler:
      runner === null ? null : checkedHandler(key, definition.schema, definition.result, runner.handler),
    schema: definition.schema,
    queue: definition.queue ?? DEFAULT_QUEUE,
    priority: definition.priority ?? 0,
    maxAttempts: definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    timeoutMs: definition.timeoutMs ?? null,
    leaseMs: definition.leaseMs ?? null,
    maxDurationMs: definition.maxDurationMs ?? null,
    concurrencyLimit: definition.concurrencyLimit ?? null,
    requires:
      definition.requires === undefined
        ? null
        : checkRequires(definition.requires, {
            code: 'config_error',
            prefix: `task ${JSON.stringify(key)}: `,
          }),
    concurrencyKeyOf: payloadDefault(key, 'concurrencyKey', definition.concurrencyKey),
    groupOf: payloadDefault(key, 'group', definition.group),
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

/** A task's payload default: a function, or absent; anything else is refused when the task is registered. */
function payloadDefault(task: string, field: string, value: unknown): PayloadDefault | null {
  if (value === undefined) return null;
  if (typeof value !== 'function') {
    throw new NightshiftError(
      'config_error',
      `task ${JSON.stringify(task)}: ${field} must be a function of the payload (for a fixed ${field}, give the enqueue option ${field})`,
    );
  }
  return value as PayloadDefault;
}

function* members<T>(
  list: readonly T[] | Readonly<Record<string, T>> | undefined,
  what: string,
): Iterable<unknown> {
  if (list === undefined) return;
  if (typeof list !== 'object' || list === null) {
    throw new NightshiftError('config_error', `"${what}" must be a list or an object`);
  }
  yield* Array.isArray(list) ? list : Object.values(list);
}

/**
 * The handler the worker calls: the task's own, behind the payload check (and the result check when
 * there is a result schema). Without schemas it is the handler itself, at no cost.
 */
function checkedHandler(
  task: string,
  payloadSchema: StandardSchemaV1 | undefined,
  resultSchema: StandardSchemaV1 | undefined,
  handler: Handler,
): Handler {
  const run: Handler =
    resultSchema === undefined
      ? handler
      : (payload, ctx) => {
          const value = handler(payload, ctx);
          return isThenable(value)
            ? Promise.resolve(value).then((resolved) => checkedResult(task, resultSchema, resolved))
            : checkedResult(task, resultSchema, value);
        };
  if (payloadSchema === undefined) return run;
  return (payload: unknown, ctx: JobContext) => {
    const checked = checkSchema(payloadSchema, payload);
    return checked instanceof Promise
      ? checked.then((settled) => run(checkedPayload(task, settled), ctx))
      : run(checkedPayload(task, checked), ctx);
  };
}

function checkedPayload(task: string, checked: SchemaCheck): unknown {
  if (checked.ok) return checked.value;
  throw new NightshiftError(
    'invalid_payload',
    `payload does not match this worker's contract of task "${task}": ${checked.issues}`,
  );
}

function checkedResult(task: string, schema: StandardSchemaV1, value: unknown): unknown {
  const use = (checked: SchemaCheck): unknown => {
    if (checked.ok) return checked.value;
    throw new NightshiftError(
      'invalid_result',
      `handler result does not match the result schema of task "${task}": ${checked.issues}`,
    );
  };
  const checked = checkSchema(schema, value);
  return checked instanceof Promise ? checked.then(use) : use(checked);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
