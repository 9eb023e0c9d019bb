/**
 * Conformance: fair claiming by group (docs/TENANCY.md). Claims take turns between the ready (queue,
 * group) pairs, weighted, from where the last claim of the same queues stopped; priority orders the
 * jobs within a group; jobs without a group come first; limits stay exact; the counts read back.
 * The turns are the same on both stores (src/store/fair-turns.ts), so the expectations are exact.
 */
import { describe, expect, it } from 'vitest';
import { GROUPED_LEFT_CLAIM_MS } from '../../src/store/fair-turns.js';
import type { ClaimedJob, ClaimReport, JobClaimParams, NewJob, Store } from '../../src/store/store.js';
import { newJob } from '../support/jobs.js';
import type { StoreHarness } from '../support/store-harness.js';
import { mustGet, nowMs } from './helpers.js';

const LEASE = { leaseMs: 60_000 };
// The fairness scenario's backlog: 20,000 keeps the suite at a few seconds per store; the bound does
// not depend on it (bench/scenarios/tenancy.ts runs it with 100,000).
const BACKLOG = 20_000;

/** Inserts `count` jobs of `group` in batches, remembering each one's group by id. */
async function insertGroup(
  store: Store,
  groups: Map<string, string>,
  count: number,
  group: string,
  overrides: Partial<NewJob> = {},
): Promise<NewJob[]> {
  const all: NewJob[] = [];
  for (let done = 0; done < count; done += 2_000) {
    const jobs = Array.from({ length: Math.min(2_000, count - done) }, () =>
      newJob({ group, payload: null, ...overrides }),
    );
    for (const job of jobs) groups.set(job.id, group);
    await store.jobInsertMany({ jobs });
    all.push(...jobs);
  }
  return all;
}

/** The groups of one claim's jobs, sorted (a batch's order is not part of the contract). */
async function claimGroups(
  store: Store,
  groups: Map<string, string>,
  limit: number,
  queues?: string[],
  labels?: string[],
): Promise<string[]> {
  const claimed = await store.jobClaim({
    workerId: 'w',
    limit,
    ...LEASE,
    ...(queues ? { queues } : {}),
    ...(labels ? { labels } : {}),
  });
  return claimed.map((j) => groups.get(j.id) ?? 'ungrouped').sort();
}

const ids = (jobs: Array<{ id: string }>): string[] => jobs.map((j) => j.id).sort();

function count(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

async function complete(store: Store, jobs: ClaimedJob[]): Promise<void> {
  await store.jobFinishMany({
    finishes: jobs.map((j) => ({ id: j.id, leaseToken: j.leaseToken, outcome: 'completed' as const })),
  });
}

/** Fair claiming tests. */
export function describeFairGroups(h: StoreHarness): void {
  describe('fair claiming by group', () => {
    it(`starts all 100 of B's jobs within 20 claims of 10 behind A's ${BACKLOG}`, async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      await insertGroup(store, groups, BACKLOG, 'A');
      await insertGroup(store, groups, 100, 'B');
      // The bound: two ready groups of weight 1 take turns, so a claim of 10 gives each 5 (B's share
      // of each claim while it has jobs), and B's 100 start within ceil(100 / 5) = 20 claims.
      let rounds = 0;
      let startedB = 0;
      while (startedB < 100 && rounds < 1_000) {
        const claimed = await claimGroups(store, groups, 10);
        expect(count(claimed)).toEqual({ A: 5, B: 5 });
        startedB += claimed.filter((g) => g === 'B').length;
        rounds += 1;
      }
      expect(rounds).toBe(20);
      // With B drained, A has every place again.
      expect(count(await claimGroups(store, groups, 10))).toEqual({ A: 10 });
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'A', weight: 1, queued: BACKLOG - 110, running: 110 },
        { group: 'B', weight: 1, queued: 0, running: 100 },
      ]);
    }, 120_000);

    it('interleaves equal groups one turn each, continuing where the last claim stopped', async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      for (const g of ['g1', 'g2', 'g3', 'g4']) await insertGroup(store, groups, 10, g);
      expect(await claimGroups(store, groups, 3)).toEqual(['g1', 'g2', 'g3']);
      // The next claim starts after g3: g4, then round again.
      expect(await claimGroups(store, groups, 3)).toEqual(['g1', 'g2', 'g4']);
      expect(await claimGroups(store, groups, 6)).toEqual(['g1', 'g2', 'g3', 'g3', 'g4', 'g4']);
    });

    it('shares the turns by weight, 2:1 exactly, and a weight reset to 1 applies from the next claim', async () => {
      const store = await h.open();
      await store.groupSetWeight({ group: 'X', weight: 2 });
      const groups = new Map<string, string>();
      await insertGroup(store, groups, 500, 'X');
      await insertGroup(store, groups, 500, 'Y');
      const counts = { X: 0, Y: 0 };
      for (let round = 0; round < 30; round += 1) {
        for (const g of await claimGroups(store, groups, 10)) counts[g as 'X' | 'Y'] += 1;
      }
      expect(counts).toEqual({ X: 200, Y: 100 });
      await store.groupSetWeight({ group: 'X', weight: null });
      const after = { X: 0, Y: 0 };
      for (let round = 0; round < 10; round += 1) {
        for (const g of await claimGroups(store, groups, 10)) after[g as 'X' | 'Y'] += 1;
      }
      expect(after).toEqual({ X: 50, Y: 50 });
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'X', weight: 1, queued: 250, running: 250 },
        { group: 'Y', weight: 1, queued: 350, running: 150 },
      ]);
    });

    it('fills a claim when groups have fewer jobs than their turns: the places left are dealt again', async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      await insertGroup(store, groups, 100, 'big');
      for (const small of ['s1', 's2', 's3', 's4']) await insertGroup(store, groups, 1, small);
      // Five groups share 20 places, 4 turns each; the small ones use 1 each, and their 12 unused
      // turns go to the only group left.
      expect(count(await claimGroups(store, groups, 20))).toEqual({ big: 16, s1: 1, s2: 1, s3: 1, s4: 1 });
    });

    it('reports grouped jobs left ready when its deals’ turns outnumbered the jobs of the groups dealt', async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      // 40 groups of one job, weight 10 each: a claim of 50 deals 10 turns to each of 5 groups, fills
      // 5 places, and deals the places left again, a bounded number of times.
      const names = Array.from({ length: 40 }, (_, i) => `w${String(i).padStart(2, '0')}`);
      for (const name of names) {
        await store.groupSetWeight({ group: name, weight: 10 });
        await insertGroup(store, groups, 1, name);
      }
      const reports: ClaimReport[] = [];
      const claim = () =>
        store.jobClaim({ workerId: 'w', limit: 50, ...LEASE, report: (r) => reports.push(r) });
      const first = await claim();
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThan(40);
      // Jobs are left ready: the claimer must claim again at once, not wait for new work.
      expect(reports.at(-1)).toEqual({ limitsMet: false, nextDueInMs: GROUPED_LEFT_CLAIM_MS });
      let claimed = first.length;
      while (claimed < 40) {
        const next = await claim();
        expect(next.length).toBeGreaterThan(0);
        claimed += next.length;
      }
      expect(await claim()).toEqual([]);
      expect(reports.at(-1)).toEqual({ limitsMet: false, nextDueInMs: null });
    });

    it('orders a group’s jobs by priority, and claims jobs without a group first', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const low = newJob({ group: 'G', priority: 1, runAt: new Date(now - 5_000) });
      const high = newJob({ group: 'G', priority: 9, runAt: new Date(now - 1_000) });
      const early = newJob({ group: 'G', priority: 1, runAt: new Date(now - 9_000) });
      const plain = newJob({ priority: -5 });
      await store.jobInsertMany({ jobs: [low, high, early, plain] });
      const first = await store.jobClaim({ workerId: 'w', limit: 2, ...LEASE });
      expect(first.map((j) => j.id).sort()).toEqual([plain.id, high.id].sort());
      expect(first.find((j) => j.id === high.id)?.group).toBe('G');
      expect((await store.jobClaim({ workerId: 'w', limit: 1, ...LEASE })).map((j) => j.id)).toEqual([
        early.id,
      ]);
      expect((await store.jobClaim({ workerId: 'w', limit: 5, ...LEASE })).map((j) => j.id)).toEqual([
        low.id,
      ]);
      expect((await mustGet(store, low.id)).group).toBe('G');
    });

    it('takes turns only between groups it may claim: other queues, paused and full queues are passed over', async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      // Queue 'a' sorts first in the turns; each case must not cost 'b's groups their places.
      await insertGroup(store, groups, 20, 'held', { queue: 'a' });
      await insertGroup(store, groups, 20, 'm1', { queue: 'b' });
      await insertGroup(store, groups, 20, 'm2', { queue: 'b' });
      expect(count(await claimGroups(store, groups, 10, ['b']))).toEqual({ m1: 5, m2: 5 });
      await store.queuePause({ queue: 'a' });
      expect(count(await claimGroups(store, groups, 10))).toEqual({ m1: 5, m2: 5 });
      await store.queueResume({ queue: 'a' });
      await store.queueSetLimit({ queue: 'a', limit: 1 });
      // 'a' is open again: the round deals its group 4 of 10 turns, of which its limit admits 1 (a
      // turn lost to a limit is not dealt again); next, with 'a' full, 'b's groups share every place.
      expect(count(await claimGroups(store, groups, 10))).toEqual({ held: 1, m1: 3, m2: 3 });
      expect(count(await claimGroups(store, groups, 10))).toEqual({ m1: 5, m2: 5 });
    });

    it('keeps keys exact across groups and passes over a group whose next job’s key is full', async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      await insertGroup(store, groups, 10, 'k1', { concurrencyKey: 'shared', concurrencyLimit: 2 });
      await insertGroup(store, groups, 10, 'k2', { concurrencyKey: 'shared', concurrencyLimit: 2 });
      await insertGroup(store, groups, 10, 'k3', { concurrencyKey: 'shared', concurrencyLimit: 2 });
      await insertGroup(store, groups, 10, 'free');
      const first = await claimGroups(store, groups, 8);
      expect(first.filter((g) => g !== 'free')).toHaveLength(2);
      expect((await store.concurrencyKeyList({ limit: 10 }))[0]).toMatchObject({ key: 'shared', running: 2 });
      // The key is full: the keyed groups are passed over, the free group takes every place.
      expect(count(await claimGroups(store, groups, 4))).toEqual({ free: 4 });
    });

    it('a store that claimed grouped jobs without limits takes a peer’s keyed grouped jobs in the same claim, within their limit', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      const groups = new Map<string, string>();
      await insertGroup(store, groups, 10, 'p1');
      await insertGroup(store, groups, 10, 'p2');
      for (let i = 0; i < 4; i += 1) expect(await claimGroups(store, groups, 4)).toHaveLength(4);
      await insertGroup(peer, groups, 3, 'keyed', { concurrencyKey: 'gk', concurrencyLimit: 1 });
      const first = await claimGroups(store, groups, 10);
      expect(count(first).keyed).toBe(1);
      expect((await store.concurrencyKeyList({ limit: 10 }))[0]).toMatchObject({ key: 'gk', running: 1 });
      const rest = await claimGroups(store, groups, 10);
      expect(count([...first, ...rest])).toEqual({ keyed: 1, p1: 2, p2: 2 });
    });

    it('a queue limit set by a peer is obeyed by the next claim of a store claiming grouped jobs', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      const groups = new Map<string, string>();
      await insertGroup(store, groups, 6, 'l1', { queue: 'gl' });
      await insertGroup(store, groups, 6, 'l2', { queue: 'gl' });
      expect(await claimGroups(store, groups, 3)).toHaveLength(3);
      expect(await claimGroups(store, groups, 3, ['gl'])).toHaveLength(3);
      await peer.queueSetLimit({ queue: 'gl', limit: 2 });
      expect(await claimGroups(store, groups, 10)).toHaveLength(2);
      expect(await claimGroups(store, groups, 10, ['gl'])).toEqual([]);
      expect(await store.queueLimitList()).toEqual([{ queue: 'gl', limit: 2, running: 2, rate: null }]);
    });

    it('claims a grouped job whose due time came in the same jobClaim call', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const later = newJob({ group: 'D', runAt: new Date(now + 3_600_000) });
      await store.jobInsertMany({ jobs: [later] });
      expect(await store.jobClaim({ workerId: 'w', limit: 5, ...LEASE })).toEqual([]);
      await h.setJobFields(store, later.id, { runAt: new Date(now - 1) });
      const claimed = await store.jobClaim({ workerId: 'w', limit: 5, ...LEASE });
      expect(claimed.map((j) => [j.id, j.group])).toEqual([[later.id, 'D']]);
    });

    it('counts ready and running jobs per group as they move, and lists by name after a cursor', async () => {
      const store = await h.open();
      const jobs = [newJob({ group: 'G' }), newJob({ group: 'G' }), newJob({ group: 'H' })];
      const [inserted] = await store.jobInsertMany({ jobs });
      expect(inserted?.job.group).toBe('G');
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'G', weight: 1, queued: 2, running: 0 },
        { group: 'H', weight: 1, queued: 1, running: 0 },
      ]);
      const claimed = await store.jobClaim({ workerId: 'w', limit: 2, ...LEASE });
      expect(await store.groupList({ limit: 10, running: true })).toEqual([
        { group: 'G', weight: 1, queued: 1, running: 1 },
        { group: 'H', weight: 1, queued: 0, running: 1 },
      ]);
      const g = claimed.find((j) => j.group === 'G') as ClaimedJob;
      await store.jobFinishMany({ finishes: [{ id: g.id, leaseToken: g.leaseToken, outcome: 'released' }] });
      await complete(
        store,
        claimed.filter((j) => j.group === 'H'),
      );
      await store.jobCancel({ id: (jobs[1] as NewJob).id });
      await store.groupSetWeight({ group: 'W', weight: 3 });
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'G', weight: 1, queued: 1, running: 0 },
        { group: 'W', weight: 3, queued: 0, running: 0 },
      ]);
      expect(await store.groupList({ limit: 10, after: 'G' })).toEqual([
        { group: 'W', weight: 3, queued: 0, running: 0 },
      ]);
      expect(await store.groupList({ limit: 10, running: true })).toEqual([]);
    });

    it('cancels and retries grouped jobs in bulk like any other', async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      await insertGroup(store, groups, 3, 'G', { queue: 'bulk' });
      await store.jobInsertMany({ jobs: [newJob({ queue: 'bulk' })] });
      expect(await store.jobCancelMatching({ match: { queue: 'bulk' }, limit: 100 })).toMatchObject({
        cancelled: 4,
      });
      expect(await store.groupList({ limit: 10 })).toEqual([]);
      await store.jobRetryMatching({ match: { queue: 'bulk', state: 'cancelled' }, limit: 100 });
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'G', weight: 1, queued: 3, running: 0 },
      ]);
      expect(count(await claimGroups(store, groups, 10, ['bulk']))).toEqual({ G: 3, ungrouped: 1 });
    });

    it('hands each grouped job to one of two stores claiming at once', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      const groups = new Map<string, string>();
      for (let g = 0; g < 50; g += 1) await insertGroup(store, groups, 8, `g${g}`);
      const seen = new Set<string>();
      for (let round = 0; round < 40 && seen.size < 400; round += 1) {
        const batches = await Promise.all(
          [store, peer].map((s) => s.jobClaim({ workerId: 'w', limit: 25, ...LEASE })),
        );
        for (const job of batches.flat()) {
          expect(seen.has(job.id)).toBe(false);
          seen.add(job.id);
        }
      }
      expect(seen.size).toBe(400);
    }, 60_000);
  });

  describe('fair claiming of grouped jobs that require labels', () => {
    it('claims them only for a worker offering every label, from every queue or named ones', async () => {
      const store = await h.open();
      const plain = newJob({ group: 'G', queue: 'a' });
      const gpu = newJob({ group: 'G', queue: 'a', requires: ['gpu'] });
      const euGpu = newJob({ group: 'H', queue: 'b', requires: ['gpu', 'region:eu'] });
      const us = newJob({ group: 'H', queue: 'b', requires: ['region:us'] });
      await store.jobInsertMany({ jobs: [plain, gpu, euGpu, us] });
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'G', weight: 1, queued: 2, running: 0 },
        { group: 'H', weight: 1, queued: 2, running: 0 },
      ]);
      // A worker without labels, or with labels none of them meet, takes only the plain one.
      const claim = (params: Partial<JobClaimParams>): Promise<ClaimedJob[]> =>
        store.jobClaim({ workerId: 'w', limit: 10, ...LEASE, ...params });
      expect(await claim({ labels: ['region:eu'], queues: ['b'] })).toEqual([]);
      expect(ids(await claim({ queues: ['a', 'b'] }))).toEqual([plain.id]);
      expect(await claim({})).toEqual([]);
      expect(await claim({ labels: ['region:eu'] })).toEqual([]);
      const both = await claim({ labels: ['gpu', 'region:eu', 'x'], queues: ['a', 'b'] });
      expect(ids(both)).toEqual(ids([gpu, euGpu]));
      expect(both.find((j) => j.id === euGpu.id)).toMatchObject({
        group: 'H',
        requires: ['gpu', 'region:eu'],
      });
      // The one nobody offers waits, counted under its reason (a live worker claims from its queue),
      // and goes to a worker offering it.
      await store.workerRegister({
        id: 'w-b',
        ...{
          host: 'h',
          pid: 1,
          queues: ['b'],
          labels: [],
          tasks: [],
          concurrency: 1,
          running: 0,
          staleMs: 30_000,
        },
      });
      expect((await store.queueBacklog({ workerStaleMs: 30_000 })).throttled).toEqual([
        { queue: 'b', reason: 'labels', count: 1 },
      ]);
      expect(ids(await claim({ labels: ['region:us'] }))).toEqual([us.id]);
      expect(await store.groupList({ limit: 10, running: true })).toEqual([
        { group: 'G', weight: 1, queued: 0, running: 2 },
        { group: 'H', weight: 1, queued: 0, running: 2 },
      ]);
    });

    it('starts all 20 of B’s labelled jobs within 4 claims of 10 behind A’s 2,000, weighted turns kept', async () => {
      const store = await h.open();
      const groups = new Map<string, string>();
      // A and B require different sets, both met: the turns go round the pairs of both.
      await insertGroup(store, groups, 2_000, 'A', { requires: ['gpu'] });
      await insertGroup(store, groups, 20, 'B', { requires: ['gpu', 'region:eu'] });
      const labels = ['gpu', 'region:eu'];
      // Nothing for a worker without the labels, nor for one lacking region:eu (A only).
      expect(await claimGroups(store, groups, 10)).toEqual([]);
      // The same bound as behind A's plain backlog: B gets 5 of every 10 places, so 20 in 4 claims.
      for (let round = 0; round < 4; round += 1) {
        expect(count(await claimGroups(store, groups, 10, undefined, labels))).toEqual({ A: 5, B: 5 });
      }
      expect(count(await claimGroups(store, groups, 10, undefined, ['gpu']))).toEqual({ A: 10 });
      // Weights share labelled turns too: with B drained, C (plain) of weight 2 beside A.
      await insertGroup(store, groups, 100, 'C');
      await store.groupSetWeight({ group: 'C', weight: 2 });
      const shares = { A: 0, C: 0 };
      for (let round = 0; round < 5; round += 1) {
        for (const g of await claimGroups(store, groups, 6, ['default'], labels)) shares[g as 'A' | 'C'] += 1;
      }
      expect(shares).toEqual({ A: 10, C: 20 });
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'A', weight: 1, queued: 2_000 - 40, running: 40 },
        { group: 'B', weight: 1, queued: 0, running: 20 },
        { group: 'C', weight: 2, queued: 80, running: 20 },
      ]);
    }, 60_000);

    it('mixes jobs with and without requirements in one group, in claim order for each worker', async () => {
      const store = await h.open();
      const now = await nowMs(store);
      const at = (ms: number): Date => new Date(now - ms);
      const plainLow = newJob({ group: 'G', priority: 1, runAt: at(9_000) });
      const gpuHigh = newJob({ group: 'G', priority: 9, runAt: at(1_000), requires: ['gpu'] });
      const plainMid = newJob({ group: 'G', priority: 5, runAt: at(5_000) });
      const gpuMid = newJob({ group: 'G', priority: 5, runAt: at(6_000), requires: ['gpu'] });
      const other = [newJob({ group: 'H' }), newJob({ group: 'H' }), newJob({ group: 'H' })];
      await store.jobInsertMany({ jobs: [plainLow, gpuHigh, plainMid, gpuMid, ...other] });
      // A worker without labels: G's plain jobs only, by priority, in turns with H.
      const first = await store.jobClaim({ workerId: 'w', limit: 2, ...LEASE });
      expect(ids(first)).toContain(plainMid.id);
      expect(first.map((j) => j.group).sort()).toEqual(['G', 'H']);
      // A worker with the label: G's next jobs are its best of either kind (gpuHigh, then gpuMid over
      // plainLow), two turns for each group over four places.
      const second = await store.jobClaim({ workerId: 'w', limit: 4, labels: ['gpu'], ...LEASE });
      expect(ids(second.filter((j) => j.group === 'G'))).toEqual(ids([gpuHigh, gpuMid]));
      expect(second.filter((j) => j.group === 'H')).toHaveLength(2);
      // Only the plain one is left for the worker without labels.
      expect(ids(await store.jobClaim({ workerId: 'w', limit: 5, ...LEASE }))).toEqual([plainLow.id]);
      expect(await store.groupList({ limit: 10 })).toEqual([
        { group: 'G', weight: 1, queued: 0, running: 4 },
        { group: 'H', weight: 1, queued: 0, running: 3 },
      ]);
    });

    it('cancels, releases and retries labelled grouped jobs, keeping group and requirements', async () => {
      const store = await h.open();
      const kept = newJob({ group: 'G', requires: ['gpu'] });
      const cancelled = newJob({ group: 'G', requires: ['gpu'] });
      await store.jobInsertMany({ jobs: [kept, cancelled] });
      await store.jobCancel({ id: cancelled.id });
      const [claimed] = await store.jobClaim({ workerId: 'w', limit: 5, labels: ['gpu'], ...LEASE });
      expect(claimed?.id).toBe(kept.id);
      await store.jobFinishMany({
        finishes: [{ id: claimed?.id ?? '', leaseToken: claimed?.leaseToken ?? '', outcome: 'released' }],
      });
      expect(await store.jobClaim({ workerId: 'w', limit: 5, ...LEASE })).toEqual([]);
      await store.jobRetryMatching({ match: { state: 'cancelled' }, limit: 10 });
      const again = await store.jobClaim({ workerId: 'w', limit: 5, labels: ['gpu'], ...LEASE });
      expect(ids(again)).toEqual(ids([kept, cancelled]));
      expect(again.every((j) => j.group === 'G' && j.requires.join() === 'gpu')).toBe(true);
    });

    it('hands each job to one claimer when a worker without labels and one with claim at once', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      const groups = new Map<string, string>();
      // Each group has plain jobs both may take and labelled ones only the labelled worker may.
      const labelled = new Set<string>();
      for (let g = 0; g < 30; g += 1) {
        await insertGroup(store, groups, 6, `g${g}`);
        for (const job of await insertGroup(store, groups, 6, `g${g}`, { requires: ['gpu'] }))
          labelled.add(job.id);
      }
      const seen = new Set<string>();
      for (let round = 0; round < 40 && seen.size < 360; round += 1) {
        const [plain, gpu] = await Promise.all([
          store.jobClaim({ workerId: 'plain', limit: 20, ...LEASE }),
          peer.jobClaim({ workerId: 'gpu', limit: 20, labels: ['gpu'], ...LEASE }),
        ]);
        for (const job of plain) {
          expect(labelled.has(job.id)).toBe(false);
          expect(seen.has(job.id)).toBe(false);
          seen.add(job.id);
        }
        for (const job of gpu) {
          expect(seen.has(job.id)).toBe(false);
          seen.add(job.id);
        }
      }
      expect(seen.size).toBe(360);
    }, 60_000);
  });
}
