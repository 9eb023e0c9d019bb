/**
 * Half-open connections (reliability scenario 14, store side): the server stops answering without
 * closing anything. A query must fail as `database_unavailable` within the statement timeout plus a
 * small margin instead of hanging for the kernel's keepalive minutes, and the store must recover on
 * fresh connections once traffic flows again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { CLOSE_WAIT_MS } from '../../src/store/store.js';
import { createTestDatabase } from '../cli/fixtures.js';
import { expectCode } from '../support/expect-code.js';
import { newJob } from '../support/jobs.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { waitUntil } from '../support/wait-until.js';
import { startBlackholeProxy, type BlackholeProxy } from './blackhole-proxy.js';

const schema = uniqueSchema('halfopen');
let proxy: BlackholeProxy;
let store: PostgresStore;

const target = new URL(TEST_PG_URL);

beforeAll(async () => {
  proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(TEST_PG_URL);
  viaProxy.port = String(proxy.port);
  // A 1 s statement timeout makes the client-side bound 6 s.
  store = await PostgresStore.open({
    connectionString: viaProxy.toString(),
    schema,
    poolSize: 2,
    statementTimeoutMs: 1_000,
  });
  await store.migrate();
});

afterAll(async () => {
  await store.close();
  await proxy.close();
  await dropSchema(schema);
});

/** Runs `close`, which waits for calls that never end: it must give up at CLOSE_WAIT_MS (5 s), not before. */
async function expectEndsAtBound(close: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await close();
  const tookMs = performance.now() - started;
  expect(tookMs).toBeGreaterThanOrEqual(CLOSE_WAIT_MS - 100);
  // What cutting the connections takes.
  expect(tookMs).toBeLessThan(CLOSE_WAIT_MS + 1_000);
}

// The LISTEN test at the end waits ~20 s for a heartbeat, on a proxy of its own: it runs beside these
// (both blocks are concurrent), which share one proxy and so run one at a time (it.sequential).
describe.concurrent('PostgreSQL half-open connections', () => {
  it.sequential(
    'fails a query on a black-holed connection as database_unavailable, then recovers',
    async () => {
      const [before] = await store.jobInsertMany({ jobs: [newJob({ queue: 'half-open' })] });
      expect(before?.created).toBe(true);

      proxy.blackhole(true);
      const error = await store.jobGet({ id: before?.job.id ?? '' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NightshiftError);
      expect((error as NightshiftError).code).toBe('database_unavailable');

      proxy.blackhole(false);
      // The dead connection was discarded; the next calls run on new ones.
      expect((await store.jobGet({ id: before?.job.id ?? '' }))?.queue).toBe('half-open');
      const [after] = await store.jobInsertMany({ jobs: [newJob({ queue: 'half-open' })] });
      expect(after?.created).toBe(true);
    },
    20_000,
  );

  it.sequential(
    'ends a transaction its black-holed client left open, so the job it locked is rescued soon after',
    async () => {
      // A direct store whose own statements wait up to 10 s for a lock, far less than the 60 s default.
      const direct = await PostgresStore.open({
        connectionString: TEST_PG_URL,
        schema,
        poolSize: 2,
        statementTimeoutMs: 10_000,
      });
      try {
        await direct.jobInsertMany({ jobs: [newJob({ queue: 'stranded' })] });
        const [claim] = await direct.jobClaim({
          workerId: 'w',
          queues: ['stranded'],
          limit: 1,
          leaseMs: 500,
        });
        if (!claim) throw new Error('nothing claimed');
        // Through the proxy, a child insert fenced by that attempt locks its job row; then the connection
        // goes silent before COMMIT, as a handler's ctx.enqueue did in the torture run.
        const child = newJob({ queue: 'stranded-child' });
        let blackholed = (): void => undefined;
        const silent = new Promise<void>((resolve) => (blackholed = resolve));
        const stranded = store
          .transaction(async (tx) => {
            await store.jobInsertMany({
              jobs: [child],
              tx,
              fence: { id: claim.id, leaseToken: claim.leaseToken },
            });
            proxy.blackhole(true);
            blackholed();
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        await silent;
        await new Promise((resolve) => setTimeout(resolve, 600));
        // The lease lapsed, but the job's row is held: the rescue passes it over without waiting. The
        // server ends the stranded session 1 s after it went silent (`store`'s statementTimeoutMs),
        // which frees the row, and a later pass rescues the job.
        const started = performance.now();
        expect(await direct.jobRescueLapsed({ limit: 10 })).toEqual({ requeued: [], failed: [] });
        await waitUntil(async () => (await direct.jobRescueLapsed({ limit: 10 })).requeued.length > 0, {
          intervalMs: 100,
        });
        expect(performance.now() - started).toBeLessThan(5_000);
        expect(await direct.jobGet({ id: claim.id })).toMatchObject({ state: 'queued', attempt: 1 });
        proxy.blackhole(false);
        expect(await stranded).toMatchObject({ code: 'database_unavailable' });
        expect(await direct.jobGet({ id: child.id })).toBeUndefined();
      } finally {
        proxy.blackhole(false);
        await direct.close();
      }
    },
    30_000,
  );

  it.sequential(
    'closes within its bound while calls wait on black-holed connections, one still opening, failing them',
    async () => {
      const viaProxy = new URL(TEST_PG_URL);
      viaProxy.port = String(proxy.port);
      // The default statement timeout: a call unanswered ends on its own only after 65 s.
      const closing = await PostgresStore.open({
        connectionString: viaProxy.toString(),
        schema,
        poolSize: 3,
      });
      closing.listen('job:ready', () => undefined);
      await waitUntil(() => closing.crossProcessEventsLive);
      const [job] = await closing.jobInsertMany({ jobs: [newJob({ queue: 'closing' })] });
      proxy.blackhole(true);
      try {
        // At most two connections are open by now (the insert's, and one the event log may have read
        // on): the third call opens one, whose handshake is never answered either.
        const calls = [1, 2, 3].map(() =>
          closing.jobGet({ id: job?.job.id ?? '' }).then(
            () => undefined,
            (e: unknown) => e,
          ),
        );
        // Sent, and waiting for the answer that does not come.
        await new Promise((resolve) => setTimeout(resolve, 300));
        // Before CLOSE_WAIT_MS closing waited for the calls' own 65 s, and then still for a connection
        // opening until its connect timeout (10 s).
        await expectEndsAtBound(() => closing.close());
        for (const error of await Promise.all(calls)) {
          expect(error).toBeInstanceOf(NightshiftError);
          expect((error as NightshiftError).code).toBe('database_unavailable');
        }
      } finally {
        proxy.blackhole(false);
      }
    },
    40_000,
  );

  it.sequential(
    'a worker stopped on a black-holed database stops within grace plus flushTimeoutMs and reports nothing after',
    async () => {
      const viaProxy = new URL(TEST_PG_URL);
      viaProxy.port = String(proxy.port);
      const logger = createLogger({ level: 'silent' });
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const ns = await Nightshift.connect({
        db: await PostgresStore.open({ connectionString: viaProxy.toString(), schema, poolSize: 4, logger }),
        logger,
        tasks: {
          long: (_payload: unknown, ctx: { signal: AbortSignal }) =>
            new Promise((resolve) => {
              started();
              ctx.signal.addEventListener('abort', () => resolve('aborted'));
            }),
        },
      });
      const fatal: unknown[] = [];
      ns.events.on('worker:fatal', (e) => fatal.push(e.error));
      await ns.enqueue('long', null);
      const worker = ns.startWorker({ pollIntervalMs: 50, flushTimeoutMs: 1_000, maxStoreDownMs: 2_000 });
      await running;
      proxy.blackhole(true);
      try {
        const stopping = performance.now();
        await worker.stop({ graceMs: 200 });
        // Grace 0.2 s, then 1 s for every write after it; each wait had its own deadline before.
        expect(performance.now() - stopping).toBeLessThan(4_000);
        // Past maxStoreDownMs for the release it abandoned: a stopped worker gives up on nothing.
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        expect(fatal).toEqual([]);
        await expect(worker.failed).resolves.toBeUndefined();
      } finally {
        proxy.blackhole(false);
        await ns.close();
      }
    },
    40_000,
  );

  it.sequential(
    'a scheduler stopped during a pass the database never answers stops within the grace',
    async () => {
      const viaProxy = new URL(TEST_PG_URL);
      viaProxy.port = String(proxy.port);
      const logger = createLogger({ level: 'silent' });
      const ns = await Nightshift.connect({
        db: await PostgresStore.open({ connectionString: viaProxy.toString(), schema, poolSize: 2, logger }),
        logger,
        tasks: { tick: () => undefined },
      });
      const fatal: unknown[] = [];
      ns.events.on('scheduler:fatal', (e) => fatal.push(e.error));
      const scheduler = ns.startScheduler({ pollIntervalMs: 50, maxStoreDownMs: 2_000 });
      await scheduler.ready;
      proxy.blackhole(true);
      try {
        // Passes every 50 ms: one is waiting on the black-holed connection by now.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const stopping = performance.now();
        await scheduler.stop({ graceMs: 500 });
        // It waited for the pass's statement timeout (65 s) before.
        expect(performance.now() - stopping).toBeLessThan(3_000);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        expect(fatal).toEqual([]);
      } finally {
        proxy.blackhole(false);
      }
      // A second stop (close stops every service) waits for the first, not for another grace (30 s);
      // the pass's connection, still waiting for bytes the proxy swallowed, is cut at 5 s.
      const closing = performance.now();
      await ns.close();
      expect(performance.now() - closing).toBeLessThan(15_000);
    },
    40_000,
  );

  it.sequential(
    'ns.close() with enqueues unanswered by a black-holed database ends within one bound, its own store closed, and fails them',
    async () => {
      // The instance opens its store from a URL (the `nightshift` schema of a database of its own), so
      // its close closes the store too.
      const database = await createTestDatabase();
      const viaProxy = new URL(database.url);
      viaProxy.port = String(proxy.port);
      viaProxy.searchParams.set('pool_size', '2');
      const logger = createLogger({ level: 'silent' });
      try {
        const ns = await Nightshift.connect({
          db: viaProxy.toString(),
          logger,
          tasks: { note: (_payload: string) => undefined },
        });
        const enqueued: string[] = [];
        ns.events.on('job:enqueued', (e) => enqueued.push(e.jobId));
        // Two connections open, so both writes the batcher sends at once are sent, not waiting to connect;
        // and the LISTEN connection up, so closing ends it on the black-holed path too.
        await Promise.all([ns.store.now(), ns.store.now()]);
        ns.store.listen('job:ready', () => undefined);
        await waitUntil(() => ns.store.crossProcessEventsLive);
        proxy.blackhole(true);
        try {
          const first = ns.enqueue('note', 'first in flight');
          await new Promise((resolve) => setTimeout(resolve, 100));
          const second = ns.enqueueMany([{ task: 'note', payload: 'second in flight' }]);
          await new Promise((resolve) => setTimeout(resolve, 100));
          // Both writes are out: this one waits its turn, never sent.
          const waiting = ns.enqueue('note', 'waiting');
          // Their rejections are awaited below, after close.
          for (const call of [first, second, waiting]) call.catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 100));
          // One bound for the writes under way and the store's close together, which cuts the
          // connections those writes still hold. It waited for the inserts' own 65 s once, then 5 s for
          // the writes and 5 s more for the store.
          await expectEndsAtBound(() => ns.close());
          for (const call of [first, second]) {
            await expectCode(
              call,
              'database_unavailable',
              /unanswered for 5000 ms.*unknown whether it was written/,
            );
          }
          await expectCode(waiting, 'database_unavailable', /never sent, nothing was written/);
        } finally {
          proxy.blackhole(false);
        }
        expect(enqueued).toEqual([]);
        const direct = await PostgresStore.open({ connectionString: database.url, poolSize: 1 });
        try {
          const { jobs } = await direct.jobList({ task: 'note', limit: 100 });
          expect(jobs).toEqual([]);
        } finally {
          await direct.close();
        }
      } finally {
        await database.drop();
      }
    },
    40_000,
  );
});

describe.concurrent('PostgreSQL half-open LISTEN connection', () => {
  it('replaces a black-holed LISTEN connection within its heartbeat bound and hears events again', async () => {
    const own = await startBlackholeProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaOwn = new URL(TEST_PG_URL);
    viaOwn.port = String(own.port);
    const listening = await PostgresStore.open({ connectionString: viaOwn.toString(), schema, poolSize: 1 });
    const direct = await PostgresStore.open({ connectionString: TEST_PG_URL, schema, poolSize: 1 });
    const heard: Array<string | null> = [];
    try {
      listening.listen('job:ready', (e) => heard.push(e.queue));
      await waitUntil(() => listening.crossProcessEventsLive);
      await direct.jobInsertMany({ jobs: [newJob({ queue: 'before-hole' })] });
      await waitUntil(() => heard.includes('before-hole'));

      own.blackhole(true);
      // Heartbeat every 15 s, 5 s to answer: the dead connection is dropped within ~20 s.
      await waitUntil(() => !listening.crossProcessEventsLive, { timeoutMs: 30_000, intervalMs: 100 });
      own.blackhole(false);
      await waitUntil(() => listening.crossProcessEventsLive, { timeoutMs: 30_000, intervalMs: 100 });
      await direct.jobInsertMany({ jobs: [newJob({ queue: 'after-hole' })] });
      await waitUntil(() => heard.includes('after-hole'));
    } finally {
      own.blackhole(false);
      await direct.close();
      await listening.close();
      await own.close();
    }
  }, 70_000);
});
