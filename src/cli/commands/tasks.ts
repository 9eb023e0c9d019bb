/**
 * `nightshift tasks`: the task catalog (`ns.taskCatalog()`, task-catalog.ts): the tasks the config
 * declares and those live workers implement, their defaults, and how many workers run each (and
 * whether any of them claims from the task's queue). `--json` prints `{ "tasks": [...] }`, the
 * objects `GET /api/v1/tasks` answers.
 */
import type { Command } from 'commander';
import type { WorkerInfo } from '../../store/store.js';
import type { TaskCatalogEntry } from '../../task-catalog.js';
import { printJson, renderTable } from '../output.js';
import { withCommonOptions, withSession, type CommonOptions } from '../session.js';

/** Registers `tasks`. */
export function registerTasks(program: Command): void {
  withCommonOptions(
    program
      .command('tasks')
      .description(
        'the tasks the config declares and those running workers implement: defaults, payload schema, workers',
      ),
  ).action(async (flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      const tasks = await ns.taskCatalog();
      if (session.json) {
        printJson(session.stdout, { tasks });
        return;
      }
      const workers = await ns.workers();
      session.stdout.write(
        renderTable(
          ['TASK', 'DECLARED', 'QUEUE', 'PRIORITY', 'MAX ATTEMPTS', 'TIMEOUT', 'SCHEMA', 'WORKERS'],
          tasks.map((task) => [
            task.name,
            task.declared ? 'yes' : 'no',
            task.queue,
            task.priority,
            task.maxAttempts,
            task.timeoutMs === null ? null : `${task.timeoutMs}ms`,
            task.payloadSchema === null ? null : 'yes',
            workersCell(task, workers),
          ]),
        ),
      );
    });
  });
}

/**
 * How many live workers implement the task; `none` for a declared task, whose jobs wait until a
 * worker implementing it runs; `2 (none on exports)` when none of them claims from the declared
 * task's queue, where its jobs wait as well.
 */
function workersCell(task: TaskCatalogEntry, workers: WorkerInfo[]): string {
  if (task.workers.length === 0) return task.declared ? 'none' : '0';
  const { queue } = task;
  const claiming = workers.some(
    (worker) =>
      worker.tasks.includes(task.name) &&
      (worker.queues === null || (queue !== null && worker.queues.includes(queue))),
  );
  return task.declared && queue !== null && !claiming
    ? `${task.workers.length} (none on ${queue})`
    : String(task.workers.length);
}
