/**
 * The job a schedule's run becomes: the schedule's task and payload, the task's and its queue's
 * defaults where the schedule sets none (the one job builder, ../new-job.ts) with the key and group
 * they derive from the payload, and the slot's idempotency key, so the job of a slot exists at most
 * once.
 */
import { applyPayloadDefaults, newJob, UNREGISTERED_TASK_DEFAULTS } from '../new-job.js';
import { captureTraceContext } from '../observe/tracing.js';
import type { NewJob } from '../store/store.js';
import type { TaskRegistry } from '../task-registry.js';
import type { Schedule } from '../schedule-types.js';
import { slotJobKey } from './schedule.js';
import { stableHash, type SlotRun } from './runs.js';

/**
 * Builds slot jobs for runs planned at `now`. A run whose slot (plus jitter) is still ahead is due at
 * exactly that instant (an early, lookahead run, or a jittered one); a run whose time has come is due
 * now on the store's clock (`delayMs` 0), which also keeps a test's injected scheduler clock from
 * parking jobs in the database's past or future.
 *
 * The task's and the queue's payload defaults run user code: when one fails on a schedule's payload,
 * `onDefaultsError` (the scheduler's pass, which must go on for every other schedule) hears of it and
 * the job is built without them; without it (an operator's trigger) the error is thrown to the caller.
 */
export function slotJobFactory(
  registry: TaskRegistry,
  now: Date,
  onDefaultsError?: (schedule: Schedule, error: unknown) => void,
): (schedule: Schedule, run: SlotRun) => NewJob {
  return (schedule, run) => {
    // Jitter spreads regular slots only; a drain or a trigger was asked for now.
    const jitter =
      schedule.jitterMs > 0 && (run.kind === 'slot' || run.kind === 'catch_up')
        ? stableHash(`${schedule.id}\u0000${run.slotKey}`) % (schedule.jitterMs + 1)
        : 0;
    const dueAt = run.slotAt.getTime() + jitter;
    const ahead = dueAt > now.getTime();
    const defaults = registry.get(schedule.task) ?? UNREGISTERED_TASK_DEFAULTS;
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
      if (onDefaultsError === undefined) throw error;
      onDefaultsError(schedule, error);
    }
    return job;
  };
}
