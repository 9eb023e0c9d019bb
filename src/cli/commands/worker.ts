/** `nightshift worker`: runs the config's tasks until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { MAX_WORKER_LABELS } from '../../validation/labels.js';
import { WORKER_RANGES } from '../../worker/options.js';
import { parseInteger, parseLabels, parseList } from '../arguments.js';
import { runServices } from '../run-services.js';
import { SERVICE, withCommonOptions, withSession, type CommonOptions } from '../session.js';

/** Flags shared by `worker` and `start`. */
export interface WorkerFlags extends CommonOptions {
  queues?: string[];
  concurrency?: number;
  labels?: string[];
}

/** Adds `--queues`, `--concurrency` and `--labels` to a command. */
export function withWorkerOptions(command: Command): Command {
  return command
    .option('--queues <a,b>', 'only claim jobs from these queues (default: all)', (v) =>
      parseList('--queues', v),
    )
    .option('--concurrency <n>', 'jobs run at once (default: the config, else 10)', (v) =>
      parseInteger('--concurrency', v, WORKER_RANGES.concurrency),
    )
    .option(
      '--labels <a,b>',
      'labels this worker offers, e.g. region:eu,gpu: it also claims jobs requiring only these (default: the config, else none)',
      (v) => parseLabels('--labels', v, MAX_WORKER_LABELS),
    );
}

/** Registers `worker`. */
export function registerWorker(program: Command): void {
  withCommonOptions(
    withWorkerOptions(program.command('worker').description('run jobs until SIGTERM/SIGINT')),
  ).action(async (flags: WorkerFlags) => {
    await withSession(
      flags,
      async (session) => {
        const { config } = await session.requireConfig();
        await runServices(session, config, flags);
      },
      SERVICE,
    );
  });
}
