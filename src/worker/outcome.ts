/**
 * From an attempt's outcome to what is written (`JobFinish`) and, once written, to the events that
 * report it. Kept apart from the worker loop so the mapping reads in one place: which outcomes retry
 * (failed and timeout, with the task's backoff, while attempts remain, unless the handler threw a
 * `NonRetryableError`), what a release keeps (the newest checkpoint), which event each persisted
 * outcome fires, and how to tell that a finish whose reply was lost did persist.
 */
import type { EventBus, AttemptEventBase } from '../events.js';
import type { Logger } from '../logger.js';
import type { JobFinish, Store } from '../store/store.js';
import type { ResolvedBackoff } from '../task-registry.js';
import type { AttemptOutcome, RunningAttempt } from './attempt.js';
import { retryDelayMs } from './retry-policy.js';

/** The finish row for an attempt that still holds its lease. */
export function finishFor(
  attempt: RunningAttempt,
  outcome: Exclude<AttemptOutcome, { kind: 'lease_lost' }>,
  backoff: ResolvedBackoff,
): JobFinish {
  const { job } = attempt;
  const finish: JobFinish = { id: job.id, leaseToken: job.leaseToken, outcome: outcome.kind };
  if (attempt.maxDurationExceeded) finish.maxDurationExceeded = true;
  switch (outcome.kind) {
    case 'completed':
      finish.result = outcome.result;
      break;
    case 'failed':
    case 'timeout':
      finish.error = outcome.error;
      finish.retryDelayMs =
        outcome.kind === 'failed' && outcome.retry === false
          ? null
          : retryDelayMs(backoff, job.attempt, job.maxAttempts);
      break;
    case 'released':
      if (attempt.checkpoint !== undefined) finish.checkpoint = attempt.checkpoint;
      if (outcome.error !== undefined) finish.error = outcome.error;
      if (outcome.retryDelayMs !== undefined) finish.retryDelayMs = outcome.retryDelayMs;
      break;
    case 'cancelled':
      break;
  }
  return finish;
}

/** The fields every event about one attempt carries. */
export function attemptEventBase(attempt: RunningAttempt, workerId: string): AttemptEventBase {
  const { job } = attempt;
  return { jobId: job.id, task: job.task, queue: job.queue, attempt: job.attempt, workerId };
}

/** Fires the events of an outcome the store accepted (never before: listeners may read the job back). */
export function emitPersisted(
  events: EventBus,
  logger: Logger,
  attempt: RunningAttempt,
  workerId: string,
  finish: JobFinish,
): void {
  if (finish.outcome === 'completed') {
    // One literal, no base object spread into it: this is the one event every success fires.
    const { job } = attempt;
    events.emit('job:completed', {
      jobId: job.id,
      task: job.task,
      queue: job.queue,
      attempt: job.attempt,
      workerId,
      result: finish.result,
      durationMs: attempt.elapsedMs(),
    });
    return;
  }
  const base = attemptEventBase(attempt, workerId);
  switch (finish.outcome) {
    case 'cancelled':
      events.emit('job:cancelled', base);
      return;
    case 'released':
      events.emit('job:released', base);
      return;
    case 'timeout':
    case 'failed': {
      const error = finish.error ?? { message: 'failed', reason: finish.outcome };
      if (finish.outcome === 'timeout') events.emit('job:timeout', { ...base, timeoutMs: attempt.timeoutMs });
      if (finish.retryDelayMs !== null && finish.retryDelayMs !== undefined) {
        events.emit('job:retry', { ...base, error, retryDelayMs: finish.retryDelayMs });
      } else {
        logger.warn({ jobId: base.jobId, task: base.task, attempt: base.attempt, error }, 'job failed');
        events.emit('job:failed', { ...base, error });
      }
      return;
    }
  }
}

/**
 * Whether the run history holds `finish` as the end of this very attempt: written in the same
 * statement as the state change, a run row with the attempt's number, worker and start time and the
 * same outcome proves the write committed. Anything else (no row, or `lease_lapsed` from a rescue)
 * means another attempt owns the job.
 */
export async function finishPersisted(
  store: Store,
  attempt: RunningAttempt,
  finish: JobFinish,
): Promise<boolean> {
  const { job } = attempt;
  const startedAt = job.startedAt?.getTime();
  const runs = await store.jobRunList({ jobId: job.id });
  return runs.some(
    (run) =>
      run.attempt === job.attempt &&
      run.workerId === job.workerId &&
      run.startedAt.getTime() === startedAt &&
      run.outcome === finish.outcome,
  );
}
