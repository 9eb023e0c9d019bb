/**
 * The job a schedule's run becomes: the schedule's task and payload, the task's and its queue's
 * defaults where the schedule sets none (the one job builder, ../new-job.ts) with the key and group
 * they derive from the payload, and the slot's idempotency key, so the job of a slot exists at most
 * once.
 */
import { NightshiftError } from '../errors.js';
import { applyPayloadDefaults, newJob, UNREGISTERED_TASK_DEFAULTS } from '../new-job.js';
import { captureTraceContext } from '../observe/tracing.js';
import type { NewJob } from '../store/store.js';
import type { TaskRegistry } from '../task-registry.js';
import type { Schedule } from '../schedule-types.js';
import { slotJobKey } from './schedule.js';
import { stableHash, type SlotRun } from './runs.js';

/** What the scheduler's pass is told of a schedule it built a job of despite a problem. */
export interface SlotJobProblems {
  /**
   * The task's and the queue's payload defaults run user code: when one fails on a schedule's
   * payload, the job is built without them and this hears of it (the pass must go on for every
   * other schedule).
   */
  defaultsFailed(schedule: Schedule, error: unknown): void;
  /**
   * This process does not declare the schedule's task: the job gets no task defaults (the schedule's
   * queue or `default`, default attempts, no timeout, key or group).
   */
  taskUnknown(schedule: Schedule): void;
}

/**
 * Builds slot jobs for runs planned at `now`. A run whose slot (plus jitter) is still ahead is due at
 * exactly that instant (an early, lookahead run, or a jittered one); a run whose time has come is due
 * now on the store's clock (`delayMs` 0), which also keeps a test's injected scheduler clock from
 * parking jobs in the database's past or future.
 *
 * With `problems` (the scheduler's pass) a job is built whatever goes wrong and `problems` hears of
 * it; without (an operator's trigger) the error is thrown to the caller and nothing is written: a
 * failing payload default, or a task this process does not declare (`unknown_task`), as an enqueue
 * of it would be refused.
 */
export function slotJobFactory(
  registry: TaskRegistry,
  now: Date,
  problems?: SlotJobProblems,
): (schedule: Schedule, run: SlotRun) => NewJob {
  return (schedule, run) => {
    // Jitter spreads regular slots only; a drain or a trigger was asked for now.
    const jitter =
      schedule.jitterMs > 0 && (run.kind === 'slot' || run.kind === 'catch_up')
        ? stableHash(`${schedule.id}\u0000${run.slotKey}`) % (schedule.jitterMs + 1)
        : 0;
    const dueAt = run.slotAt.getTime() + jitter;
    const ahead = dueAt > now.getTime();
    const task = registry.get(schedule.task);
    if (task === undefined) {
      if (problems === undefined)
        throw new NightshiftError(
          'unknown_task',
          `unknown task "${schedule.task}": this process does not declare the task of schedule ${schedule.id}, so its job would miss the task's queue and attempts (declare it; a contract is enough)`,
        );
      problems.taskUnknown(schedule);
    }
    const defaults = task ?? UNREGISTERED_TASK_DEFAULTS;
    const job = newJob(
      schedule.task,
      schedule.payload,
      {
        ...(schedule.queue !== null && { queue: schedule.queue }),
        ...(schedule.priority !== null && { priority: schedule.priority }),
        ...(ahead ? { runAt: new Date(dueAt) } : { delayMs: 0 }),
        idempotencyKey: slotJobKey(schedule.id, run.slotKey),
      },
      defaults,
      registry.queueDefaults,
      // The scheduler's own trace, when the application runs it inside one.
      { scheduleId: schedule.id, scheduleSlot: run.slotAt, traceContext: captureTraceContext() },
    );
    // The key and group the task (when this process registered it) or the job's queue derives from
    // the schedule's payload.
    try {
      applyPayloadDefaults(job, {}, defaults, registry.queueDefaults);
    } catch (error) {
      if (problems === undefined) throw error;
      problems.defaultsFailed(schedule, error);
    }
    return job;
  };
}
