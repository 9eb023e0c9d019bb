/** Conformance: concurrency keys, at most N running jobs per key, slots given back exactly once. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ClaimedJob, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { mustGet } from './helpers.js';

const LEASE = { leaseMs: 30_000 };

async function running(store: Store, key: string): Promise<number> {
  const [info] = await store
    .concurrencyKeyList({ after: '', limit: 1_000 })
    .then((keys) => keys.filter((k) => k.key === key));
  return info?.running ?? 0;
}

function mustFind(jobs: ClaimedJob[], id: string): ClaimedJob {
  const job = jobs.find((j) => j.id === id);
  if (job === undefined) throw new Error(`job ${id} was not claimed`);
  return job;
}

/** Concurrency key tests. */
export function describeConcurrencyKeys(h: StoreHarness): void {
  describe('concurrency keys', () => {
    it('claims at most the limit of a key, and a full key does not hold back the jobs behind it', async () => {
      const store = await h.open();
      const keyed = [1, 2, 3].map(() => newJob({ queue: 'k1', priority: 5, concurrencyKey: 'tenant-a' }));
      const pair = [1, 2, 3].map(() =>
        newJob({ queue: 'k1', priority: 5, concurrencyKey: 'tenant-b', concurrencyLimit: 2 }),
      );
      const plain = newJob({ queue: 'k1', priority: 0 });
      await store.jobInsertMany({ jobs: [...keyed, ...pair, plain] });

      const first = await store.jobClaim({ workerId: 'w', queues: ['k1'], limit: 10, ...LEASE });
      expect(first.filter((j) => j.concurrencyKey === 'tenant-a')).toHaveLength(1);
      expect(first.filter((j) => j.concurrencyKey === 'tenant-b')).toHaveLength(2);
      expect(first.map((j) => j.id)).toContain(plain.id);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toEqual([]);
      expect(await running(store, 'tenant-a')).toBe(1);
      expect(await running(store, 'tenant-b')).toBe(2);
    });

    it('gives the slot back once per attempt: completion, retry, release; a stale token gives nothing', async () => {
      const store = await h.open();
      await store.jobInsertMany({ jobs: [1, 2, 3, 4].map(() => newJob({ concurrencyKey: 'solo' })) });
      const claimAgain = async () => {
        const claimed = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
        expect(claimed).toHaveLength(1);
        expect(await running(store, 'solo')).toBe(1);
        return claimed[0] as (typeof claimed)[number];
      };

      const a = await claimAgain();
      const done = { id: a.id, leaseToken: a.leaseToken, outcome: 'completed' as const, result: 1 };
      expect((await store.jobFinishMany({ finishes: [done] })).accepted).toEqual([a.id]);
      expect((await store.jobFinishMany({ finishes: [done] })).accepted).toEqual([]);
      expect(await running(store, 'solo')).toBe(0);

      const b = await claimAgain();
      await store.jobFinishMany({
        finishes: [
          {
            id: b.id,
            leaseToken: b.leaseToken,
            outcome: 'failed',
            error: { message: 'x', reason: 'failed' },
            retryDelayMs: 0,
          },
        ],
      });
      expect(await running(store, 'solo')).toBe(0);

      const c = await claimAgain();
      await store.jobFinishMany({ finishes: [{ id: c.id, leaseToken: c.leaseToken, outcome: 'released' }] });
      expect(await running(store, 'solo')).toBe(0);
      expect((await mustGet(store, c.id)).state).toBe('queued');
      await claimAgain();
    });

    it('completes keyed and plain jobs in one batch, each once, giving back the keyed slots', async () => {
      // PostgreSQL ends the plain ones with a statement that gives nothing back, the keyed ones after it.
      const store = await h.open();
      const keyed = (): ReturnType<typeof newJob> =>
        newJob({ queue: 'mix', concurrencyKey: 'mixed', concurrencyLimit: 2 });
      await store.jobInsertMany({
        jobs: [keyed(), newJob({ queue: 'mix' }), keyed(), newJob({ queue: 'mix' })],
      });
      const claimed = await store.jobClaim({ workerId: 'w', queues: ['mix'], limit: 10, ...LEASE });
      expect(claimed).toHaveLength(4);
      expect(await running(store, 'mixed')).toBe(2);
      const finishes = claimed.map((j) => ({
        id: j.id,
        leaseToken: j.leaseToken,
        outcome: 'completed' as const,
        result: j.id,
      }));
      const ids = claimed.map((j) => j.id).sort();
      expect((await store.jobFinishMany({ finishes })).accepted.slice().sort()).toEqual(ids);
      expect(await running(store, 'mixed')).toBe(0);
      for (const job of claimed) {
        const stored = await mustGet(store, job.id);
        expect(stored.state).toBe('completed');
        expect(stored.result).toBe(job.id);
      }
      expect((await store.jobFinishMany({ finishes })).accepted).toEqual([]);
      expect(await running(store, 'mixed')).toBe(0);
    });

    it('gives the slot of a lapsed lease back in the rescue, once', async () => {
      const store = await h.open();
      await store.jobInsertMany({
        jobs: [newJob({ concurrencyKey: 'lapse' }), newJob({ concurrencyKey: 'lapse' })],
      });
      const [held] = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      if (!held) throw new Error('nothing claimed');
      await h.advanceClock(store, LEASE.leaseMs + 1_000);
      expect((await store.jobRescueLapsed({ limit: 10 })).requeued).toEqual([held.id]);
      expect(await running(store, 'lapse')).toBe(0);
      const late = { id: held.id, leaseToken: held.leaseToken, outcome: 'completed' as const, result: 1 };
      expect((await store.jobFinishMany({ finishes: [late] })).accepted).toEqual([]);
      expect(await running(store, 'lapse')).toBe(0);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(1);
    });

    it("an operator's limit wins over the jobs' own, and shows in the key list", async () => {
      const store = await h.open();
      await store.concurrencyKeySetLimit({ key: 'wide', limit: 3 });
      await store.jobInsertMany({ jobs: [1, 2, 3, 4, 5].map(() => newJob({ concurrencyKey: 'wide' })) });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(3);
      expect(await store.concurrencyKeyList({ limit: 10, running: true })).toEqual([
        { key: 'wide', running: 3, limit: 3, operatorLimit: 3, rate: null },
      ]);
      await store.concurrencyKeySetLimit({ key: 'wide', limit: null });
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
        { key: 'wide', running: 3, limit: 1, operatorLimit: null, rate: null },
      ]);
    });

    it('removing the limit or rate of a key that has no row lists no key', async () => {
      // An operator's "Remove" on a mistyped key must not leave that key listed until the pruner runs.
      const store = await h.open();
      await store.concurrencyKeySetLimit({ key: 'tenant-1O', limit: null });
      await store.concurrencyKeySetRate({ key: 'tenant-1O', rate: null });
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([]);
      // A key that has a row keeps it, its settings removed.
      await store.concurrencyKeySetLimit({ key: 'tenant-10', limit: 2 });
      await store.concurrencyKeySetRate({ key: 'tenant-10', rate: { limit: 5, periodMs: 1_000 } });
      await store.concurrencyKeySetLimit({ key: 'tenant-10', limit: null });
      await store.concurrencyKeySetRate({ key: 'tenant-10', rate: null });
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
        { key: 'tenant-10', running: 0, limit: null, operatorLimit: null, rate: null },
      ]);
    });

    it("a cleared operator's limit of a key never claimed leaves no limit in the key list until a claim, which goes by the jobs'", async () => {
      const store = await h.open();
      await store.jobInsertMany({
        jobs: [1, 2, 3].map(() => newJob({ concurrencyKey: 'waiting', concurrencyLimit: 2 })),
      });
      for (const key of ['waiting', 'empty']) {
        await store.concurrencyKeySetLimit({ key, limit: 5 });
        await store.concurrencyKeySetLimit({ key, limit: null });
      }
      // No job of either was claimed: neither has a limit until a claim takes one ('empty' showed 1,
      // and before that both showed the cleared 5). Setting a limit reads no job.
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
        { key: 'empty', running: 0, limit: null, operatorLimit: null, rate: null },
        { key: 'waiting', running: 0, limit: null, operatorLimit: null, rate: null },
      ]);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(2);
      expect((await store.concurrencyKeyList({ limit: 10 })).map((k) => [k.key, k.running, k.limit])).toEqual(
        [
          ['empty', 0, null],
          ['waiting', 2, 2],
        ],
      );
    });

    it('a key a rate made has no limit until a claim takes one of its jobs; then theirs, which the claim goes by', async () => {
      const store = await h.open();
      const rate = { limit: 100, periodMs: 60_000 };
      const keyed = (key: string, concurrencyLimit: number) =>
        [1, 2, 3, 4].map(() => newJob({ queue: 'paced', concurrencyKey: key, concurrencyLimit }));
      await store.jobInsertMany({ jobs: keyed('before', 3) });
      await store.concurrencyKeySetRate({ key: 'before', rate });
      await store.concurrencyKeySetRate({ key: 'after', rate });
      // It showed 1 for both, whatever their jobs carry.
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
        { key: 'after', running: 0, limit: null, operatorLimit: null, rate },
        { key: 'before', running: 0, limit: null, operatorLimit: null, rate },
      ]);
      await store.jobInsertMany({ jobs: keyed('after', 2) });
      await store.concurrencyKeySetRate({ key: 'before', rate: null });
      const claimed = await store.jobClaim({ workerId: 'w', queues: ['paced'], limit: 10, ...LEASE });
      expect(claimed.filter((j) => j.concurrencyKey === 'after')).toHaveLength(2);
      expect(claimed.filter((j) => j.concurrencyKey === 'before')).toHaveLength(3);
      expect((await store.concurrencyKeyList({ limit: 10 })).map((k) => [k.key, k.running, k.limit])).toEqual(
        [
          ['after', 2, 2],
          ['before', 3, 3],
        ],
      );
    });

    it("a key whose only jobs are delayed or retrying has no limit once the operator's is cleared, until a claim takes one", async () => {
      const store = await h.open();
      await store.jobInsertMany({
        jobs: [1, 2, 3, 4, 5].map(() =>
          newJob({ queue: 'later', concurrencyKey: 'delayed', concurrencyLimit: 4, delayMs: 60_000 }),
        ),
      });
      // A retrying job: its key's row goes with the pruner while it waits, as after an hour's backoff.
      const [first] = await store.jobInsertMany({
        jobs: [newJob({ queue: 'later', concurrencyKey: 'retrying', concurrencyLimit: 2 })],
      });
      const [attempt] = await store.jobClaim({ workerId: 'w', queues: ['later'], limit: 1, ...LEASE });
      expect(attempt?.id).toBe(first?.job.id);
      await store.jobFinishMany({
        finishes: [
          {
            id: attempt!.id,
            leaseToken: attempt!.leaseToken,
            outcome: 'failed',
            error: { message: 'x', reason: 'failed' },
            retryDelayMs: 60_000,
          },
        ],
      });
      await sleep(5);
      expect(await store.concurrencyKeyPrune({ olderThanMs: 0, limit: 10 })).toEqual({ deleted: 1 });
      for (const key of ['delayed', 'retrying']) {
        await store.concurrencyKeySetLimit({ key, limit: 9 });
        await store.concurrencyKeySetLimit({ key, limit: null });
      }
      // It showed 1 for both: the row's limit was read from queued jobs only.
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
        { key: 'delayed', running: 0, limit: null, operatorLimit: null, rate: null },
        { key: 'retrying', running: 0, limit: null, operatorLimit: null, rate: null },
      ]);
      await h.advanceClock(store, 61_000);
      const claimed = await store.jobClaim({ workerId: 'w', queues: ['later'], limit: 10, ...LEASE });
      expect(claimed.filter((j) => j.concurrencyKey === 'delayed')).toHaveLength(4);
      expect(claimed.filter((j) => j.concurrencyKey === 'retrying').map((j) => j.attempt)).toEqual([2]);
      expect((await store.concurrencyKeyList({ limit: 10 })).map((k) => [k.key, k.running, k.limit])).toEqual(
        [
          ['delayed', 4, 4],
          ['retrying', 1, 2],
        ],
      );
    });

    it('a raised limit shows once a claim takes a job carrying it; each job starts by its own', async () => {
      // A deploy that raises a task's concurrencyLimit: jobs enqueued before it carry 1, after it 3.
      const store = await h.open();
      const keyed = (concurrencyLimit: number) =>
        newJob({ queue: 'grow', concurrencyKey: 'grown', concurrencyLimit });
      await store.jobInsertMany({ jobs: [keyed(1), keyed(1)] });
      expect(await store.jobClaim({ workerId: 'w', queues: ['grow'], limit: 10, ...LEASE })).toHaveLength(1);
      await store.jobInsertMany({ jobs: [keyed(3), keyed(3), keyed(3)] });
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
        { key: 'grown', running: 1, limit: 1, operatorLimit: null, rate: null },
      ]);
      expect(await store.jobClaim({ workerId: 'w', queues: ['grow'], limit: 10, ...LEASE })).toHaveLength(2);
      expect(await store.jobClaim({ workerId: 'w', queues: ['grow'], limit: 10, ...LEASE })).toEqual([]);
      expect(await store.concurrencyKeyList({ limit: 10 })).toEqual([
        { key: 'grown', running: 3, limit: 3, operatorLimit: null, rate: null },
      ]);
    });

    it('jobs of one key with different limits: each starts only while fewer than its own limit run, within one claim too', async () => {
      const store = await h.open();
      const job = (key: string, concurrencyLimit: number, priority: number) =>
        newJob({ queue: 'own', priority, concurrencyKey: key, concurrencyLimit });
      // Keys without a row yet and keys with one (a claim's row check runs only on an existing row).
      for (const key of ['known-rising', 'known-falling']) {
        await store.concurrencyKeySetLimit({ key, limit: 5 });
        await store.concurrencyKeySetLimit({ key, limit: null });
      }
      const expected: string[] = [];
      for (const prefix of ['new', 'known']) {
        // Claim order is by priority: in 'rising' the job of limit 1 comes first, in 'falling' second.
        const rising = [1, 3, 3, 3].map((limit, i) => job(`${prefix}-rising`, limit, 9 - i));
        const falling = [3, 1, 3].map((limit, i) => job(`${prefix}-falling`, limit, 9 - i));
        await store.jobInsertMany({ jobs: [...rising, ...falling] });
        // rising: 0 < 1, 1 < 3, 2 < 3, then 3 run (not < 3). falling: 0 < 3, 1 (not < 1), 1 < 3.
        expected.push(...[rising[0], rising[1], rising[2], falling[0], falling[2]].map((j) => j!.id));
      }
      const claimed = await store.jobClaim({ workerId: 'w', queues: ['own'], limit: 20, ...LEASE });
      expect(claimed.map((j) => j.id).sort()).toEqual(expected.sort());
      // The limit listed: the smallest own limit among the jobs the latest claim of the key took.
      expect((await store.concurrencyKeyList({ limit: 10 })).map((k) => [k.key, k.running, k.limit])).toEqual(
        [
          ['known-falling', 2, 3],
          ['known-rising', 3, 1],
          ['new-falling', 2, 3],
          ['new-rising', 3, 1],
        ],
      );
      expect(await store.jobClaim({ workerId: 'w', queues: ['own'], limit: 20, ...LEASE })).toEqual([]);
    });

    it('a store that has claimed only plain jobs takes keyed ones in the same claim, within their limit', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      await store.jobInsertMany({ jobs: Array.from({ length: 20 }, () => newJob({ queue: 'mix' })) });
      for (let i = 0; i < 4; i += 1) {
        expect(await store.jobClaim({ workerId: 'w', limit: 5, ...LEASE })).toHaveLength(5);
      }
      const keyed = [1, 2, 3].map(() => newJob({ queue: 'mix', priority: 5, concurrencyKey: 'late' }));
      const plain = [1, 2, 3, 4].map(() => newJob({ queue: 'mix' }));
      await peer.jobInsertMany({ jobs: [...keyed, ...plain] });
      const claimed = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      expect(claimed.filter((j) => j.concurrencyKey === 'late')).toHaveLength(1);
      expect(claimed.map((j) => j.id)).toEqual(expect.arrayContaining(plain.map((j) => j.id)));
      expect(claimed).toHaveLength(5);
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toEqual([]);
      expect(await running(store, 'late')).toBe(1);
    });

    it('two stores claiming at once never exceed a limit of 2', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      await store.jobInsertMany({
        jobs: Array.from({ length: 40 }, () => newJob({ concurrencyKey: 'race', concurrencyLimit: 2 })),
      });
      const rounds = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? store : peer).jobClaim({ workerId: `w${i}`, limit: 5, ...LEASE }),
        ),
      );
      expect(rounds.flat()).toHaveLength(2);
      expect(await running(store, 'race')).toBe(2);
    });

    it('two stores claiming at once start every job of one key with different limits within its own', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      // Rounds on keys of their own, for races enough (on PostgreSQL about every other round has two
      // claims of 2 re-checking one key at once).
      for (let round = 0; round < 8; round += 1) {
        const key = `mixed-race-${round}`;
        const claim = (on: Store, workerId: string) =>
          on.jobClaim({ workerId, queues: [key], limit: 2, ...LEASE });
        // A row already: the claims' re-check of the key runs on it (PostgreSQL: on its newest version).
        await store.concurrencyKeySetLimit({ key, limit: 5 });
        await store.concurrencyKeySetLimit({ key, limit: null });
        const jobs = Array.from({ length: 30 }, (_, i) =>
          newJob({
            queue: key,
            concurrencyKey: key,
            concurrencyLimit: [3, 1, 2][i % 3]!,
            priority: (i * 7) % 11,
          }),
        );
        await store.jobInsertMany({ jobs });
        const limitOf = new Map(jobs.map((j) => [j.id, j.concurrencyLimit!]));
        const rounds = await Promise.all(
          Array.from({ length: 8 }, (_, i) => claim(i % 2 === 0 ? store : peer, `w${i}`)),
        );
        const claimed = rounds.flat();
        // Then claims one at a time take what the race left startable.
        for (let more = await claim(store, 'w'); more.length > 0; more = await claim(store, 'w')) {
          claimed.push(...more);
        }
        // Each job started while fewer than its own limit ran, and none finished: so, for every m, at
        // most m of the running jobs have a limit of m or less (they started among the first m).
        const taken = claimed.map((j) => limitOf.get(j.id)!);
        for (const m of [1, 2, 3]) expect(taken.filter((limit) => limit <= m).length).toBeLessThanOrEqual(m);
        expect(taken).toHaveLength(3);
        expect(await running(store, key)).toBe(3);
      }
    });

    it('prunes the rows of idle keys only: running keys, operator limits and rates stay, a pruned key claims anew', async () => {
      const store = await h.open();
      const idle = newJob({ concurrencyKey: 'idle', concurrencyLimit: 2 });
      await store.jobInsertMany({ jobs: [idle, newJob({ concurrencyKey: 'busy' })] });
      await store.concurrencyKeySetLimit({ key: 'ruled', limit: 3 });
      // A rate is an operator's setting too: its row goes only when the rate is removed.
      await store.concurrencyKeySetRate({ key: 'paced', rate: { limit: 5, periodMs: 60_000 } });
      const claimed = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
      const done = mustFind(claimed, idle.id);
      await store.jobFinishMany({
        finishes: [{ id: done.id, leaseToken: done.leaseToken, outcome: 'completed' }],
      });
      expect(await store.concurrencyKeyPrune({ olderThanMs: 60_000, limit: 100 })).toEqual({ deleted: 0 });
      // The database's clock, in ms: let it move past the release. Waited for, not advanced: SQLite
      // stamps the release in a trigger, on SQLite's own clock, which the harness cannot move.
      await sleep(5);
      expect(await store.concurrencyKeyPrune({ olderThanMs: 0, limit: 100 })).toEqual({ deleted: 1 });
      expect((await store.concurrencyKeyList({ limit: 10 })).map((k) => k.key)).toEqual([
        'busy',
        'paced',
        'ruled',
      ]);
      await store.concurrencyKeySetRate({ key: 'paced', rate: null });
      await sleep(5);
      expect(await store.concurrencyKeyPrune({ olderThanMs: 0, limit: 100 })).toEqual({ deleted: 1 });

      await store.jobInsertMany({
        jobs: [1, 2, 3].map(() => newJob({ concurrencyKey: 'idle', concurrencyLimit: 2 })),
      });
      expect(await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toHaveLength(2);
      expect(await running(store, 'idle')).toBe(2);
      expect(await store.concurrencyKeyPrune({ olderThanMs: 0, limit: 100 })).toEqual({ deleted: 0 });
    });

    it('a prune racing claims of the same key never loses a slot', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      for (let round = 0; round < 12; round += 1) {
        await store.jobInsertMany({
          jobs: [newJob({ concurrencyKey: 'hot' }), newJob({ concurrencyKey: 'hot' })],
        });
        const [claimed] = await Promise.all([
          store.jobClaim({ workerId: 'w', limit: 10, ...LEASE }),
          peer.concurrencyKeyPrune({ olderThanMs: 0, limit: 10 }),
        ]);
        expect(claimed).toHaveLength(1);
        expect(await running(store, 'hot')).toBe(1);
        expect(await peer.jobClaim({ workerId: 'w', limit: 10, ...LEASE })).toEqual([]);
        const [job] = claimed;
        await store.jobFinishMany({
          finishes: [{ id: job!.id, leaseToken: job!.leaseToken, outcome: 'completed' }],
        });
        expect(await running(store, 'hot')).toBe(0);
        // The second job, then an idle row for the next round's prune.
        const [next] = await store.jobClaim({ workerId: 'w', limit: 10, ...LEASE });
        await store.jobFinishMany({
          finishes: [{ id: next!.id, leaseToken: next!.leaseToken, outcome: 'completed' }],
        });
        await sleep(2);
      }
    });
  });
}
