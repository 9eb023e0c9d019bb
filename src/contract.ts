/**
 * Task contracts: what a producer needs to enqueue a task (its name, payload schema, optional result
 * schema and defaults) without the handler's code or dependencies. A worker binds a handler to a
 * contract with `implement`; a producer registers the contract alone.
 *
 * It imports nothing but the error class and the key check, so a contracts module costs a producer
 * only its schemas.
 */
import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { NightshiftError } from './errors.js';
import type { BoundContext } from './validation/bounds.js';
import { keyNames, refuseUnknownKeys } from './validation/known-keys.js';
import type { BackoffOptions, Handler } from './task.js';

/** Defaults a task gives its jobs; every one can be overridden per job where enqueue options allow. */
export interface TaskDefaults {
  /** Default `default`. */
  queue?: string;
  /** Higher runs first. Default 0. */
  priority?: number;
  /** Default 5. */
  maxAttempts?: number;
  /** Handler time limit in ms; past it the signal aborts and the attempt fails with reason `timeout`. */
  timeoutMs?: number;
  /** Lease length for this task's attempts; defaults to the worker's. */
  leaseMs?: number;
  /** A run longer than this is reported (log, event, run-history flag) but keeps running. */
  maxDurationMs?: number;
  /** Exponential backoff with jitter between attempts. */
  backoff?: BackoffOptions;
  /**
   * How many of this task's jobs with the same `concurrencyKey` may run at once, cluster-wide, unless
   * the job says otherwise or an operator set the key's limit (docs/TENANCY.md). Default: the
   * queue's `concurrencyLimit`, else 1.
   */
  concurrencyLimit?: number;
  /**
   * Labels a worker must offer to claim this task's jobs, unless the job gives its own `requires`
   * (docs/TENANCY.md, "Worker labels"). Default none.
   */
  requires?: string[];
}

/**
 * Defaults a task derives from each job's payload, for the jobs whose options give none (docs/TENANCY.md):
 * a tenant's key and group from the tenant named in the payload, say. Called once per job at enqueue,
 * with the payload as validated (the schema's output), and for each schedule slot's job with the
 * schedule's payload. A function that throws, or returns something other than a string, null or
 * undefined, refuses the enqueue (`invalid_argument`) and nothing is written.
 */
export interface PayloadDefaults<Payload> {
  // Methods, not function-typed properties: a task of one payload type must still fit where tasks of
  // any payload are taken (the registry, `TaskMap`), which method parameters allow.
  /**
   * The job's concurrency key, e.g. `(p) => \`tenant:${p.tenantId}\``: at most `concurrencyLimit`
   * (default: the queue's, else 1) of the task's jobs with one key run at once. Null or undefined: no
   * key, even where the job's queue has a key function of its own.
   */
  concurrencyKey?(payload: Payload): string | null | undefined;
  /** The job's group (tenant), claimed in weighted turns with other groups. Null or undefined: none. */
  group?(payload: Payload): string | null | undefined;
}

const BACKOFF_OPTION_NAMES = keyNames<BackoffOptions>({ baseMs: true, maxMs: true, jitter: true });

/**
 * Refuses a misspelt key of a task's `backoff` (a `bseMs` would retry after the default 1 s); `at` is
 * where the task is declared.
 */
export function checkBackoffKeys(backoff: unknown, at: BoundContext): void {
  if (backoff !== undefined) refuseUnknownKeys(backoff, BACKOFF_OPTION_NAMES, 'backoff option', at);
}

/** What `defineContract` takes besides the name. */
export interface ContractDefinition<
  PayloadSchema extends StandardSchemaV1,
  ResultSchema extends StandardSchemaV1 | undefined,
>
  extends TaskDefaults, PayloadDefaults<StandardSchemaV1.InferOutput<PayloadSchema>> {
  /** Validates payloads when enqueued and again in the worker before the handler runs. */
  payload: PayloadSchema;
  /** Validates what the handler returns; the stored result is its output. */
  result?: ResultSchema;
}

/** The keys of a task's defaults, shared by task definitions and contracts. */
export const TASK_DEFAULT_NAMES = {
  queue: true,
  priority: true,
  maxAttempts: true,
  timeoutMs: true,
  leaseMs: true,
  maxDurationMs: true,
  backoff: true,
  concurrencyLimit: true,
  requires: true,
  concurrencyKey: true,
  group: true,
} as const satisfies { [K in keyof Required<TaskDefaults & PayloadDefaults<unknown>>]: true };

const CONTRACT_OPTION_NAMES = keyNames<ContractDefinition<StandardSchemaV1, StandardSchemaV1 | undefined>>({
  payload: true,
  result: true,
  ...TASK_DEFAULT_NAMES,
});

/** A task's contract: its name, schemas and defaults, and no handler. Made by `defineContract`. */
export interface TaskContract<
  Name extends string = string,
  PayloadSchema extends StandardSchemaV1 = StandardSchemaV1,
  ResultSchema extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined,
>
  extends Readonly<TaskDefaults>, Readonly<PayloadDefaults<StandardSchemaV1.InferOutput<PayloadSchema>>> {
  readonly kind: 'nightshift.contract';
  readonly name: Name;
  readonly payload: PayloadSchema;
  readonly result: ResultSchema;
}

/** The payload a producer passes: the payload schema's input type. */
export type ContractInput<C extends TaskContract> = StandardSchemaV1.InferInput<C['payload']>;
/** The payload a handler receives: the payload schema's output type. */
export type ContractPayload<C extends TaskContract> = StandardSchemaV1.InferOutput<C['payload']>;
/** The stored result: the result schema's output type, `unknown` without a result schema. */
export type ContractResult<C extends TaskContract> = C['result'] extends StandardSchemaV1
  ? StandardSchemaV1.InferOutput<C['result']>
  : unknown;
/** What a handler of the contract must return: the result schema's input type, anything without one. */
export type ContractHandlerResult<C extends TaskContract> = C['result'] extends StandardSchemaV1
  ? StandardSchemaV1.InferInput<C['result']>
  : unknown;

/** A handler bound to a contract. Made by `implement`; registered by workers. */
export interface TaskImplementation<C extends TaskContract = TaskContract, Result = unknown> {
  readonly kind: 'nightshift.implementation';
  readonly contract: C;
  readonly handler: Handler<ContractPayload<C>, Result>;
}

/**
 * Declares a task's contract. `name` is the task name jobs carry; `payload` is any Standard Schema
 * validator (zod, valibot, arktype, ...).
 */
export function defineContract<
  const Name extends string,
  PayloadSchema extends StandardSchemaV1,
  ResultSchema extends StandardSchemaV1 | undefined = undefined,
>(
  name: Name,
  definition: ContractDefinition<PayloadSchema, ResultSchema>,
): TaskContract<Name, PayloadSchema, ResultSchema> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new NightshiftError('config_error', 'a contract needs a non-empty task name');
  }
  // A misspelt default (`retries`) would otherwise leave the task with the default one.
  const at: BoundContext = { code: 'config_error', prefix: `contract ${JSON.stringify(name)}: ` };
  refuseUnknownKeys(definition, CONTRACT_OPTION_NAMES, 'contract option', at);
  checkBackoffKeys(definition.backoff, at);
  const { payload, result, ...defaults } = definition;
  for (const [field, schema] of [
    ['payload', payload],
    ['result', result],
  ] as const) {
    if ((field === 'payload' || schema !== undefined) && !isStandardSchema(schema)) {
      throw new NightshiftError(
        'config_error',
        `contract "${name}": ${field} must be a Standard Schema validator (zod, valibot, arktype, ...)`,
      );
    }
  }
  return Object.freeze({
    ...defaults,
    kind: 'nightshift.contract' as const,
    name,
    payload,
    result: result as ResultSchema,
  });
}

/**
 * Binds a handler to a contract. The handler receives the payload schema's output and must return
 * the result schema's input (anything, without a result schema).
 */
export function implement<C extends TaskContract, Result extends ContractHandlerResult<C>>(
  contract: C,
  handler: Handler<ContractPayload<C>, Result>,
): TaskImplementation<C, Result> {
  return Object.freeze({ kind: 'nightshift.implementation' as const, contract, handler });
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  return typeof props?.validate === 'function';
}

/** True for a value made by `defineContract`. */
export function isContract(value: unknown): value is TaskContract {
  return (value as { kind?: unknown } | null)?.kind === 'nightshift.contract';
}

/** True for a value made by `implement`. */
export function isImplementation(value: unknown): value is TaskImplementation {
  return (value as { kind?: unknown } | null)?.kind === 'nightshift.implementation';
}

/** Options of `contractJsonSchema`. */
export interface ContractJsonSchemaOptions {
  /** `payload` (default): the input a producer sends. `result`: the output a finished job carries. */
  of?: 'payload' | 'result';
  /** Default `draft-2020-12`; OpenAPI 3.1 documents use it as is. */
  target?: StandardJSONSchemaV1.Target;
}

const JSON_SCHEMA_OPTION_NAMES = keyNames<ContractJsonSchemaOptions>({ of: true, target: true });

/**
 * The JSON Schema of a contract's payload (the payload schema's input: what a producer sends) or of
 * its result (the result schema's output: what a finished job carries). Undefined when there is no
 * such schema, when its validator does not implement Standard JSON Schema, or when it cannot express
 * the schema (zod 4 implements it for plain data, and throws for, say, a custom refinement).
 */
export function contractJsonSchema(
  contract: TaskContract,
  options: ContractJsonSchemaOptions = {},
): Record<string, unknown> | undefined {
  refuseUnknownKeys(options, JSON_SCHEMA_OPTION_NAMES, 'contractJsonSchema option');
  const of = options.of ?? 'payload';
  return standardJsonSchema(
    of === 'payload' ? contract.payload : contract.result,
    of === 'payload' ? 'input' : 'output',
    options.target ?? 'draft-2020-12',
  );
}

/**
 * The JSON Schema of a validator's input or output, through its Standard JSON Schema converter (the
 * task catalog, task-catalog.ts, reads a `defineTask` schema as well as a contract's). Undefined when
 * there is no schema, no converter, or the converter cannot express it (it throws).
 */
export function standardJsonSchema(
  schema: StandardSchemaV1 | undefined,
  side: 'input' | 'output',
  target: StandardJSONSchemaV1.Target,
): Record<string, unknown> | undefined {
  const converter = (schema?.['~standard'] as Partial<StandardJSONSchemaV1.Props> | undefined)?.jsonSchema;
  const convert = converter?.[side];
  if (typeof convert !== 'function') return undefined;
  try {
    return convert({ target });
  } catch {
    return undefined;
  }
}
