/**
 * Tasks: every task the server declares and every task a live worker implements, with the defaults
 * the server gives its jobs, the workers implementing it and its payload JSON Schema. A declared task
 * no live worker implements, or whose implementing workers all claim from other queues than the
 * task's, is highlighted: its jobs (in its own queue) wait until one does.
 */
import { FoldedJson, NameList, Problem } from '../components.js';
import { duration } from '../format.js';
import { unserved, useLiveWorkers, useTaskCatalog, workersFor } from '../task-catalog.js';
import type { TaskCatalogEntry, Worker } from '../types.js';

/**
 * A declared task some live worker implements, none of which claims from the task's queue: its jobs
 * there wait as if no worker implemented it. False while the workers load.
 */
function servedElsewhere(task: TaskCatalogEntry, workers: Worker[] | undefined): boolean {
  return (
    workers !== undefined &&
    task.declared &&
    task.queue !== null &&
    task.workers.length > 0 &&
    workersFor(task.name, task.queue, workers).length === 0
  );
}

export function TasksPage() {
  const catalog = useTaskCatalog();
  const live = useLiveWorkers().data?.workers;
  const list = catalog.data?.tasks ?? [];
  const waiting = list.filter(unserved).length;
  const elsewhere = list.filter((task) => servedElsewhere(task, live)).length;
  return (
    <section aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <section aria-labelledby="tasks-list-title" class="card">
        <h2 id="tasks-list-title">Declared and running</h2>
        <p class="hint">
          Declared: this server knows the task (its config&apos;s tasks, contracts or implementations) and
          enqueues it. Workers: the running workers that implement it, in any process.
        </p>
        <Problem error={catalog.error} what="the task list" />
        {catalog.data !== undefined && list.length === 0 && (
          <p>
            No task yet: this server declares none and no running worker implements one. Declare tasks in the
            config&apos;s <code>tasks</code>, <code>contracts</code> or <code>implementations</code>{' '}
            (nightshift.config.ts), then restart the server and its workers.
          </p>
        )}
        {waiting > 0 && (
          <p class="warning" role="status">
            {waiting === 1 ? '1 declared task has' : `${waiting} declared tasks have`} no running worker:
            their jobs wait until a worker implementing them runs.
          </p>
        )}
        {elsewhere > 0 && (
          <p class="warning" role="status">
            {elsewhere === 1 ? '1 declared task has' : `${elsewhere} declared tasks have`} running workers
            that claim from other queues only: jobs in the task&apos;s own queue wait until a worker
            implementing it claims from that queue.
          </p>
        )}
        {list.length > 0 && (
          <div class="scroll">
            <table aria-label="Tasks" class="stack">
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">Declared</th>
                  <th scope="col">Queue</th>
                  <th scope="col" class="num">
                    Priority
                  </th>
                  <th scope="col" class="num">
                    Max attempts
                  </th>
                  <th scope="col">Timeout</th>
                  <th scope="col">Workers</th>
                  <th scope="col">Payload schema</th>
                </tr>
              </thead>
              <tbody>
                {list.map((task) => (
                  <TaskRow key={task.name} task={task} elsewhere={servedElsewhere(task, live)} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

function TaskRow(props: { task: TaskCatalogEntry; elsewhere: boolean }) {
  const { task } = props;
  const waits = unserved(task);
  return (
    <tr class={waits || props.elsewhere ? 'unserved' : undefined}>
      <th scope="row" class="mono name task-name row-name">
        {task.name}
      </th>
      <td data-label="Declared">
        {task.declared ? 'yes' : <span class="muted">no: only a worker knows it</span>}
      </td>
      <td class="name" data-label="Queue">
        {task.queue ?? '–'}
      </td>
      <td class="num" data-label="Priority">
        {task.priority ?? '–'}
      </td>
      <td class="num" data-label="Max attempts">
        {task.maxAttempts ?? '–'}
      </td>
      <td class="nowrap" data-label="Timeout">
        {task.declared ? (task.timeoutMs === null ? "the worker's" : duration(task.timeoutMs)) : '–'}
      </td>
      <td class="name row-aside">
        <NameList
          names={task.workers}
          noun={{ one: 'worker', many: 'workers' }}
          empty={waits ? <span class="badge paused">no running worker</span> : '–'}
        />
        {props.elsewhere && <span class="badge paused">none claims from {task.queue}</span>}
      </td>
      <td class="schema" data-label="Payload schema">
        {task.payloadSchema === null ? (
          <span class="muted">{task.declared ? 'none' : '–'}</span>
        ) : (
          <FoldedJson
            summary="JSON Schema"
            value={task.payloadSchema}
            label={`Payload schema of ${task.name}`}
          />
        )}
      </td>
    </tr>
  );
}
