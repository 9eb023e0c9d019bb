/**
 * The morning batch (examples/morning-batch) in real worker processes that are killed, stopped and
 * paused, on both backends:
 * - kill -9 at random points, four times: the batch finishes; its message jobs are exactly the
 *   orders (none missing, none twice); after every kill the committed children equal the committed
 *   checkpoint (RELIABILITY 22: both or neither); each re-run starts at the last checkpoint, so only
 *   the chunk in flight is read again (RELIABILITY 21).
 * - SIGTERM: released within the grace period without spending the attempt, resumed by another worker
 *   from its checkpoint (RELIABILITY 8); a second SIGTERM forces the release at once.
 * - SIGSTOP past the lease: another worker takes over; after SIGCONT the paused attempt's writes are
 *   refused and the other worker's result stands (RELIABILITY 3 and 21's fenced checkpoint).
 * - Two workers publishing messages, three kills: every message published exactly once, every job
 *   completed, attempts equal to run rows (RELIABILITY 1, shortened; 22 for the outbox).
 *
 * Sizes are smaller than the example's 100,000 orders to keep each test well under a minute:
 * PostgreSQL pays a round trip per child insert.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Nightshift } from '../../src/nightshift.js';
import { orderAt } from '../../examples/morning-batch/orders.js';
import { createOutbox, readOutbox } from '../../examples/morning-batch/outbox.js';
import { morningBatchTasks, type MorningBatchCheckpoint } from '../../examples/morning-batch/tasks.js';
import { startChild, type Child } from '../support/child-process.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS, longJobEnv, type BackendName, type TestDb } from './backends.js';

const env = longJobEnv();
const RUN = new URL('../../examples/morning-batch/run.ts', import.meta.url);
const SIZES: Record<BackendName, { orders: number; chunk: number }> = {
  sqlite: { orders: 20_000, chunk: 500 },
  postgres: { orders: 2_000, chunk: 100 },
};
// Each chunk's simulated shop-database read: it makes the batch last long enough (SQLite writes 20,000
// children in well under a second) for kills and signals to land mid-batch.
const READ_MS = '60';
// Short leases make kills cheap; PostgreSQL on a shared 2-core machine gets a little more room.
const LEASE: Record<BackendName, string> = { sqlite: '1000', postgres: '3000' };

interface Chunk {
  offset: number;
  attempt: number;
}

/** A fresh database with the batch enqueued, and the paths its workers share. */
async function setup(backend: BackendName, sizes = SIZES[backend]) {
  const db = await env.freshDb(backend);
  const schema = db.schema || 'nightshift';
  const ns = await db.connect({ tasks: morningBatchTasks({ schema }) });
  await createOutbox(ns.store, schema);
  const { id } = await ns.enqueue('orders.morning-batch', {
    totalOrders: sizes.orders,
    chunkSize: sizes.chunk,
  });
  const dir = tempSqliteFile();
  const trace = join(dir.path, '..', 'chunks.jsonl');
  const args = (extra: string[]): string[] => [
    'work',
    ...db.args,
    ...(db.schema ? [] : ['--schema', 'nightshift']),
    '--trace',
    trace,
    '--read-ms',
    READ_MS,
    ...extra,
  ];
  const chunks = (): Chunk[] =>
    existsSync(trace)
      ? readFileSync(trace, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Chunk)
      : [];
  return { db, ns, id, schema, sizes, args, chunks, cleanupDir: dir };
}

/** Starts a worker process; its exit is observed, never thrown at the test. */
function worker(args: string[]): Child & { exit: Promise<number | null> } {
  const child = startChild(RUN, args);
  child.done.catch(() => undefined);
  const exit = new Promise<number | null>((resolve) => child.process.on('exit', (code) => resolve(code)));
  return { ...child, exit };
}

/**
 * SIGSTOPs `child` at a moment it holds no SQLite write lock. A process stopped inside a write
 * transaction keeps the file's lock until it resumes (SQLite has one writer per file), so every other
 * process's writes wait for it: that is the lock-past-the-lease fault (the torture run's), not the
 * paused worker this test is about. On PostgreSQL a stopped process holds only its own rows' locks.
 */
async function pauseOutsideWrite(child: Child, db: TestDb): Promise<void> {
  if (db.backend !== 'sqlite') {
    child.process.kill('SIGSTOP');
    return;
  }
  const probe = new Database(db.url.slice('sqlite:'.length));
  try {
    probe.pragma('busy_timeout = 0');
    for (let tries = 0; ; tries += 1) {
      child.process.kill('SIGSTOP');
      try {
        probe.exec('BEGIN IMMEDIATE; ROLLBACK');
        return;
      } catch (error) {
        if (tries >= 100) throw error;
        child.process.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } finally {
    probe.close();
  }
}

async function checkpointOf(ns: Nightshift, id: string): Promise<number> {
  return ((await ns.getJob(id))?.checkpoint as MorningBatchCheckpoint | undefined)?.offset ?? 0;
}

async function messageJobCount(ns: Nightshift): Promise<number> {
  const counts = await ns.store.jobCountByQueue();
  return counts.filter((c) => c.queue === 'messages').reduce((sum, c) => sum + c.count, 0);
}

/** Every message job's order id, paged through the API. */
async function messageOrderIds(ns: Nightshift): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await ns.listJobs({
      task: 'orders.publish-message',
      limit: 1_000,
      ...(cursor && { cursor }),
    });
    ids.push(...page.jobs.map((job) => (job.payload as { orderId: string }).orderId));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

function expectedOrderIds(total: number): string[] {
  return Array.from({ length: total }, (_, index) => orderAt(index).orderId).sort();
}

describe.each(BACKENDS)('morning batch on %s', (backend) => {
  it('kill -9 four times at random points: finishes, publishes each order once, repeats only the chunk in flight', async () => {
    const { ns, id, sizes, args, chunks } = await setup(backend);
    const kills = 4;
    const checkpointsAtKill: number[] = [];
    for (let kill = 0; kill < kills; kill += 1) {
      const before = chunks().length;
      const target = before + 1 + Math.floor(Math.random() * 3);
      const child = worker(args(['--queues', 'batch', '--lease-ms', LEASE[backend], '--rescue-ms', '200']));
      await waitUntil(() => chunks().length >= target, {
        timeoutMs: 40_000,
        message: `chunk ${target}`,
      }).catch(async (error: unknown) => {
        child.process.kill('SIGKILL');
        throw new Error(
          `${String(error)}; worker said: ${(await child.done.catch((e: unknown) => String(e))).toString()}`,
        );
      });
      child.process.kill('SIGKILL');
      expect(await child.exit).toBe(null);
      // Both or neither: whatever the kill interrupted, the committed children match the checkpoint.
      const checkpoint = await checkpointOf(ns, id);
      expect(await messageJobCount(ns)).toBe(checkpoint);
      checkpointsAtKill.push(checkpoint);
    }
    const last = worker(
      args(['--queues', 'batch', '--lease-ms', LEASE[backend], '--rescue-ms', '200', '--until-done']),
    );
    expect(await last.exit).toBe(0);

    const job = await ns.getJob(id);
    expect(job).toMatchObject({ state: 'completed', result: { published: sizes.orders } });
    expect(job?.attempt).toBe(kills + 1);
    expect((await ns.getJobRuns(id)).map((r) => r.outcome)).toEqual([
      ...Array.from({ length: kills }, () => 'lease_lapsed'),
      'completed',
    ]);
    // The published set equals an uninterrupted run's: every order, each once.
    const published = await messageOrderIds(ns);
    expect(published.length).toBe(sizes.orders);
    expect(published.sort()).toEqual(expectedOrderIds(sizes.orders));

    // Each attempt after a kill starts exactly at the checkpoint committed before that kill.
    const seen = chunks();
    for (let attempt = 2; attempt <= kills + 1; attempt += 1) {
      const first = seen.find((c) => c.attempt === attempt);
      expect(first?.offset).toBe(checkpointsAtKill[attempt - 2]);
    }
    // Only the chunk in flight at a kill is read twice: at most one repeat per kill, none below it.
    const chunkCount = Math.ceil(sizes.orders / sizes.chunk);
    const offsets = new Set(seen.map((c) => c.offset));
    expect(offsets.size).toBe(chunkCount);
    expect(seen.length - chunkCount).toBeLessThanOrEqual(kills);
    for (const offset of offsets) {
      const reads = seen.filter((c) => c.offset === offset).length;
      if (reads > 1) expect(checkpointsAtKill).toContain(offset);
    }
  }, 120_000);

  it('SIGTERM releases the batch within the grace period, attempt unchanged; another worker resumes it; a second SIGTERM forces', async () => {
    const { ns, id, sizes, args, chunks } = await setup(backend);
    // Graceful with no grace left to run: the handler is aborted and stops at the next chunk boundary.
    const a = worker(args(['--queues', 'batch', '--grace-ms', '0']));
    await waitUntil(() => chunks().length >= 2, { timeoutMs: 40_000, message: 'two chunks' });
    const signalledAt = Date.now();
    a.process.kill('SIGTERM');
    expect(await a.exit).toBe(0);
    // Generous bound: the abort grace (2 s) plus writing the release, on a busy machine.
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    const released = await ns.getJob(id);
    expect(released).toMatchObject({ state: 'queued', attempt: 0 });
    const checkpoint = await checkpointOf(ns, id);
    expect(checkpoint).toBeGreaterThan(0);
    expect(await messageJobCount(ns)).toBe(checkpoint);

    // A second worker: the first SIGTERM waits out a long grace, the second releases at once.
    const readBefore = chunks().length;
    const b = worker(args(['--queues', 'batch', '--grace-ms', '60000']));
    await waitUntil(() => chunks().length > readBefore, { timeoutMs: 40_000, message: 'B started' });
    expect(chunks()[readBefore]).toMatchObject({ offset: checkpoint, attempt: 1 });
    b.process.kill('SIGTERM');
    // Signals do not queue: the second is sent once the first was handled.
    await waitUntil(() => b.lines.some((l) => l.includes('shutting down gracefully')), { timeoutMs: 10_000 });
    const forcedAt = Date.now();
    b.process.kill('SIGTERM');
    expect(await b.exit).toBe(0);
    expect(Date.now() - forcedAt).toBeLessThan(15_000);
    expect(await ns.getJob(id)).toMatchObject({ state: 'queued', attempt: 0 });
    const second = await checkpointOf(ns, id);
    expect(second).toBeGreaterThanOrEqual(checkpoint);

    const c = worker(args(['--queues', 'batch', '--until-done']));
    expect(await c.exit).toBe(0);
    expect(await ns.getJob(id)).toMatchObject({ state: 'completed', attempt: 1 });
    expect((await ns.getJobRuns(id)).map((r) => r.outcome)).toEqual(['released', 'released', 'completed']);
    expect((await messageOrderIds(ns)).sort()).toEqual(expectedOrderIds(sizes.orders));
  }, 120_000);

  it('SIGSTOP past the lease: another worker takes over, the paused attempt is refused after SIGCONT', async () => {
    const { db, ns, id, sizes, args, chunks } = await setup(backend);
    const a = worker(args(['--queues', 'batch', '--lease-ms', LEASE[backend], '--rescue-ms', '0']));
    await waitUntil(() => chunks().length >= 2, { timeoutMs: 40_000, message: 'two chunks' });
    await pauseOutsideWrite(a, db);
    try {
      const b = worker(
        args(['--queues', 'batch', '--lease-ms', LEASE[backend], '--rescue-ms', '200', '--until-done']),
      );
      expect(await b.exit).toBe(0);
    } finally {
      a.process.kill('SIGCONT');
    }
    // A wakes up, tries its next chunk or checkpoint, is refused, and goes on living without harm.
    const done = await ns.getJob(id);
    expect(done).toMatchObject({ state: 'completed', attempt: 2, result: { published: sizes.orders } });
    // A learns it lost the job (renewal or a refused write), aborts its handler, and stays up.
    await waitUntil(() => a.lines.some((line) => line.includes('lease lost')), {
      timeoutMs: 15_000,
      message: 'A reports its lost lease',
    });
    expect(a.process.exitCode).toBe(null);
    a.process.kill('SIGTERM');
    expect(await a.exit).toBe(0);
    // B's result stands; nothing A did after the pause committed.
    expect(await ns.getJob(id)).toMatchObject({
      state: 'completed',
      attempt: 2,
      result: { published: sizes.orders },
    });
    expect((await ns.getJobRuns(id)).map((r) => r.outcome)).toEqual(['lease_lapsed', 'completed']);
    const published = await messageOrderIds(ns);
    expect(published.length).toBe(sizes.orders);
    expect(published.sort()).toEqual(expectedOrderIds(sizes.orders));
    expect((await ns.getJob(id))?.checkpoint).toEqual({ offset: sizes.orders });
  }, 120_000);

  it('two workers publishing 200 messages, three kills: each message published exactly once', async () => {
    const { ns, id, schema, args } = await setup(backend, { orders: 200, chunk: 50 });
    const live = [0, 1].map(() => worker(args(['--lease-ms', LEASE[backend], '--rescue-ms', '200'])));
    const outbox = async (): Promise<number> => (await readOutbox(ns.store, schema)).length;
    for (let kill = 0; kill < 3; kill += 1) {
      const target = Math.min(190, (kill + 1) * 40 + Math.floor(Math.random() * 20));
      await waitUntil(async () => (await outbox()) >= target, {
        timeoutMs: 40_000,
        message: `${target} published`,
      });
      const victim = live.shift();
      victim?.process.kill('SIGKILL');
      await victim?.exit;
      live.push(worker(args(['--lease-ms', LEASE[backend], '--rescue-ms', '200'])));
    }
    await waitUntil(
      async () => {
        const counts = await ns.store.jobCountByQueue();
        return (
          counts.every((c) => c.state === 'completed') && counts.reduce((s, c) => s + c.count, 0) === 201
        );
      },
      { timeoutMs: 60_000, message: 'all jobs completed' },
    );
    for (const child of live) {
      // A replacement may still be loading; SIGTERM before its handlers exist would just kill it.
      await waitUntil(() => child.lines.some((l) => l.includes('"working"')), { timeoutMs: 20_000 });
      child.process.kill('SIGTERM');
    }
    for (const child of live) expect(await child.exit).toBe(0);

    expect(await ns.getJob(id)).toMatchObject({ state: 'completed' });
    const messages = await readOutbox(ns.store, schema);
    expect(messages.map((m) => m.orderId).sort()).toEqual(expectedOrderIds(200));
    // Attempt counts equal run-history rows; killed attempts show as lease_lapsed, then one completion.
    const jobs = (await ns.listJobs({ task: 'orders.publish-message', limit: 500 })).jobs;
    expect(jobs).toHaveLength(200);
    for (const job of jobs) {
      const runs = await ns.getJobRuns(job.id);
      expect(runs).toHaveLength(job.attempt);
      expect(runs.at(-1)?.outcome).toBe('completed');
      expect(runs.slice(0, -1).every((r) => r.outcome === 'lease_lapsed')).toBe(true);
      expect(messages.filter((m) => m.jobId === job.id)).toHaveLength(1);
    }
  }, 120_000);
});
