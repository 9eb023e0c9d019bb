import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { NightshiftError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempSqliteFile, type TempSqliteFile } from '../support/temp-sqlite.js';
import { BACKEND, FAST_WORKER } from './engine-harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// SQLite only: another process holding the write lock is the outage we can cause for real here.
describe.skipIf(BACKEND !== 'sqlite')('store outage and recovery (SQLite write lock)', () => {
  // 0: no bound, as a timeout of 0 is none. It gave up at the first failed call.
  it.for([{ maxStoreDownMs: 60_000 }, { maxStoreDownMs: 0 }])(
    'keeps retrying while another process holds the write lock, then carries on without a restart (maxStoreDownMs: $maxStoreDownMs)',
    async ({ maxStoreDownMs }) => {
      const file: TempSqliteFile = tempSqliteFile();
      cleanups.push(() => file.remove());
      // A short lock-retry bound so the lock surfaces as store errors instead of being waited out inside.
      const store = await SqliteStore.open({ filename: file.path, busyRetryMs: 50 });
      cleanups.push(() => store.close());
      const ns = await Nightshift.connect({
        db: store,
        tasks: { t: (n: number) => n + 1 },
        logger: createLogger({ level: 'silent' }),
      });
      cleanups.push(() => ns.close({ force: true }));
      const { id } = await ns.enqueue('t', 1);

      const other = new Database(file.path);
      cleanups.push(() => void other.close());
      other.exec('BEGIN EXCLUSIVE');
      const sources: string[] = [];
      const errorsSeen = new Promise<void>((resolve) =>
        ns.events.on('store:error', (e) => {
          sources.push(e.source);
          if (sources.length >= 3) resolve();
        }),
      );
      let fatal = false;
      ns.events.on('worker:fatal', () => (fatal = true));
      const worker = ns.startWorker({ ...FAST_WORKER, maxStoreDownMs });
      // Fails at once should the worker give up instead.
      await Promise.race([errorsSeen, worker.failed]);
      expect((await ns.getJob(id))?.state).toBe('queued');

      other.exec('COMMIT');
      const done = await ns.waitFor(id, { timeoutMs: 15_000 });
      expect(done).toMatchObject({ state: 'completed', result: 2, attempt: 1 });
      expect(sources).toContain('claim');
      expect(fatal).toBe(false);
      await worker.stop();
      await expect(worker.failed).resolves.toBeUndefined();
    },
  );

  it('fails the worker when a store call stays unanswered past maxStoreDownMs', async () => {
    const file: TempSqliteFile = tempSqliteFile();
    cleanups.push(() => file.remove());
    // The store waits out the lock for a minute without an error: to the worker, a call that hangs.
    const store = await SqliteStore.open({ filename: file.path, busyRetryMs: 60_000 });
    cleanups.push(() => store.close());
    const ns = await Nightshift.connect({ db: store, tasks: {}, logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => ns.close({ force: true }));
    const other = new Database(file.path);
    cleanups.push(() => void other.close());
    other.exec('BEGIN EXCLUSIVE');
    // Released in cleanup, so the store's own wait ends and the store can close.
    cleanups.push(() => void other.exec('COMMIT'));
    const worker = ns.startWorker({ ...FAST_WORKER, maxStoreDownMs: 300 });
    const error = (await worker.failed.catch((e: unknown) => e)) as NightshiftError;
    expect(error.code).toBe('database_unavailable');
    expect(error.message).toMatch(/claim unanswered/);
  });
});
