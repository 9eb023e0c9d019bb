/**
 * The scheduler's outage bound, on both backends: a store that stops answering (another connection
 * holds the tables the scheduler writes) or keeps failing (SQLite: a write lock held past the store's
 * retry bound) past `maxStoreDownMs` makes the scheduler give up as a worker does: `scheduler:fatal`,
 * `failed` rejects with `database_unavailable`, and no pass runs after it. The same way the worker's
 * bound is tested in test/worker/store-recovery.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { NightshiftError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../support/postgres-harness.js';
import { tempSqliteFile } from '../support/temp-sqlite.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store, and a way to make it unreachable to the scheduler until cleanup. */
interface Outage {
  store: Store;
  /** Holds the scheduler's tables from another connection (released in cleanup). */
  hold(): Promise<void>;
}

/** SQLite: another connection's exclusive lock, waited out by the store for `busyRetryMs`. */
async function sqliteOutage(busyRetryMs: number): Promise<Outage> {
  const file = tempSqliteFile();
  cleanups.push(() => file.remove());
  const store = await SqliteStore.open({ filename: file.path, busyRetryMs });
  cleanups.push(() => store.close());
  return {
    store,
    hold: () => {
      const other = new Database(file.path);
      cleanups.push(() => void other.close());
      other.exec('BEGIN EXCLUSIVE');
      // Released before the store closes, so the store's own wait ends.
      cleanups.push(() => void other.exec('COMMIT'));
      return Promise.resolve();
    },
  };
}

/** PostgreSQL: another session's ACCESS EXCLUSIVE lock on the schedule tables, which blocks every read. */
async function postgresOutage(): Promise<Outage> {
  const schema = uniqueSchema('schedout');
  cleanups.push(() => dropSchema(schema));
  const store = await PostgresStore.open({ connectionString: TEST_PG_URL, schema });
  cleanups.push(() => store.close());
  return {
    store,
    hold: async () => {
      const other = new pg.Client({ connectionString: TEST_PG_URL });
      await other.connect();
      cleanups.push(() => other.end());
      await other.query('BEGIN');
      await other.query(
        `LOCK TABLE "${schema}".schedules, "${schema}".schedule_slots IN ACCESS EXCLUSIVE MODE`,
      );
      cleanups.push(async () => void (await other.query('COMMIT')));
    },
  };
}

/**
 * From the first fire call answered on, `store.now()` never answers: the database goes silent right
 * after a pass, when the scheduler reads the clock to plan its wait (a connection black-holed between
 * passes), while every call of the pass itself answered.
 */
function silenceClockAfterFirstPass(store: Store): void {
  const now = store.now.bind(store);
  const scheduleFire = store.scheduleFire.bind(store);
  let fired = false;
  store.now = () => (fired ? new Promise<Date>(() => undefined) : now());
  store.scheduleFire = async (params) => {
    const writes = await scheduleFire(params);
    fired = true;
    return writes;
  };
}

/**
 * The config schedule sync never answers: the database goes silent while a scheduler starts (a
 * connection black-holed during start-up), before its first pass.
 */
function silenceSync(store: Store): void {
  store.scheduleSync = () => new Promise(() => undefined);
}

async function connect(store: Store): Promise<{ ns: Nightshift; fatal: Error[] }> {
  const ns = await Nightshift.connect({
    db: store,
    tasks: { report: () => undefined },
    logger: createLogger({ level: 'silent' }),
  });
  cleanups.push(() => ns.close({ force: true, graceMs: 0 }));
  const fatal: Error[] = [];
  ns.events.on('scheduler:fatal', ({ error }) => fatal.push(error));
  await ns.schedules.create({ id: 'minutely', task: 'report', cron: '* * * * *' });
  return { ns, fatal };
}

describe.each([
  { name: 'sqlite', open: () => sqliteOutage(60_000) },
  { name: 'postgres', open: postgresOutage },
])('scheduler outage bound on $name', ({ open }) => {
  it('gives up when a pass stays unanswered past maxStoreDownMs', async () => {
    const outage = await open();
    const { ns, fatal } = await connect(outage.store);
    await outage.hold();
    const scheduler = ns.startScheduler({ pollIntervalMs: 50, maxStoreDownMs: 300 });
    const error = (await scheduler.failed.catch((e: unknown) => e)) as NightshiftError;
    expect(error.code).toBe('database_unavailable');
    expect(error.message).toMatch(/scheduler unanswered/);
    expect(fatal).toEqual([error]);
  });

  it('gives up when the clock read between passes stays unanswered past maxStoreDownMs', async () => {
    const outage = await open();
    const { ns, fatal } = await connect(outage.store);
    silenceClockAfterFirstPass(outage.store);
    const scheduler = ns.startScheduler({ pollIntervalMs: 50, maxStoreDownMs: 300 });
    // Far past the bound: before, the loop waited on the read for good (here; in production until
    // the query timed out, 65 s later), and nothing tripped the bound meanwhile.
    const error = await Promise.race([
      scheduler.failed.catch((e: unknown) => e as NightshiftError),
      sleep(10_000).then(() => 'still running' as const),
    ]);
    expect(error).not.toBe('still running');
    expect((error as NightshiftError).code).toBe('database_unavailable');
    expect((error as NightshiftError).message).toMatch(/scheduler unanswered for more than 300 ms/);
    expect(fatal).toEqual([error]);
  });

  it('gives up when the config schedule sync at start stays unanswered past maxStoreDownMs', async () => {
    const outage = await open();
    const { ns, fatal } = await connect(outage.store);
    silenceSync(outage.store);
    const scheduler = ns.startScheduler({
      schedules: [{ id: 'config-minutely', task: 'report', cron: '* * * * *' }],
      pollIntervalMs: 50,
      maxStoreDownMs: 300,
    });
    // Far past the bound: before, `ready` waited on the sync for good (in production until the query
    // timed out, 65 s later), and neither it nor `failed` settled meanwhile.
    const settled = await Promise.race([
      scheduler.ready.then(
        () => 'ready' as const,
        (e: unknown) => e as NightshiftError,
      ),
      sleep(10_000).then(() => 'still starting' as const),
    ]);
    expect(settled).toBeInstanceOf(Error);
    const error = settled as NightshiftError;
    expect(error.code).toBe('database_unavailable');
    expect(error.message).toMatch(/scheduler unanswered for more than 300 ms/);
    await expect(scheduler.failed).rejects.toBe(error);
    expect(fatal).toEqual([error]);
  });

  it('resolves failed when stopped while the store answers', async () => {
    const outage = await open();
    const { ns, fatal } = await connect(outage.store);
    const scheduler = ns.startScheduler({ pollIntervalMs: 50, maxStoreDownMs: 300 });
    await scheduler.ready;
    await scheduler.stop();
    await expect(scheduler.failed).resolves.toBeUndefined();
    expect(fatal).toEqual([]);
  });
});

describe('scheduler outage bound on sqlite, failing calls', () => {
  it('never gives up with maxStoreDownMs 0: reports each failed pass and keeps passing', async () => {
    const outage = await sqliteOutage(50);
    const { ns, fatal } = await connect(outage.store);
    let failures = 0;
    const manyFailures = new Promise<void>((resolve) =>
      ns.events.on('store:error', () => {
        if (++failures === 5) resolve();
      }),
    );
    await outage.hold();
    // 0: no bound (as a timeout of 0 is none). It gave up at the first failed pass.
    const scheduler = ns.startScheduler({ pollIntervalMs: 50, maxStoreDownMs: 0 });
    // Fails at once if the scheduler gives up instead.
    await Promise.race([manyFailures, scheduler.failed]);
    expect(fatal).toEqual([]);
    await scheduler.stop();
    await expect(scheduler.failed).resolves.toBeUndefined();
    expect(fatal).toEqual([]);
  });

  it('gives up once passes keep failing past maxStoreDownMs, reporting each failure', async () => {
    // A short lock-retry bound: the held lock surfaces as store errors instead of being waited out.
    const outage = await sqliteOutage(50);
    const { ns, fatal } = await connect(outage.store);
    const sources: string[] = [];
    ns.events.on('store:error', ({ source }) => sources.push(source));
    await outage.hold();
    const scheduler = ns.startScheduler({ pollIntervalMs: 50, maxStoreDownMs: 300 });
    const error = (await scheduler.failed.catch((e: unknown) => e)) as NightshiftError;
    expect(error.code).toBe('database_unavailable');
    expect(error.message).toMatch(/store unavailable for more than 300 ms \(last error from scheduler/);
    expect(fatal).toEqual([error]);
    expect(sources.length).toBeGreaterThan(1);
    expect(new Set(sources)).toEqual(new Set(['scheduler']));
  });
});
