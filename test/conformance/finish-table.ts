/**
 * Conformance: every row of the shared finish-transition table (src/store/finish-transition.ts).
 * SQLite applies the table; PostgreSQL writes the same rules as a SQL CASE. Each row drives a job
 * through that end on the store under test and checks the job and its run row against what the table
 * says, so the two copies of the rules cannot drift apart.
 */
import { describe, expect, it } from 'vitest';
import type { JobError } from '../../src/job.js';
import {
  FINISH_CASES,
  finishTransition,
  type ErrorSource,
  type FinishCase,
} from '../../src/store/finish-transition.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimAgain, claimOne, mustGet, nowMs, openFrozen } from './helpers.js';

const EARLIER: JobError = { message: 'an earlier attempt failed', reason: 'failed' };
const RETRY_MS = 60_000;

/** The error a source names, given the finish's error (if it carried one). */
function expectedError(source: ErrorSource, given: JobError | undefined): Partial<JobError> | null {
  switch (source) {
    case 'none':
      return null;
    case 'kept':
      return EARLIER;
    case 'finish':
      return given ?? null;
    case 'finish_or_kept':
      return given ?? EARLIER;
    case 'finish_or_none':
      return given ?? null;
    case 'lapse':
      return { reason: 'lease_lapsed' };
  }
}

function matchError(actual: JobError | null, expected: Partial<JobError> | null): void {
  if (expected === null) expect(actual).toBeNull();
  else expect(actual).toMatchObject(expected);
}

/** Each case, and for ends whose error is optional, once with and once without a finish error. */
function rows(): Array<{ name: string; c: FinishCase; withError: boolean }> {
  return FINISH_CASES.flatMap((c) => {
    const optional = c.end === 'released' || c.end === 'cancelled';
    const errors = optional ? [false, true] : [c.end === 'failed' || c.end === 'timeout'];
    return errors.map((withError) => ({
      name: [
        c.end,
        c.cancelRequested && 'cancel requested',
        c.retry && 'retry',
        c.end === 'lease_lapsed' && (c.attemptsLeft ? 'attempts left' : 'no attempts left'),
        c.maxDurationExceeded && 'max duration exceeded',
        optional && (withError ? 'with error' : 'without error'),
      ]
        .filter(Boolean)
        .join(', '),
      c,
      withError,
    }));
  });
}

/** Finish-transition table tests. */
export function describeFinishTable(h: StoreHarness): void {
  describe('finish transition table', () => {
    for (const { name, c, withError } of rows()) {
      it(name, async () => {
        const t = finishTransition(c);
        const store = await openFrozen(h);
        // A second attempt, so the job holds an earlier error, a saved checkpoint and an attempt to give back.
        const first = await claimOne(store, { maxAttempts: c.attemptsLeft ? 3 : 2 });
        await store.jobFinishMany({
          finishes: [
            {
              id: first.id,
              leaseToken: first.leaseToken,
              outcome: 'failed',
              error: EARLIER,
              retryDelayMs: 0,
            },
          ],
        });
        const job = await claimAgain(store, first.queue, 'w-2');
        expect(job.attempt).toBe(2);
        await store.jobCheckpointSave({ id: job.id, leaseToken: job.leaseToken, checkpoint: 'saved' });
        if (c.cancelRequested) {
          expect((await store.jobCancel({ id: job.id })).outcome).toBe('cancel_requested');
        }
        const given: JobError | undefined = withError
          ? { message: `attempt ended: ${c.end}`, reason: c.end }
          : undefined;
        const before = await nowMs(store);
        if (c.end === 'lease_lapsed') {
          await h.advanceClock(store, 31_000); // past its 30 s lease
          await store.jobRescueLapsed({ limit: 100 });
        } else {
          const { accepted } = await store.jobFinishMany({
            finishes: [
              {
                id: job.id,
                leaseToken: job.leaseToken,
                outcome: c.end,
                ...(c.end === 'completed' && { result: { done: true } }),
                ...(given !== undefined && { error: given }),
                ...(c.retry && { retryDelayMs: RETRY_MS }),
                ...(c.end === 'released' && { checkpoint: 'released' }),
                maxDurationExceeded: c.maxDurationExceeded,
              },
            ],
          });
          expect(accepted).toEqual([job.id]);
        }

        const after = await mustGet(store, job.id);
        expect(after.state).toBe(t.state);
        expect(after.attempt).toBe(t.attemptReturned ? 1 : 2);
        if (t.rescheduled) expect(after.runAt.getTime()).toBe(before + RETRY_MS);
        else expect(after.runAt).toEqual(job.runAt);
        expect(after.finishedAt !== null).toBe(t.finished);
        expect(after.result).toEqual(t.result ? { done: true } : null);
        expect(after.checkpoint).toBe(t.checkpoint ? 'released' : 'saved');
        matchError(after.error, expectedError(t.error, given));
        expect(after.leaseExpiresAt).toBeNull();

        const run = (await store.jobRunList({ jobId: job.id })).find((r) => r.attempt === 2);
        expect(run).toMatchObject({ outcome: t.run.outcome, maxDurationExceeded: t.run.maxDurationExceeded });
        matchError(run?.error ?? null, expectedError(t.run.error, given));
      });
    }
  });
}
