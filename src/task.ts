/**
 * Tasks: the named handlers jobs run, with their defaults (queue, attempts, timeout, lease) and an
 * optional payload schema. Any Standard Schema validator works (zod, valibot, arktype, ...), so
 * nightshift does not pick a validation library for its users.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { ResourceLimits } from 'node:worker_threads';
import { checkBackoffKeys, TASK_DEFAULT_NAMES, type PayloadDefaults, type TaskDefaults } from './contract.js';
import type { Job } from './job.js';
import type { BoundContext } from './validation/bounds.js';
import { keyNames, refuseUnknownKeys } from './validation/known-keys.js';

/** Options for a child job enqueued from inside a handler. */
export interface ChildEnqueueOptions {
  /**
   * Required: identifies this child within its parent, so a re-run of the parent creates it once.
   * The stored idempotency key is derived from the parent's id and this key.
   */
  key: string;
  queue?: string;
  priority?: number;
  delayMs?: number;
  runAt?: Date;
  maxAttempts?: number;
  /** A handle from `ctx.transaction`: the child exists iff that transaction commits. */
  tx?: unknown;
}

/** One child of `ctx.enqueueMany`: its task, payload and options (`key` required, no `tx`). */
export interface ChildEnqueueItem {
  task: string;
  payload?: unknown;
  options: Omit<ChildEnqueueOptions, 'tx'>;
}

/** Where a fenced write goes: `tx` is a handle from `ctx.transaction`. */
export interface InTransaction {
  tx: unknown;
}

/** The keys of `{ tx }`: a misspelt one would save a checkpoint outside the transaction. */
export const IN_TRANSACTION_KEYS = keyNames<InTransaction>({ tx: true });

/** What a handler receives besides its payload. */
export interface JobContext<Payload = unknown> {
  /** The job as claimed: id, task, queue, attempt, payload, ... */
  readonly job: Readonly<Job<Payload>>;
  /** Aborts on cancellation, timeout, lease loss (reason is a `LeaseLostError`) and forced shutdown. */
  readonly signal: AbortSignal;
  /** The last saved checkpoint, undefined on a job that never saved one. */
  readonly checkpoint: unknown;
  /**
   * Saves progress; a later attempt starts with it. Rejects with `LeaseLostError` when fenced off.
   * With `{ tx }` the checkpoint is written inside that `ctx.transaction` and exists iff it commits.
   */
  saveCheckpoint(value: unknown, options?: InTransaction): Promise<void>;
  /**
   * Runs `fn` in one database transaction on the job's own database, fenced by this attempt's lease:
   * the handler's writes on `tx` and the job's writes passed `{ tx }` (checkpoint, completion, child
   * jobs) commit together or not at all. `tx` is the backend's handle: on PostgreSQL a node-postgres
   * client inside BEGIN, on SQLite the store's better-sqlite3 Database inside BEGIN IMMEDIATE (which
   * blocks every other writer while `fn` runs: keep it short, no network calls inside).
   * Before COMMIT the lease is checked (and renewed) inside the transaction; if another attempt owns
   * the job by then, the transaction rolls back and this rejects with `LeaseLostError`. So a crash,
   * kill or lost lease at any point leaves both the effects and the progress, or neither. Inside `fn`,
   * job writes must pass `{ tx }`; `ctx.step` and `ctx.heartbeat` belong before or after it.
   */
  transaction<T, Tx = unknown>(fn: (tx: Tx) => Promise<T> | T): Promise<T>;
  /**
   * Completes the job with `result` inside `ctx.transaction`'s `tx`: the completion commits with the
   * handler's writes. Once that transaction has committed, the attempt's outcome is decided; what the
   * handler returns (or throws) afterwards is ignored.
   */
  complete(result: unknown, options: InTransaction): Promise<void>;
  /** Runs `fn` once per job: a re-run returns the recorded result without calling `fn` again. */
  step<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /** Renews the lease now and rejects with `LeaseLostError` when it is gone. */
  heartbeat(): Promise<void>;
  /** Structured log line tagged with the job id, task and attempt. */
  log(message: string, data?: Record<string, unknown>): void;
  /** Enqueues a child job exactly once per (parent, key), fenced by this attempt's lease. */
  enqueue(
    task: string,
    payload: unknown,
    options: ChildEnqueueOptions,
  ): Promise<{ id: string; created: boolean }>;
  /**
   * Enqueues many children in one write, fenced by this attempt's lease: all of them or none. Each
   * is created once per (parent, `options.key`), so a re-run of the parent after a crash creates
   * only the ones it has not made yet, and answers the others with `created: false`. A bad item
   * throws `EnqueueItemError` (its `index`) and writes nothing; two items with one key are refused.
   * With `{ tx }` the children exist iff that `ctx.transaction` commits.
   */
  enqueueMany(
    items: ReadonlyArray<ChildEnqueueItem>,
    options?: InTransaction,
  ): Promise<Array<{ id: string; created: boolean }>>;
}

/** A task's handler: resolves with the job's result, rejects to fail the attempt. */
export type Handler<Payload = unknown, Result = unknown> = (
  payload: Payload,
  ctx: JobContext<Payload>,
) => Promise<Result> | Result;

/** Exponential backoff with jitter between attempts. */
export interface BackoffOptions {
  /** Delay before the second attempt. Default 1,000 ms. */
  baseMs?: number;
  /** Upper bound for any delay. Default 1 hour. */
  maxMs?: number;
  /** Fraction of the delay randomised (0..1). Default 0.2. */
  jitter?: number;
}

/**
 * Where a handler runs. `none`: in the worker's own thread, sharing its process. `thread`: in a
 * worker thread of a pool, so a crash (`process.exit`, a throw), an out-of-memory or a hang that
 * ignores its signal ends that thread only: the attempt fails (or times out) and the thread is ended
 * for real. An isolated task names the module it is exported from (`module`, `export`).
 */
export type Isolation = 'none' | 'thread' | ThreadIsolation;

/** Thread isolation with limits for each handler thread. */
export interface ThreadIsolation {
  mode: 'thread';
  /**
   * Node's worker_threads limits of each thread (`maxOldGenerationSizeMb`, ...). A thread past its
   * heap limit is ended and the attempt fails with `HandlerThreadOutOfMemoryError`.
   */
  resourceLimits?: ResourceLimits;
}

/**
 * A task with its defaults. Created with `defineTask` or given as a bare handler in config. `Input` is
 * what a producer passes (the schema's input type), `Payload` what the handler receives (its output).
 */
export interface TaskDefinition<Payload = unknown, Result = unknown, Input = Payload>
  extends TaskDefaults, PayloadDefaults<Payload> {
  /** Task name; taken from the key when the task sits in a `tasks` object. */
  name?: string;
  handler: Handler<Payload, Result>;
  /**
   * Validates payloads at enqueue (an invalid payload is refused with `invalid_payload`) and again in
   * the worker before the handler runs, which receives the schema's output.
   */
  schema?: StandardSchemaV1<Input, Payload>;
  /** Where the handler runs (see `Isolation`); default: the worker's `isolation`, itself `none` by default. */
  isolation?: Isolation;
  /**
   * The module this task is exported from, for a handler run in a thread: pass `import.meta.url`
   * (or a file URL or absolute path). The thread imports it and runs the export named `export`.
   */
  module?: string | URL;
  /** Which export of `module` is this task (a `defineTask` result or a bare handler). Default `default`. */
  export?: string;
}

const TASK_OPTION_NAMES = keyNames<TaskDefinition>({
  name: true,
  handler: true,
  schema: true,
  isolation: true,
  module: true,
  export: true,
  ...TASK_DEFAULT_NAMES,
});

/**
 * Refuses a misspelt key of a task definition or of its `backoff` (a `retires` would leave the task
 * with the default attempts); `at` is where the task is declared.
 */
export function checkTaskDefinitionKeys(definition: object, at: BoundContext): void {
  refuseUnknownKeys(definition, TASK_OPTION_NAMES, 'task option', at);
  checkBackoffKeys((definition as TaskDefinition).backoff, at);
}

/** Declares a task; returns it unchanged, typed. Throws `config_error` on a key a task does not have. */
export function defineTask<Payload = unknown, Result = unknown, Input = Payload>(
  definition: TaskDefinition<Payload, Result, Input>,
): TaskDefinition<Payload, Result, Input> {
  checkTaskDefinitionKeys(definition, { code: 'config_error' });
  return definition;
}

/** What `tasks` may hold: a bare handler or a task definition, keyed by task name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each task has its own payload type; the map must accept all of them
export type TaskMap = Record<string, Handler<any, any> | TaskDefinition<any, any, any>>;
