/**
 * `nightshift workers`: the workers running now in any process on the database (`ns.workers()`, a
 * heartbeat at most 30 s old), what each claims from and runs. `--json` prints `{ "workers": [...] }`,
 * the objects `GET /api/v1/workers` answers.
 */
import type { Command } from 'commander';
import { duration, printJson, renderTable, workerJson } from '../output.js';
import { withCommonOptions, withSession, type CommonOptions } from '../session.js';

/** Registers `workers`. */
export function registerWorkers(program: Command): void {
  withCommonOptions(
    program
      .command('workers')
      .description('the workers running now: queues, labels, tasks, busy slots, heartbeat'),
  ).action(async (flags: CommonOptions) => {
    await withSession(flags, async (session) => {
      const ns = await session.connect();
      const [workers, now] = await Promise.all([ns.workers(), ns.store.now()]);
      if (session.json) {
        printJson(session.stdout, { workers: workers.map(workerJson) });
        return;
      }
      if (workers.length === 0) {
        session.stdout.write('no worker is running\n');
        return;
      }
      // Ages on the database's clock, which stamped the heartbeats.
      const ago = (at: Date): string => `${duration(Math.max(0, now.getTime() - at.getTime()))} ago`;
      session.stdout.write(
        renderTable(
          ['ID', 'HOST', 'PID', 'QUEUES', 'LABELS', 'TASKS', 'RUNNING', 'STARTED', 'HEARTBEAT'],
          workers.map((worker) => [
            worker.id,
            worker.host,
            worker.pid,
            worker.queues === null ? 'all' : worker.queues.join(','),
            worker.labels.length === 0 ? null : worker.labels.join(','),
            worker.tasks.length,
            `${worker.running}/${worker.concurrency}`,
            ago(worker.startedAt),
            ago(worker.heartbeatAt),
          ]),
        ),
      );
    });
  });
}
