/**
 * When the claim lanes claim (src/worker/wakeup.ts, claim-loop.ts): after a claim that found the queues
 * drained, a worker claims again for new work, not for every slot its jobs free (under steady small
 * batches that made three claims in four come back empty); a job a limit held back still starts as soon
 * as the job holding its slot finishes, and a delayed job or a retry at its due time, without waiting
 * for the poll.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimReport } from '../../src/store/store.js';
import { waitUntil } from '../support/wait-until.js';
import { countClaims, engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();

// Longer than every wait below: a job these tests see start was started by a wake, not by the poll.
const NO_POLL = { ...FAST_WORKER, pollIntervalMs: 60_000 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('claim wakes', () => {
  it('claims about once per batch of new work, not once per freed slot', async () => {
    const ns = await env.connect({ tasks: { tick: () => undefined } });
    const counts = countClaims(ns.store);
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    const batches = 40;
    for (let batch = 0; batch < batches; batch += 1) {
      await ns.enqueueMany(Array.from({ length: 10 }, (_, n) => ({ task: 'tick', payload: { batch, n } })));
      await sleep(15);
    }
    await waitUntil(() => completed === batches * 10, {
      message: () => `${completed} of ${batches * 10} completed`,
    });
    // Before: both lanes claimed on every event and again on every freed slot and written outcome,
    // about four claims per batch, three of them empty.
    expect(counts.empty).toBeLessThanOrEqual(batches / 4);
    expect(counts.calls).toBeLessThanOrEqual(batches * 1.5);
  });

  it('starts jobs their concurrency key held back as the holder finishes, without the poll', async () => {
    const ns = await env.connect({ tasks: { sync: () => sleep(20) } });
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    for (let n = 0; n < 4; n += 1) {
      await ns.enqueue('sync', { n }, { concurrencyKey: 'tenant:a', concurrencyLimit: 1 });
    }
    await waitUntil(() => completed === 4, {
      timeoutMs: 10_000,
      message: () => `${completed} of 4 completed`,
    });
  });

  it('starts a job its key held back when its own keyed job finishes, even if no claim reported a limit', async () => {
    // A claim that finds a key full skips its jobs before the store sees them, so a claim made long
    // after the holder started (past the window after a claim met limits) reports none: the running
    // keyed job is what says a finish will free a slot. Reports are blanked here to stand for that.
    const release = { open: (): void => undefined };
    const gate = new Promise<void>((resolve) => (release.open = resolve));
    let started = 0;
    const ns = await env.connect({
      tasks: {
        sync: ({ first }: { first: boolean }) => {
          started += 1;
          return first ? gate : undefined;
        },
      },
    });
    const claim = ns.store.jobClaim.bind(ns.store);
    ns.store.jobClaim = (params) =>
      claim({ ...params, report: (report) => params.report?.({ ...report, limitsMet: false }) });
    const keyed = { concurrencyKey: 'tenant:a', concurrencyLimit: 1 };
    const first = await ns.enqueue('sync', { first: true }, keyed);
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    await waitUntil(() => started === 1, { message: 'the first keyed job started' });
    const second = await ns.enqueue('sync', { first: false }, keyed);
    await sleep(200); // its work wake's claim found the key full
    expect((await ns.getJob(second.id))?.state).toBe('queued');
    release.open();
    await ns.waitFor(first.id, { timeoutMs: 5_000 });
    expect((await ns.waitFor(second.id, { timeoutMs: 5_000 })).state).toBe('completed');
  });

  it("starts a job another process's keyed job held back as that job finishes, without the poll", async () => {
    // Two instances stand for two processes; each worker serves its own queue, so only B can run
    // B's job, and only a wake from A's finish (B holds no keyed job, and its claims that found the
    // key full report no limit) can make B claim it before the poll.
    const release = { open: (): void => undefined };
    const gate = new Promise<void>((resolve) => (release.open = resolve));
    const a = await env.connect({ tasks: { sync: () => gate } });
    const b = await env.connectPeer(a, { tasks: { sync: () => undefined } });
    const keyed = { concurrencyKey: 'tenant:a', concurrencyLimit: 1 };
    const first = await a.enqueue('sync', null, { ...keyed, queue: 'a' });
    a.startWorker({ ...NO_POLL, queues: ['a'] });
    await waitUntil(async () => (await a.getJob(first.id))?.state === 'running', {
      message: "A's keyed job started",
    });
    b.startWorker({ ...NO_POLL, queues: ['b'] });
    const second = await b.enqueue('sync', null, { ...keyed, queue: 'b' });
    await sleep(300); // B's work wake's claim found the key full
    expect((await b.getJob(second.id))?.state).toBe('queued');
    const freedAt = Date.now();
    release.open();
    expect((await b.waitFor(second.id, { timeoutMs: 5_000 })).state).toBe('completed');
    expect(Date.now() - freedAt).toBeLessThan(3_000);
  });

  it('starts jobs their queue limit held back as a running one finishes, without the poll', async () => {
    const ns = await env.connect({ tasks: { send: () => sleep(20) } });
    await ns.setQueueLimit('mail', 1);
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    await ns.enqueueMany(
      Array.from({ length: 4 }, (_, n) => ({ task: 'send', payload: { n }, options: { queue: 'mail' } })),
    );
    await waitUntil(() => completed === 4, {
      timeoutMs: 10_000,
      message: () => `${completed} of 4 completed`,
    });
  });

  it('starts grouped jobs its claims left ready (turns outnumbering the jobs dealt), not at the next poll', async () => {
    // 60 groups of one job, weight 10 each: a claim deals 10 turns to a group, fills one place with
    // them, and after its last deal comes back short with groups still ready. Before, the worker then
    // waited for new work or the poll.
    const ns = await env.connect({ tasks: { tick: () => undefined } });
    let completed = 0;
    ns.events.on('job:completed', () => {
      completed += 1;
    });
    for (let n = 0; n < 60; n += 1) await ns.setGroupWeight(`heavy-${n}`, 10);
    await ns.enqueueMany(
      Array.from({ length: 60 }, (_, n) => ({
        task: 'tick',
        payload: { n },
        options: { group: `heavy-${n}` },
      })),
    );
    ns.startWorker({ ...NO_POLL, concurrency: 50 });
    await waitUntil(() => completed === 60, {
      timeoutMs: 10_000,
      message: () => `${completed} of 60 completed`,
    });
  });

  it('starts delayed jobs and retries at their due time, not at the next poll', async () => {
    let attempts = 0;
    const ns = await env.connect({
      tasks: {
        later: () => undefined,
        flaky: () => {
          attempts += 1;
          if (attempts === 1) throw new Error('once');
        },
      },
    });
    const completedAt = new Map<string, number>();
    ns.events.on('job:completed', ({ jobId }) => completedAt.set(jobId, Date.now()));
    ns.startWorker({ ...NO_POLL, concurrency: 10 });
    await sleep(100); // the worker's first claims found nothing: it waits for work or the poll
    const enqueuedAt = Date.now();
    const soon = await ns.enqueue('later', null, { delayMs: 300 });
    const later = await ns.enqueue('later', null, { delayMs: 700 });
    const retried = await ns.enqueue('flaky', null, { maxAttempts: 2 });
    await waitUntil(() => completedAt.size === 3, { message: () => `${completedAt.size} of 3 completed` });
    const waited = (id: string): number => (completedAt.get(id) ?? Infinity) - enqueuedAt;
    // Not before their time (the database's clock and this one agree within a few ms here), and well
    // before the 60 s poll.
    expect(waited(soon.id)).toBeGreaterThanOrEqual(280);
    expect(waited(soon.id)).toBeLessThan(3_000);
    expect(waited(later.id)).toBeGreaterThanOrEqual(680);
    expect(waited(later.id)).toBeLessThan(3_500);
    expect(waited(retried.id)).toBeLessThan(5_000);
  });

  // After the worker's first claims found nothing, the second lane claims beside the first and may be
  // the one whose claim reports the rate's next start, with no room left to claim when it comes.
  it.each([
    ['before', 0],
    ['after', 100],
  ])(
    'starts the jobs a rate held back as the rate allows, not at the next poll (enqueued %s the first claims)',
    async (_, enqueueAfterMs) => {
      const ns = await env.connect({ tasks: { call: () => undefined } });
      // A burst of 4, then one start every 100 ms: 12 jobs take about 0.8 s.
      await ns.setQueueRate('api', { limit: 4, periodMs: 400 });
      await ns.setConcurrencyRate('tenant:a', { limit: 4, periodMs: 400 });
      let completed = 0;
      ns.events.on('job:completed', () => {
        completed += 1;
      });
      ns.startWorker({ ...NO_POLL, concurrency: 10 });
      await sleep(enqueueAfterMs);
      await ns.enqueueMany([
        ...Array.from({ length: 12 }, (_, n) => ({
          task: 'call',
          payload: { n },
          options: { queue: 'api' },
        })),
        ...Array.from({ length: 12 }, (_, n) => ({
          task: 'call',
          payload: { n },
          options: { concurrencyKey: 'tenant:a', concurrencyLimit: 10 },
        })),
      ]);
      // Before: the first burst started, the rest waited for the 60 s poll.
      await waitUntil(() => completed === 24, {
        timeoutMs: 10_000,
        message: () => `${completed} of 24 completed`,
      });
    },
  );

  it('reports when a rate allows starts again after a short claim', async () => {
    const ns = await env.connect({ tasks: { call: () => undefined } });
    await ns.setQueueRate('api', { limit: 2, periodMs: 2_000 });
    const reports: ClaimReport[] = [];
    const claim = (queues?: string[]) =>
      ns.store.jobClaim({
        workerId: 'w',
        limit: 10,
        leaseMs: 30_000,
        ...(queues && { queues }),
        report: (report) => reports.push(report),
      });
    await ns.enqueueMany(
      Array.from({ length: 5 }, (_, n) => ({ task: 'call', payload: { n }, options: { queue: 'api' } })),
    );
    // The burst of 2, then the next start 1 s after the rate's first start.
    expect(await claim(['api'])).toHaveLength(2);
    for (const queues of [['api'], undefined]) {
      const { limitsMet, nextDueInMs } = reports.at(-1) ?? {};
      expect(limitsMet).toBe(true);
      expect(nextDueInMs).toBeGreaterThan(500);
      expect(nextDueInMs).toBeLessThanOrEqual(1_000);
      expect(await claim(queues)).toHaveLength(0);
    }
    // Another queue's claim does not wait for this queue's rate.
    expect(await claim(['other'])).toHaveLength(0);
    expect(reports.at(-1)?.nextDueInMs).toBeNull();
  });

  it('reports when the next scheduled job is due after a short claim, and nothing after a full one', async () => {
    const ns = await env.connect({ tasks: { later: () => undefined } });
    const reports: ClaimReport[] = [];
    const claim = (limit: number, queues?: string[]) =>
      ns.store.jobClaim({
        workerId: 'w',
        limit,
        leaseMs: 30_000,
        ...(queues && { queues }),
        report: (report) => reports.push(report),
      });
    expect(await claim(10)).toEqual([]);
    expect(reports.at(-1)).toEqual({ limitsMet: false, nextDueInMs: null });
    await ns.enqueue('later', null, { delayMs: 5_000, queue: 'mail' });
    await ns.enqueue('later', null, { queue: 'mail' });
    await ns.enqueue('later', null, { queue: 'mail' });
    expect(await claim(1)).toHaveLength(1);
    expect(reports.at(-1)).toEqual({ limitsMet: false, nextDueInMs: null });
    for (const queues of [undefined, ['mail']]) {
      expect(await claim(10, queues)).toHaveLength(queues === undefined ? 1 : 0);
      const { nextDueInMs } = reports.at(-1) ?? {};
      expect(nextDueInMs).toBeGreaterThan(3_000);
      expect(nextDueInMs).toBeLessThanOrEqual(5_000);
    }
  });
});
