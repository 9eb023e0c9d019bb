/** Conformance: how each finish outcome moves the job and what run history it writes. */
import { describe, expect, it } from 'vitest';
import type { StoreHarness } from '../support/store-harness.js';
import { claimAgain, claimOne, mustGet, nowMs, openFrozen } from './helpers.js';

const boom = {
  message: 'boom',
  name: 'Error',
  stack: 'Error: boom\n    at handler',
  reason: 'failed' as const,
};

/** Finish tests. */
export function describeFinish(h: StoreHarness): void {
  describe('jobFinishMany', () => {
    it('completes: result stored, lease cleared, one run row with duration and lag', async () => {
      const store = await openFrozen(h);
      const dueAt = (await nowMs(store)) - 1_500;
      const job = await claimOne(store, { runAt: new Date(dueAt) }, { workerId: 'worker-7' });
      await h.advanceClock(store, 250);
      const { accepted } = await store.jobFinishMany({
        finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: 'completed', result: { sent: 3 } }],
      });
      expect(accepted).toEqual([job.id]);
      const done = await mustGet(store, job.id);
      expect(done).toMatchObject({
        state: 'completed',
        result: { sent: 3 },
        error: null,
        leaseExpiresAt: null,
        attempt: 1,
      });
      expect(done.finishedAt).not.toBeNull();
      const runs = await store.jobRunList({ jobId: job.id });
      expect(runs).toHaveLength(1);
      const run = runs[0];
      expect(run).toMatchObject({
        jobId: job.id,
        attempt: 1,
        workerId: 'worker-7',
        outcome: 'completed',
        error: null,
      });
      expect(run?.maxDurationExceeded).toBe(false);
      expect(run?.startedAt.getTime()).toBe(done.startedAt?.getTime());
      expect(run?.finishedAt.getTime()).toBe(done.finishedAt?.getTime());
      expect(run?.durationMs).toBe((run?.finishedAt.getTime() ?? 0) - (run?.startedAt.getTime() ?? 0));
      expect(run?.runLagMs).toBe((run?.startedAt.getTime() ?? 0) - dueAt);
      expect(run?.durationMs).toBe(250);
      expect(run?.runLagMs).toBe(1_500);
    });

    it('fails with a retry delay: back to scheduled after the delay, error kept, attempt spent', async () => {
      const store = await openFrozen(h);
      const job = await claimOne(store);
      const now = await nowMs(store);
      await store.jobFinishMany({
        finishes: [
          { id: job.id, leaseToken: job.leaseToken, outcome: 'failed', error: boom, retryDelayMs: 5_000 },
        ],
      });
      const retrying = await mustGet(store, job.id);
      expect(retrying).toMatchObject({
        state: 'scheduled',
        attempt: 1,
        error: boom,
        finishedAt: null,
        leaseExpiresAt: null,
      });
      expect(retrying.runAt.getTime()).toBe(now + 5_000);
      await h.advanceClock(store, 4_999);
      expect(await store.jobClaim({ workerId: 'w', queues: [job.queue], limit: 1, leaseMs: 1_000 })).toEqual(
        [],
      );
      await h.advanceClock(store, 1);
      const [again] = await store.jobClaim({ workerId: 'w', queues: [job.queue], limit: 1, leaseMs: 1_000 });
      expect(again).toMatchObject({ id: job.id, attempt: 2 });
      const runs = await store.jobRunList({ jobId: job.id });
      expect(runs.map((r) => [r.attempt, r.outcome, r.error?.message])).toEqual([[1, 'failed', 'boom']]);
    });

    it('fails for good without a retry delay, and records a timeout as its own outcome', async () => {
      const store = await h.open();
      const failed = await claimOne(store);
      const timedOut = await claimOne(store);
      const timeoutError = { message: 'timed out after 100 ms', reason: 'timeout' as const };
      const { accepted } = await store.jobFinishMany({
        finishes: [
          {
            id: failed.id,
            leaseToken: failed.leaseToken,
            outcome: 'failed',
            error: boom,
            retryDelayMs: null,
          },
          {
            id: timedOut.id,
            leaseToken: timedOut.leaseToken,
            outcome: 'timeout',
            error: timeoutError,
            maxDurationExceeded: true,
          },
        ],
      });
      expect(accepted.sort()).toEqual([failed.id, timedOut.id].sort());
      expect(await mustGet(store, failed.id)).toMatchObject({ state: 'failed', error: boom });
      expect((await mustGet(store, failed.id)).finishedAt).not.toBeNull();
      expect(await mustGet(store, timedOut.id)).toMatchObject({ state: 'failed', error: timeoutError });
      const [run] = await store.jobRunList({ jobId: timedOut.id });
      expect(run).toMatchObject({ outcome: 'timeout', error: timeoutError, maxDurationExceeded: true });
    });

    it('releases: queued again, attempt given back, checkpoint kept for the next attempt', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      await store.jobCheckpointSave({ id: job.id, leaseToken: job.leaseToken, checkpoint: { page: 1 } });
      const { accepted } = await store.jobFinishMany({
        finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: 'released', checkpoint: { page: 2 } }],
      });
      expect(accepted).toEqual([job.id]);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: 'queued',
        attempt: 0,
        checkpoint: { page: 2 },
        leaseExpiresAt: null,
      });
      const [again] = await store.jobClaim({ workerId: 'w2', queues: [job.queue], limit: 1, leaseMs: 1_000 });
      expect(again).toMatchObject({ id: job.id, attempt: 1, checkpoint: { page: 2 } });
      expect(again?.leaseToken).not.toBe(job.leaseToken);
      const runs = await store.jobRunList({ jobId: job.id });
      expect(runs.map((r) => [r.attempt, r.outcome])).toEqual([[1, 'released']]);
    });

    it('releases with a delay: scheduled that long, attempt given back, the reason on the job and its run', async () => {
      const store = await openFrozen(h);
      const job = await claimOne(store);
      const unserved = {
        message: 'unknown task "x": no handler registered in worker w',
        name: 'NightshiftError',
        code: 'unknown_task' as const,
        reason: 'released' as const,
      };
      const before = await nowMs(store);
      const { accepted } = await store.jobFinishMany({
        finishes: [
          {
            id: job.id,
            leaseToken: job.leaseToken,
            outcome: 'released',
            error: unserved,
            retryDelayMs: 60_000,
          },
        ],
      });
      expect(accepted).toEqual([job.id]);
      const waiting = await mustGet(store, job.id);
      expect(waiting).toMatchObject({ state: 'scheduled', attempt: 0, error: unserved, finishedAt: null });
      expect(waiting.runAt.getTime()).toBe(before + 60_000);
      // Not claimable before its time, claimable at it.
      await h.advanceClock(store, 59_999);
      expect(await store.jobClaim({ workerId: 'w2', limit: 10, leaseMs: 1_000 })).toEqual([]);
      const [run] = await store.jobRunList({ jobId: job.id });
      expect(run).toMatchObject({ attempt: 1, outcome: 'released', error: unserved });
      await h.advanceClock(store, 1);
      const [again] = await store.jobClaim({ workerId: 'w2', limit: 10, leaseMs: 1_000 });
      expect(again).toMatchObject({ id: job.id, attempt: 1 });
    });

    it('release without a checkpoint keeps the last saved one', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      await store.jobCheckpointSave({ id: job.id, leaseToken: job.leaseToken, checkpoint: [1, 2] });
      await store.jobFinishMany({
        finishes: [{ id: job.id, leaseToken: job.leaseToken, outcome: 'released' }],
      });
      expect((await mustGet(store, job.id)).checkpoint).toEqual([1, 2]);
    });

    it('ends cancelled on a cancelled outcome, and on a failure after a cancel request', async () => {
      const store = await h.open();
      const a = await claimOne(store);
      const b = await claimOne(store);
      await store.jobCancel({ id: b.id });
      const { accepted } = await store.jobFinishMany({
        finishes: [
          { id: a.id, leaseToken: a.leaseToken, outcome: 'cancelled' },
          { id: b.id, leaseToken: b.leaseToken, outcome: 'failed', error: boom, retryDelayMs: 1_000 },
        ],
      });
      expect(accepted.sort()).toEqual([a.id, b.id].sort());
      expect(await mustGet(store, a.id)).toMatchObject({ state: 'cancelled', cancelRequested: false });
      expect(await mustGet(store, b.id)).toMatchObject({ state: 'cancelled' });
      expect((await store.jobRunList({ jobId: a.id })).map((r) => r.outcome)).toEqual(['cancelled']);
      expect((await store.jobRunList({ jobId: b.id })).map((r) => r.outcome)).toEqual(['failed']);
    });

    it('accepts each attempt once, even when a batch repeats it', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      const finish = { id: job.id, leaseToken: job.leaseToken, outcome: 'completed' as const, result: 1 };
      const { accepted } = await store.jobFinishMany({ finishes: [finish, { ...finish, result: 2 }] });
      expect(accepted).toEqual([job.id]);
      expect((await store.jobFinishMany({ finishes: [{ ...finish, result: 3 }] })).accepted).toEqual([]);
      expect((await mustGet(store, job.id)).result).toBe(1);
      expect(await store.jobRunList({ jobId: job.id })).toHaveLength(1);
    });

    it("accepts only the current attempt's completion when a batch also holds a lapsed attempt's", async () => {
      for (const order of ['lapsed first', 'current first'] as const) {
        const store = await h.open();
        const lapsed = await claimOne(store, { maxAttempts: 5 });
        await h.advanceClock(store, 60_000); // past its 30 s lease
        expect((await store.jobRescueLapsed({ limit: 10 })).requeued).toEqual([lapsed.id]);
        const current = await claimAgain(store, lapsed.queue, 'worker-2');
        const late = {
          id: lapsed.id,
          leaseToken: lapsed.leaseToken,
          outcome: 'completed' as const,
          result: 'late',
        };
        const own = {
          id: current.id,
          leaseToken: current.leaseToken,
          outcome: 'completed' as const,
          result: 'own',
        };
        const { accepted } = await store.jobFinishMany({
          finishes: order === 'lapsed first' ? [late, own] : [own, late],
        });
        expect(accepted, order).toEqual([current.id]);
        expect(await mustGet(store, current.id), order).toMatchObject({
          state: 'completed',
          result: 'own',
          attempt: 2,
        });
      }
    });

    it('keeps the history of every attempt, the completed one last with its own due time', async () => {
      const store = await h.open();
      const queue = `q-history-${Date.now()}`;
      const first = await claimOne(store, { queue }, { workerId: 'worker-a' });
      await store.jobFinishMany({
        finishes: [
          { id: first.id, leaseToken: first.leaseToken, outcome: 'failed', error: boom, retryDelayMs: 0 },
        ],
      });
      const retryDue = (await mustGet(store, first.id)).runAt.getTime();
      const [second] = await store.jobClaim({
        workerId: 'worker-b',
        queues: [queue],
        limit: 1,
        leaseMs: 30_000,
      });
      if (!second) throw new Error('the retry was not claimable');
      await store.jobFinishMany({
        finishes: [{ id: second.id, leaseToken: second.leaseToken, outcome: 'completed', result: 'ok' }],
      });
      const runs = await store.jobRunList({ jobId: first.id });
      expect(runs.map((r) => [r.attempt, r.workerId, r.outcome])).toEqual([
        [1, 'worker-a', 'failed'],
        [2, 'worker-b', 'completed'],
      ]);
      expect(runs[0]?.error).toMatchObject({ message: 'boom' });
      expect(runs[1]?.error).toBeNull();
      expect(runs[1]?.runLagMs).toBe((runs[1]?.startedAt.getTime() ?? 0) - retryDue);
    });

    it('records one flagged run for a completion that overran its max duration', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      const { accepted } = await store.jobFinishMany({
        finishes: [
          {
            id: job.id,
            leaseToken: job.leaseToken,
            outcome: 'completed',
            result: 7,
            maxDurationExceeded: true,
          },
        ],
      });
      expect(accepted).toEqual([job.id]);
      expect(await mustGet(store, job.id)).toMatchObject({ state: 'completed', result: 7 });
      const runs = await store.jobRunList({ jobId: job.id });
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ outcome: 'completed', maxDurationExceeded: true, attempt: 1 });
    });

    it('takes a batch mixing completions with other outcomes, each job to its own state', async () => {
      const store = await h.open();
      const done = await claimOne(store);
      const failed = await claimOne(store);
      const released = await claimOne(store);
      const stale = await claimOne(store);
      const { accepted } = await store.jobFinishMany({
        finishes: [
          { id: done.id, leaseToken: done.leaseToken, outcome: 'completed', result: { n: 1 } },
          {
            id: failed.id,
            leaseToken: failed.leaseToken,
            outcome: 'failed',
            error: boom,
            retryDelayMs: null,
          },
          { id: released.id, leaseToken: released.leaseToken, outcome: 'released' },
          // A token from no claim: refused, and the job stays as it was.
          { id: stale.id, leaseToken: done.leaseToken, outcome: 'completed', result: 'nope' },
        ],
      });
      expect([...accepted].sort()).toEqual([done.id, failed.id, released.id].sort());
      expect(await mustGet(store, done.id)).toMatchObject({ state: 'completed', result: { n: 1 } });
      expect(await mustGet(store, failed.id)).toMatchObject({ state: 'failed', error: { message: 'boom' } });
      expect(await mustGet(store, released.id)).toMatchObject({ state: 'queued', attempt: 0 });
      expect(await mustGet(store, stale.id)).toMatchObject({ state: 'running', result: null });
      expect((await store.jobRunList({ jobId: done.id })).map((r) => r.outcome)).toEqual(['completed']);
      expect(await store.jobRunList({ jobId: stale.id })).toEqual([]);
    });

    it('accepts an empty batch', async () => {
      const store = await h.open();
      expect(await store.jobFinishMany({ finishes: [] })).toEqual({ accepted: [] });
    });
  });
}
