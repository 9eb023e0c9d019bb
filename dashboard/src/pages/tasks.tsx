/**
 * Tasks: every task the server declares and every task a live worker implements, with the defaults
 * the server gives its jobs, the workers implementing it and its payload JSON Schema. A declared task
 * no live worker implements is highlighted: its jobs wait until one does.
 */
import { FoldedJson, NameList, Problem } from '../components.js';
import { duration } from '../format.js';
import { unserved, useTaskCatalog } from '../task-catalog.js';
import type { TaskCatalogEntry } from '../types.js';

export function TasksPage() {
  const catalog = useTaskCatalog();
  const list = catalog.data?.tasks ?? [];
  const waiting = list.filter(unserved).length;
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
        {list.length > 0 && (
          <div class="scroll">
            <table aria-label="Tasks">
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
                  <TaskRow key={task.name} task={task} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

function TaskRow(props: { task: TaskCatalogEntry }) {
  const { task } = props;
  const waits = unserved(task);
  return (
    <tr class={waits ? 'unserved' : undefined}>
      <th scope="row" class="mono name task-name">
        {task.name}
      </th>
      <td>{task.declared ? 'yes' : <span class="muted">no: only a worker knows it</span>}</td>
      <td class="name">{task.queue ?? '–'}</td>
      <td class="num">{task.priority ?? '–'}</td>
      <td class="num">{task.maxAttempts ?? '–'}</td>
      <td class="nowrap">
        {task.declared ? (task.timeoutMs === null ? "the worker's" : duration(task.timeoutMs)) : '–'}
      </td>
      <td class="name">
        <NameList
          names={task.workers}
          noun={{ one: 'worker', many: 'workers' }}
          empty={waits ? <span class="badge paused">no running worker</span> : '–'}
        />
      </td>
      <td class="schema">
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
