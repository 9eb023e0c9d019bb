/**
 * What the compiler knows of the tasks a Nightshift instance registered: for each task name, the
 * payload a producer passes, the payload stored and handed to the handler, and the result a finished
 * job carries. Derived from contracts, implementations and the `tasks` map, so a misspelled name or a
 * wrong payload is a compile error at every producer. Types only: nothing here exists at run time.
 */
import type {
  ContractInput,
  ContractPayload,
  ContractResult,
  TaskContract,
  TaskImplementation,
} from './contract.js';
import type { EnqueueOptions } from './enqueue.js';
import type { Job } from './job.js';
import type { ScheduleChanges, ScheduleInput } from './schedule-types.js';
import type { Handler, TaskDefinition } from './task.js';

/** One task as the compiler sees it. */
export interface TaskSignature<Input = unknown, Payload = unknown, Result = unknown> {
  /** What `enqueue` takes: the payload schema's input. */
  input: Input;
  /** What is stored and what the handler receives: the payload schema's output. */
  payload: Payload;
  /** What a completed job's `result` holds. */
  result: Result;
}

/** Task signatures keyed by task name. `Record<string, TaskSignature>` is the untyped view: any name. */
export type TaskSignatures = Record<string, TaskSignature>;

/** The task names of a registry, as a union of string literals. */
export type TaskName<Tasks extends TaskSignatures> = keyof Tasks & string;

declare const jobTask: unique symbol;
/**
 * A job id that remembers its task for the compiler, so `waitFor(id)` and `getJob(id)` know the
 * result type of a job this code enqueued. Any string is accepted where a JobId is expected.
 */
export type JobId<Name extends string = string> = string & { readonly [jobTask]?: Name };

/** A job of one task, its payload and result typed. */
export type TaskJob<Tasks extends TaskSignatures, Name extends TaskName<Tasks>> = Job<
  Tasks[Name]['payload'],
  Tasks[Name]['result']
> & { task: Name };

/** A job of any registered task: narrow it on `job.task` to see its payload and result types. */
export type AnyTaskJob<Tasks extends TaskSignatures> = {
  [Name in TaskName<Tasks>]: TaskJob<Tasks, Name>;
}[TaskName<Tasks>];

/** `payload` as a property: optional when the task's input accepts undefined. */
type PayloadProperty<Input> = undefined extends Input ? { payload?: Input } : { payload: Input };

/** One item of `enqueueMany`: a known task name with that task's payload. */
export type TypedEnqueueItem<Tasks extends TaskSignatures> = {
  [Name in TaskName<Tasks>]: { task: Name; options?: Omit<EnqueueOptions, 'tx'> } & PayloadProperty<
    Tasks[Name]['input']
  >;
}[TaskName<Tasks>];

/**
 * A schedule of task `N` with that task's payload; with `N` a union (all registered names by
 * default), a schedule of any of them, each checked against its own task's payload as `enqueueMany`
 * items are (the conditional distributes over `N`).
 */
export type TypedScheduleInput<
  Tasks extends TaskSignatures,
  N extends TaskName<Tasks> = TaskName<Tasks>,
> = N extends unknown
  ? Omit<ScheduleInput, 'task' | 'payload'> & { task: N; payload?: Tasks[N]['input'] }
  : never;

/**
 * What `schedules.update` merges over a schedule of task `N` (any registered task by default: the
 * compiler does not know a stored schedule's task), as `ScheduleChanges`: `undefined` keeps a field,
 * `null` empties a clearable one. A payload given with `task` is that task's; one given alone must be
 * some registered task's, and is checked against the schedule's own at run time.
 */
export type TypedScheduleChanges<
  Tasks extends TaskSignatures,
  N extends TaskName<Tasks> = TaskName<Tasks>,
> = N extends unknown
  ? Omit<ScheduleChanges, 'task' | 'payload'> & {
      task?: N | undefined;
      payload?: Tasks[N]['input'] | undefined;
    }
  : never;

/** The arguments after the task name in `enqueue`: the payload may be left out when it may be undefined. */
export type EnqueueArguments<Input> = undefined extends Input
  ? [payload?: Input, options?: EnqueueOptions]
  : [payload: Input, options?: EnqueueOptions];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches contracts of any schema types
type AnyContract = TaskContract<string, any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches implementations of any contract (handler parameters are contravariant)
type AnyImplementation = TaskImplementation<any, any>;

/** Contracts as `connect` and `defineConfig` take them: a list, or an object such as a module namespace. */
export type ContractList = readonly AnyContract[] | Readonly<Record<string, AnyContract>>;
/** Implementations as `connect` and `defineConfig` take them: a list or an object. */
export type ImplementationList = readonly AnyImplementation[] | Readonly<Record<string, AnyImplementation>>;

type Members<List> = List extends readonly unknown[] ? List[number] : List[keyof List];

/** The signature a contract gives its task. */
export type ContractSignature<C extends TaskContract> = TaskSignature<
  ContractInput<C>,
  ContractPayload<C>,
  ContractResult<C>
>;

/** Signatures of a list of contracts, keyed by their names. */
export type ContractSignatures<List> = {
  [C in Members<List> as C extends AnyContract ? C['name'] : never]: C extends AnyContract
    ? ContractSignature<C>
    : never;
};

/** Signatures of a list of implementations: the contract's, with the handler's result when it has no result schema. */
export type ImplementationSignatures<List> = {
  [
    I in Members<List> as I extends AnyImplementation ? I['contract']['name'] : never
  ]: I extends TaskImplementation<infer C extends AnyContract, infer Result>
    ? TaskSignature<
        ContractInput<C>,
        ContractPayload<C>,
        C['result'] extends undefined ? Awaited<Result> : ContractResult<C>
      >
    : never;
};

/** Signatures of a `tasks` map (handlers and `defineTask` results), keyed by its keys. */
export type TaskMapSignatures<Map> = {
  [Name in keyof Map & string]: Map[Name] extends TaskDefinition<infer Payload, infer Result, infer Input>
    ? TaskSignature<Input, Payload, Awaited<Result>>
    : Map[Name] extends Handler<infer Payload, infer Result>
      ? TaskSignature<Payload, Payload, Awaited<Result>>
      : TaskSignature;
};

/** Everything one instance registered. */
export type RegisteredTasks<Tasks, Contracts, Implementations> = TaskMapSignatures<Tasks> &
  ContractSignatures<Contracts> &
  ImplementationSignatures<Implementations>;
