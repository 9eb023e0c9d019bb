/**
 * How an attempt's end moves its job, as one pure table for both stores: given how the attempt ended
 * and the job's flags, the next state and what the job and its run-history row record. SQLite applies
 * it in TypeScript (sqlite/job-finish.ts); PostgreSQL writes the same rules as a SQL CASE
 * (postgres/sql/job-finish.ts, job-maintenance.ts), and the conformance suite (test/conformance/
 * finish-table.ts) drives both stores through every row of FINISH_CASES, so the copies stay equal.
 *
 * The rules: success is final whatever else happened; a cancel request beats failure, timeout,
 * release and a lapsed lease, but not success (a handler that completed did its work); a failure with
 * a retry delay waits `scheduled`, without one it ends `failed`; a release gives its attempt back; a
 * lapsed lease is retried while attempts remain.
 */
import type { JobState, RunOutcome } from '../job.js';
import type { JobFinish } from './store.js';

/** How an attempt ended: a worker's finish, or the rescuer finding its lease lapsed. */
export type AttemptEnd = JobFinish['outcome'] | 'lease_lapsed';

/** The inputs of a transition. */
export interface FinishCase {
  end: AttemptEnd;
  /** The job was asked to cancel while the attempt ran. */
  cancelRequested: boolean;
  /** The finish carries a retry delay (read for failed, timeout and released only). */
  retry: boolean;
  /** attempt < maxAttempts (read for a lapsed lease only: a worker's finish decided `retry` itself). */
  attemptsLeft: boolean;
  /** The attempt ran longer than its task's max duration. */
  maxDurationExceeded: boolean;
}

/**
 * Where a recorded error comes from: none; the job's stored one; the finish's (for a failure without
 * one, a generic error naming the outcome); the finish's or else the stored one; the finish's or none;
 * the rescuer's `lease_lapsed` error.
 */
export type ErrorSource = 'none' | 'kept' | 'finish' | 'finish_or_kept' | 'finish_or_none' | 'lapse';

/** What a transition writes. Unnamed columns (result, checkpoint, run_at, attempt) stay as they were. */
export interface FinishTransition {
  state: JobState;
  /** The attempt is given back (attempt - 1). */
  attemptReturned: boolean;
  /** run_at moves to now + the retry delay. */
  rescheduled: boolean;
  /** finished_at is set to now; otherwise it is cleared. */
  finished: boolean;
  /** The job's result becomes the finish's. */
  result: boolean;
  /** The job's checkpoint becomes the finish's when it carries one. */
  checkpoint: boolean;
  error: ErrorSource;
  run: { outcome: RunOutcome; error: ErrorSource; maxDurationExceeded: boolean };
}

/** The transition of one case. */
export function finishTransition(c: FinishCase): FinishTransition {
  const ends = (state: JobState, error: ErrorSource, runError: ErrorSource): FinishTransition => ({
    state,
    attemptReturned: false,
    rescheduled: false,
    finished: true,
    result: false,
    checkpoint: false,
    error,
    run: {
      outcome: c.end,
      error: runError,
      maxDurationExceeded: c.end !== 'lease_lapsed' && c.maxDurationExceeded,
    },
  });
  switch (c.end) {
    case 'completed':
      return { ...ends('completed', 'none', 'none'), result: true };
    case 'failed':
    case 'timeout':
      if (c.cancelRequested) return ends('cancelled', 'finish', 'finish');
      if (c.retry) return { ...ends('scheduled', 'finish', 'finish'), rescheduled: true, finished: false };
      return ends('failed', 'finish', 'finish');
    case 'released': {
      const released = { ...ends('cancelled', 'finish_or_kept', 'finish_or_none'), checkpoint: true };
      if (c.cancelRequested) return released;
      return {
        ...released,
        state: c.retry ? 'scheduled' : 'queued',
        attemptReturned: true,
        rescheduled: c.retry,
        finished: false,
      };
    }
    case 'cancelled':
      return ends('cancelled', 'finish_or_kept', 'finish_or_none');
    case 'lease_lapsed': {
      const state: JobState = c.cancelRequested ? 'cancelled' : c.attemptsLeft ? 'queued' : 'failed';
      return { ...ends(state, 'lapse', 'lapse'), finished: state !== 'queued' };
    }
  }
}

/** Every case whose inputs matter: what the conformance suite runs against each store. */
export const FINISH_CASES: readonly FinishCase[] = (() => {
  const cases: FinishCase[] = [];
  const ends: AttemptEnd[] = ['completed', 'failed', 'timeout', 'released', 'cancelled', 'lease_lapsed'];
  for (const end of ends) {
    const retries = end === 'failed' || end === 'timeout' || end === 'released' ? [false, true] : [false];
    const attemptsLeft = end === 'lease_lapsed' ? [false, true] : [true];
    const overran = end === 'lease_lapsed' ? [false] : [false, true];
    for (const cancelRequested of [false, true])
      for (const retry of retries)
        for (const left of attemptsLeft)
          for (const maxDurationExceeded of overran)
            cases.push({ end, cancelRequested, retry, attemptsLeft: left, maxDurationExceeded });
  }
  return cases;
})();
