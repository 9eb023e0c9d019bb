/**
 * Conformance: `transaction(fn)` and the `tx` option of checkpoint, finish and renewal. A caller's
 * write (here a job insert on the same handle) and the attempt's writes commit together or not at all,
 * stale tokens are refused inside a transaction too, and events wait for COMMIT.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/store/open.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { claimOne, mustGet } from './helpers.js';

class Rollback extends Error {}

/** Transaction tests. */
export function describeTransaction(h: StoreHarness): void {
  describe('transaction', () => {
    it('commits a caller write, a checkpoint, a renewal and a completion together', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      const ref = { id: job.id, leaseToken: job.leaseToken };
      const sideEffect = newJob({ queue: 'effects' });
      const finished: string[] = [];
      store.listen('job:finished', ({ id }) => finished.push(id));
      const value = await store.transaction(async (tx) => {
        await store.jobInsertMany({ jobs: [sideEffect], tx });
        expect(await store.jobCheckpointSave({ ...ref, checkpoint: { page: 7 }, tx })).toBe(true);
        expect((await store.jobLeaseRenew({ leases: [ref], leaseMs: 5_000, tx })).renewed).toHaveLength(1);
        const { accepted } = await store.jobFinishMany({
          finishes: [{ ...ref, outcome: 'completed', result: { sent: 1 } }],
          tx,
        });
        expect(accepted).toEqual([job.id]);
        // Not committed yet: no listener has heard of the completion.
        expect(finished).toEqual([]);
        return 'done';
      });
      expect(value).toBe('done');
      expect(finished).toEqual([job.id]);
      const stored = await mustGet(store, job.id);
      expect(stored.state).toBe('completed');
      expect(stored.result).toEqual({ sent: 1 });
      expect(stored.checkpoint).toEqual({ page: 7 });
      expect(await store.jobGet({ id: sideEffect.id })).toBeDefined();
      expect((await store.jobRunList({ jobId: job.id })).map((run) => run.outcome)).toEqual(['completed']);
    });

    it('rolls everything back when fn rejects, and emits nothing', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      const ref = { id: job.id, leaseToken: job.leaseToken };
      const sideEffect = newJob({ queue: 'effects' });
      const finished: string[] = [];
      store.listen('job:finished', ({ id }) => finished.push(id));
      await expect(
        store.transaction(async (tx) => {
          await store.jobInsertMany({ jobs: [sideEffect], tx });
          await store.jobCheckpointSave({ ...ref, checkpoint: { page: 9 }, tx });
          await store.jobFinishMany({ finishes: [{ ...ref, outcome: 'completed', result: 1 }], tx });
          throw new Rollback('changed my mind');
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(finished).toEqual([]);
      const stored = await mustGet(store, job.id);
      expect(stored.state).toBe('running');
      expect(stored.checkpoint).toBeUndefined();
      expect(await store.jobGet({ id: sideEffect.id })).toBeUndefined();
      expect(await store.jobRunList({ jobId: job.id })).toEqual([]);
      // The attempt still holds its lease and can finish normally afterwards.
      const { accepted } = await store.jobFinishMany({ finishes: [{ ...ref, outcome: 'completed' }] });
      expect(accepted).toEqual([job.id]);
    });

    it('refuses a stale token inside a transaction', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      const stale = { id: job.id, leaseToken: '00000000-0000-7000-8000-000000000000' };
      await store.transaction(async (tx) => {
        expect(await store.jobCheckpointSave({ ...stale, checkpoint: 1, tx })).toBe(false);
        expect((await store.jobLeaseRenew({ leases: [stale], leaseMs: 5_000, tx })).renewed).toEqual([]);
        const { accepted } = await store.jobFinishMany({
          finishes: [{ ...stale, outcome: 'completed' }],
          tx,
        });
        expect(accepted).toEqual([]);
      });
      const stored = await mustGet(store, job.id);
      expect(stored.state).toBe('running');
      expect(stored.checkpoint).toBeUndefined();
    });

    it('names, in peerAddress, a database another connection opens and finds the same jobs in', async () => {
      const store = await h.open();
      const address = store.peerAddress?.();
      expect(address).toBeTruthy();
      if (!address) return;
      const job = await claimOne(store);
      const peer = await openStore(
        address.url,
        address.schema === undefined ? {} : { schema: address.schema },
      );
      try {
        const { renewed } = await peer.jobLeaseRenew({
          leases: [{ id: job.id, leaseToken: job.leaseToken }],
          leaseMs: 5_000,
        });
        expect(renewed).toEqual([{ id: job.id, cancelRequested: false }]);
      } finally {
        await peer.close();
      }
    });

    it('lets other store calls of the process wait for an open transaction and then proceed', async () => {
      const store = await h.open();
      const job = await claimOne(store);
      const ref = { id: job.id, leaseToken: job.leaseToken };
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let saved!: () => void;
      const insideSaved = new Promise<void>((resolve) => (saved = resolve));
      const inside = store.transaction(async (tx) => {
        await store.jobCheckpointSave({ ...ref, checkpoint: 'inside', tx });
        saved();
        await held;
      });
      // Issued once the transaction has written (else the outside write may simply come first) and
      // while it is still open; must neither join it nor fail, and lands after its COMMIT.
      await insideSaved;
      const outside = store.jobCheckpointSave({ ...ref, checkpoint: 'outside' });
      release();
      await inside;
      expect(await outside).toBe(true);
      expect((await mustGet(store, job.id)).checkpoint).toBe('outside');
    });

    it('is ended by close({ waitMs }) within that bound while its caller still works, its write rolled back', async () => {
      // Silent: PostgreSQL warns of the connection it cuts.
      const store = await h.open({ logger: createLogger({ level: 'silent' }) });
      const written = newJob({ queue: 'closing' });
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const insideInserted = new Promise<void>((resolve) => (inserted = resolve));
      const inside = store
        .transaction(async (tx) => {
          await store.jobInsertMany({ jobs: [written], tx });
          inserted();
          await held;
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      await insideInserted;
      const started = performance.now();
      await store.close({ waitMs: 300 });
      // Not the default 5 s, nor until the caller's code ends (PostgreSQL: its transaction holds a
      // connection until then).
      expect(performance.now() - started).toBeLessThan(2_000);
      release();
      expect(await inside).toBeInstanceOf(Error);
      const peer = await h.openPeer(store);
      expect(await peer.jobGet({ id: written.id })).toBeUndefined();
    });

    it('fails as database_unavailable once the store is closed mid-transaction, its writes on tx too', async () => {
      const store = await h.open({ logger: createLogger({ level: 'silent' }) });
      const job = await claimOne(store);
      const ref = { id: job.id, leaseToken: job.leaseToken };
      const written = newJob({ queue: 'closing' });
      let closing!: () => void;
      const closed = new Promise<void>((resolve) => (closing = resolve));
      let wrote!: () => void;
      const insideWrote = new Promise<void>((resolve) => (wrote = resolve));
      const writesAfter: Array<Promise<unknown>> = [];
      const inside = store
        .transaction(async (tx) => {
          await store.jobInsertMany({ jobs: [written], tx });
          wrote();
          await closed;
          const settle = (write: Promise<unknown>): Promise<unknown> =>
            write.then(
              () => 'written',
              (e: unknown) => e,
            );
          writesAfter.push(
            settle(store.jobInsertMany({ jobs: [newJob({ queue: 'closing' })], tx })),
            settle(store.jobCheckpointSave({ ...ref, checkpoint: 1, tx })),
            settle(store.jobLeaseRenew({ leases: [ref], leaseMs: 5_000, tx })),
            settle(store.jobFinishMany({ finishes: [{ ...ref, outcome: 'completed' }], tx })),
            settle(store.eventAppend({ events: [{ type: 'queue:paused', queue: 'closing' }], tx })),
          );
          await Promise.all(writesAfter);
          // fn itself succeeds: the transaction's own end reports the close.
        })
        .then(
          () => 'committed',
          (e: unknown) => e,
        );
      await insideWrote;
      await store.close({ waitMs: 100 });
      closing();
      // The writes are made once fn resumes, so they are known once the transaction has ended.
      const ended = await inside;
      const codes = [ended, ...(await Promise.all(writesAfter))].map((e) => (e as { code?: unknown }).code);
      expect(codes).toEqual(Array<string>(6).fill('database_unavailable'));
      const peer = await h.openPeer(store);
      expect(await peer.jobGet({ id: written.id })).toBeUndefined();
      expect((await mustGet(peer, job.id)).state).toBe('running');
    });
  });
}
