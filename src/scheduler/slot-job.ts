/**
 * The job a schedule's run becomes: the schedule's task and payload, the task's defaults where the
 * schedule sets none, and the slot's idempotency key, so the job of a slot exists at most once.
 */
import { newJobId } from '../job-id.js';
import { captureTraceContext } from '../observe/tracing.js';
import type { NewJob } from '../store/store.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE, type TaskRegistry } from '../task-registry.js';
import { slotJobKey, type Schedule } from './schedule.js';
import { stableHash, type SlotRun } from './runs.js';

/**
 * Builds slot jobs for runs planned at `now`. A run whose slot (plus jitter) is still ahead is due at
 * exactly that instant (an early, lookahead run, or a jittered one); a run whose time has come is due
 * now on the store's clock (`delayMs` 0), which also keeps a test's injected scheduler clock from
 * parking jobs in the database's past or future.
 */
export function slotJobFactory(
  registry: TaskRegistry,
  now: Date,
): (schedule: Schedule, run: SlotRun) => NewJob {
  return (schedule, run) => {
    const task = registry.get(schedule.task);
    // Jitter spreads regular slots only; a drain or a trigger was asked for now.
    const jitter =
      schedule.jitterMs > 0 && (run.kind === 'slot' || run.kind === 'catch_up')
        ? stableHash(`${schedule.id}\u0000${run.slotKey}`) % (schedule.jitterMs + 1)
        : 0;
    const dueAt = run.slotAt.getTime() + jitter;
    return {
      id: newJobId(),
      task: schedule.task,
      queue: schedule.queue ?? task?.queue ?? DEFAULT_QUEUE,
      payload: schedule.payload,
      priority: schedule.priority ?? task?.priority ?? 0,
      runAt: dueAt > now.getTime() ? new Date(dueAt) : null,
      delayMs: dueAt > now.getTime() ? null : 0,
      maxAttempts: task?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      idempotencyKey: slotJobKey(schedule.id, run.slotKey),
      concurrencyKey: null,
      concurrencyLimit: null,
      leaseMs: task?.leaseMs ?? null,
      timeoutMs: task?.timeoutMs ?? null,
      scheduleId: schedule.id,
      scheduleSlot: run.slotAt,
      parentId: null,
      // The scheduler's own trace, when the application runs it inside one.
      traceContext: captureTraceContext(),
    };
  };
}
