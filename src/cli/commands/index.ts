/**
 * Every command group of the CLI, in help order. A group is one module exporting a `register`
 * function that adds its commands to the program; adding a group is one import and one entry here.
 */
import type { Command } from 'commander';
import { registerEnqueue } from './enqueue.js';
import { registerJobs } from './jobs.js';
import { registerLimits } from './limits.js';
import { registerMigrate } from './migrate.js';
import { registerQueues } from './queues.js';
import { registerScheduler } from './scheduler.js';
import { registerSchedules } from './schedules.js';
import { registerServe } from './serve.js';
import { registerStart } from './start.js';
import { registerTasks } from './tasks.js';
import { registerTokens } from './tokens.js';
import { registerTop } from './top.js';
import { registerWorker } from './worker.js';
import { registerWorkers } from './workers.js';

/** Adds one group of commands to the program. */
export type RegisterCommands = (program: Command) => void;

/** The groups the `nightshift` binary offers. */
export const COMMAND_GROUPS: readonly RegisterCommands[] = [
  registerStart,
  registerWorker,
  registerServe,
  registerMigrate,
  registerEnqueue,
  registerJobs,
  registerQueues,
  registerTasks,
  registerWorkers,
  registerLimits,
  registerScheduler,
  registerSchedules,
  registerTop,
  registerTokens,
];
