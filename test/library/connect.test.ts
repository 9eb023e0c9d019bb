import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { NightshiftError } from '../../src/errors.js';
import { freshStore } from '../support/fresh-store.js';
import { tempSqliteFile, type TempSqliteFile } from '../support/temp-sqlite.js';
import { installShutdownSignals } from '../../src/worker/signals.js';
import { FAST_WORKER } from '../worker/engine-harness.js';

const logger = createLogger({ level: 'silent' });
const files: TempSqliteFile[] = [];
afterEach(() => {
  for (const file of files.splice(0)) file.remove();
});

function tempUrl(): string {
  const file = tempSqliteFile();
  files.push(file);
  return `sqlite:${file.path}`;
}

describe('Nightshift.connect by URL', () => {
  it('opens and migrates the database, runs jobs, and close() stops workers and closes the store', async () => {
    const url = tempUrl();
    const ns = await Nightshift.connect({ db: url, tasks: { echo: (p: unknown) => p }, logger });
    const { id } = await ns.enqueue('echo', { hello: 'world' });
    const worker = ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ result: { hello: 'world' } });
    await ns.close();
    await expect(worker.failed).resolves.toBeUndefined();
    await expect(ns.store.jobGet({ id })).rejects.toThrow();
    await expect(ns.enqueue('echo', {})).rejects.toMatchObject({ code: 'invalid_argument' });

    // The job survived the close: a new instance on the same file reads it back.
    const again = await Nightshift.connect({ db: url, tasks: {}, migrate: false, logger });
    expect(await again.getJob(id)).toMatchObject({ state: 'completed', result: { hello: 'world' } });
    await again.close();
  });

  it('rejects bad task definitions and worker options before anything runs', async () => {
    await expect(
      Nightshift.connect({ db: tempUrl(), tasks: { bad: { handler: () => null, maxAttempts: 0 } }, logger }),
    ).rejects.toBeInstanceOf(NightshiftError);
    const ns = await Nightshift.connect({ db: tempUrl(), tasks: {}, logger });
    try {
      expect(() => ns.startWorker({ concurrency: 0 })).toThrow(/concurrency/);
      expect(() => ns.startWorker({ queues: [] })).toThrow(/queues/);
    } finally {
      await ns.close();
    }
  });
});

describe('Nightshift.connect with migrate: false', () => {
  // It connected, and the first enqueue failed as `internal`: "no such table: jobs" on SQLite,
  // 'schema "nightshift" does not exist' on PostgreSQL.
  it('refuses a database URL nightshift never created, naming the command that creates it', async () => {
    const file = tempSqliteFile();
    files.push(file);
    const url = `sqlite:${file.path}`;
    const refused = Nightshift.connect({ db: url, tasks: {}, migrate: false, logger });
    await expect(refused).rejects.toMatchObject({ code: 'not_found' });
    await expect(refused).rejects.toThrow(`no nightshift database at ${url}`);
    await expect(refused).rejects.toThrow(`nightshift migrate --db ${url}`);
    expect(existsSync(file.path)).toBe(false);
  });

  it.each(['sqlite', 'postgres'] as const)('refuses an open %s store without its tables', async (backend) => {
    const cleanups: Array<() => Promise<void> | void> = [];
    try {
      const store = await freshStore(backend, 'connect_unmigrated', cleanups);
      const refused = Nightshift.connect({ db: store, tasks: {}, migrate: false, logger });
      await expect(refused).rejects.toMatchObject({ code: 'not_found' });
      await expect(refused).rejects.toThrow(/holds no nightshift database: migrate it first/);
      await store.migrate();
      const ns = await Nightshift.connect({
        db: store,
        tasks: { echo: (p: unknown) => p },
        migrate: false,
        logger,
      });
      expect((await ns.enqueue('echo', 1)).created).toBe(true);
      await ns.close();
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
  });
});

describe('Nightshift.connect options of the wrong type', () => {
  // Each was taken before: `migrate: 'no'` migrated (a truthy string), `tasks: 42` registered no task,
  // and `logger: { level }` connected and failed at the first worker's first log line.
  it.each([
    ['migrate', { migrate: 'no' }, 'invalid_argument', /migrate must be true or false, got "no"/],
    ['tasks', { tasks: 42 }, 'config_error', /"tasks" must be an object of task name to handler/],
    ['tasks as a list', { tasks: [() => null] }, 'config_error', /"tasks" must be an object/],
    [
      'logger',
      { logger: { level: 'silent' } },
      'invalid_argument',
      /logger must be a pino logger \(no child,/,
    ],
  ])('refuses %s before the database is created', async (_name, options, code, message) => {
    const file = tempSqliteFile();
    files.push(file);
    const error = await Nightshift.connect({
      db: `sqlite:${file.path}`,
      logger,
      ...(options as object),
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NightshiftError);
    expect((error as NightshiftError).code).toBe(code);
    expect((error as NightshiftError).message).toMatch(message);
    expect(existsSync(file.path)).toBe(false);
  });

  it('the API server and the shutdown signals refuse a logger that cannot log', async () => {
    const ns = await Nightshift.connect({ db: tempUrl(), tasks: {}, logger });
    const sigtermListeners = process.listenerCount('SIGTERM');
    try {
      const refused = createApiServer({ ns, logger: { info() {} } as never });
      await expect(refused).rejects.toThrow(
        /logger must be a pino logger \(no child, trace, debug, warn, error, fatal/,
      );
      await expect(refused).rejects.toHaveProperty('code', 'config_error');
      expect(() => installShutdownSignals(ns, { logger: 'console' as never })).toThrow(
        /logger must be a pino logger/,
      );
      expect(process.listenerCount('SIGTERM')).toBe(sigtermListeners);
      // A pino logger passes.
      const server = await createApiServer({ ns, logger });
      await server.close();
    } finally {
      await ns.close();
    }
  });
});
