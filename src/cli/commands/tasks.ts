/**
 * `nightshift tasks`: the task catalog (`ns.taskCatalog()`, task-catalog.ts): the tasks the config
 * declares and those live workers implement, their defaults, and how many workers run each. `--json`
 * prints `{ "tasks": [...] }`, the objects `GET /api/v1/tasks` answers.
 */
import type { Command } from 'commander';
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
      const tasks = await (await session.connect()).taskCatalog();
      if (session.json) {
        printJson(session.stdout, { tasks });
        return;
      }
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
            workersCell(task),
          ]),
        ),
      );
    });
  });
}

/**
 * How many live workers implement the task; `none` for a declared task, whose jobs wait until a
 * worker implementing it runs.
 */
function workersCell(task: TaskCatalogEntry): string {
  return task.workers.length === 0 && task.declared ? 'none' : String(task.workers.length);
}
