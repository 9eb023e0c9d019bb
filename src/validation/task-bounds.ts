/**
 * The bounds of a task's defaults (bounds.ts): a task whose defaults no job could be stored or timed
 * with is refused when the tasks are loaded (`config_error`), not at its first enqueue or run.
 */
import type { ResolvedTask } from '../task-registry.js';
import {
  intIn,
  JOB_RANGES,
  MAX_DELAY_MS,
  MAX_NAME_BYTES,
  numberIn,
  queueNameIn,
  textIn,
  type BoundContext,
} from './bounds.js';

/** Throws `config_error` naming the task and the option out of its range. */
export function checkTaskBounds(task: ResolvedTask): void {
  const at: BoundContext = { code: 'config_error', prefix: `task ${JSON.stringify(task.name)}: ` };
  textIn('name', task.name, MAX_NAME_BYTES, at);
  queueNameIn('queue', task.queue, at);
  intIn('priority', task.priority, JOB_RANGES.priority, at);
  intIn('maxAttempts', task.maxAttempts, JOB_RANGES.maxAttempts, at);
  for (const option of ['concurrencyLimit', 'timeoutMs', 'leaseMs', 'maxDurationMs'] as const) {
    const value = task[option];
    if (value !== null) intIn(option, value, JOB_RANGES[option], at);
  }
  intIn('backoff.baseMs', task.backoff.baseMs, [0, MAX_DELAY_MS], at);
  intIn('backoff.maxMs', task.backoff.maxMs, [0, MAX_DELAY_MS], at);
  numberIn('backoff.jitter', task.backoff.jitter, [0, 1], at);
}
