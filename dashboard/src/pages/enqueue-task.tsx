/**
 * The task part of the Enqueue job form, from the task catalog (task-catalog.ts): a select of the
 * tasks the server declares (it refuses any other), what the picked task gives a job whose fields are
 * left empty, its payload JSON Schema with a starting payload made from it, and a warning when no
 * running worker would run the job: none implements the task, or none of those claims from the
 * job's queue (it would wait until one does).
 */
import { FoldedJson, Problem } from '../components.js';
import { duration } from '../format.js';
import { payloadSkeleton } from '../payload-skeleton.js';
import { unserved, workersFor } from '../task-catalog.js';
import type { TaskCatalogEntry, Worker } from '../types.js';

/** The placeholders of the fields a task gives a default: its values once one is picked. */
export function taskDefaults(task: TaskCatalogEntry | undefined): {
  queue: string;
  priority: string;
  maxAttempts: string;
  timeout: string;
} {
  if (task === undefined) {
    const theTasks = "the task's";
    return { queue: theTasks, priority: theTasks, maxAttempts: theTasks, timeout: theTasks };
  }
  return {
    queue: `the task's: ${task.queue ?? '?'}`,
    priority: `the task's: ${task.priority ?? '?'}`,
    maxAttempts: `the task's: ${task.maxAttempts ?? '?'}`,
    timeout: task.timeoutMs === null ? "the worker's" : `the task's: ${duration(task.timeoutMs)}`,
  };
}

/**
 * The Task field: a select of `tasks` (the declared ones; undefined while they load), and under it
 * whether a running worker would run the picked task's job in `queue` (the one typed, else the
 * task's), judged by `workers` (undefined while they load). With no declared task it says how to
 * declare one.
 */
export function TaskSelect(props: {
  id: string;
  value: string;
  onInput: (value: string) => void;
  tasks: TaskCatalogEntry[] | undefined;
  picked: TaskCatalogEntry | undefined;
  queue: string;
  workers: Worker[] | undefined;
  error: unknown;
}) {
  const { id, tasks, picked } = props;
  if (tasks !== undefined && tasks.length === 0) {
    return (
      <div class="field wide-field">
        <p class="warning" role="status">
          This server declares no task, so it enqueues none. Declare one in its config&apos;s{' '}
          <code>tasks</code>, <code>contracts</code> or <code>implementations</code> (nightshift.config.ts)
          and restart it.
        </p>
      </div>
    );
  }
  return (
    <div class="field">
      <label for={id}>Task</label>
      <select
        id={id}
        required
        disabled={tasks === undefined}
        value={picked === undefined ? '' : props.value}
        aria-describedby={`${id}-hint`}
        onChange={(e) => props.onInput(e.currentTarget.value)}
      >
        <option value="" disabled>
          {tasks === undefined ? 'Loading tasks…' : 'Pick a task'}
        </option>
        {tasks?.map((task) => (
          <option key={task.name} value={task.name}>
            {task.name}
          </option>
        ))}
      </select>
      <Problem error={props.error} what="the tasks" />
      <TaskHint id={`${id}-hint`} task={picked} queue={props.queue} workers={props.workers} />
    </div>
  );
}

function TaskHint(props: {
  id: string;
  task: TaskCatalogEntry | undefined;
  queue: string;
  workers: Worker[] | undefined;
}) {
  const { task, queue } = props;
  if (task === undefined)
    return (
      <p class="hint" id={props.id}>
        A task this server declares
      </p>
    );
  if (unserved(task))
    return (
      <p class="hint warning" id={props.id} role="status">
        No running worker implements this task: the job waits until one does.
      </p>
    );
  if (props.workers !== undefined && workersFor(task.name, queue, props.workers).length === 0)
    return (
      <p class="hint warning" id={props.id} role="status">
        No running worker that implements this task claims from queue {queue}: the job waits until one does.
      </p>
    );
  const count = task.workers.length;
  return (
    <p class="hint" id={props.id}>
      Implemented by {count} running {count === 1 ? 'worker' : 'workers'}
    </p>
  );
}

/**
 * The picked task's payload JSON Schema, folded, and a button that fills the empty payload box with
 * the schema's required properties (never shown over typed text).
 */
export function PayloadSchemaHelp(props: {
  task: TaskCatalogEntry;
  value: string;
  onInput: (value: string) => void;
}) {
  const { task } = props;
  const schema = task.payloadSchema;
  if (schema === null)
    return (
      <p class="hint wide-field">
        {task.name} gives no payload JSON Schema (it has no payload schema, or one that JSON Schema cannot
        express).
      </p>
    );
  return (
    <div class="wide-field schema-help">
      {props.value.trim() === '' && (
        <button type="button" onClick={() => props.onInput(payloadSkeleton(schema))}>
          Fill from schema
        </button>
      )}
      <FoldedJson summary="Payload schema" value={schema} label={`Payload schema of ${task.name}`} />
    </div>
  );
}
