/**
 * A misspelt key in any options object of the library is refused with `invalid_argument` (or
 * `config_error` where a task is declared) naming the key, before anything opens or changes: a
 * JavaScript caller's typo must not quietly change what the call does.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contractJsonSchema, defineContract } from '../../src/contract.js';
import { NightshiftError, type ErrorCode } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { openStore } from '../../src/store/open.js';
import { defineTask } from '../../src/task.js';
import { installShutdownSignals } from '../../src/worker/signals.js';
import { tempSqliteFile, type TempSqliteFile } from '../support/temp-sqlite.js';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER } from '../worker/engine-harness.js';

const env = engineEnv();
const logger = createLogger({ level: 'silent' });
const files: TempSqliteFile[] = [];
afterEach(() => {
  for (const file of files.splice(0)) file.remove();
});

/** One entry point: the call with a misspelt key, and what it must have left unchanged. */
interface Case {
  name: string;
  key: string;
  code?: ErrorCode;
  /** Makes the call; its result or rejection is what the case checks. */
  call(ns: Nightshift): unknown;
  /** Asserts that the refused call changed nothing. */
  unchanged?(ns: Nightshift): Promise<void> | void;
}

const tasks = { t: (payload: unknown) => payload };
const payload = z.object({ to: z.string() });

/** A call that opens the database at a new URL, which a refused call must leave uncreated. */
function unopenedCase(name: string, key: string, open: (url: string) => unknown, code?: ErrorCode): Case {
  let path = '';
  return {
    name,
    key,
    ...(code !== undefined && { code }),
    call: () => {
      const file = tempSqliteFile();
      files.push(file);
      path = file.path;
      return open(`sqlite:${path}`);
    },
    unchanged: () => expect(existsSync(path)).toBe(false),
  };
}

/** `Nightshift.connect` on a new database, with `extra` over the usual options. */
function connectCase(name: string, key: string, extra: Record<string, unknown>, code?: ErrorCode): Case {
  return unopenedCase(name, key, (db) => Nightshift.connect({ db, tasks, logger, ...extra }), code);
}

const cases: Case[] = [
  connectCase('Nightshift.connect', 'stor', { stor: 'sqlite::memory:' }),
  connectCase('Nightshift.connect worker defaults', 'concurency', { worker: { concurency: 1 } }),
  connectCase(
    'Nightshift.connect task definition',
    'retires',
    { tasks: { t: { handler: () => null, retires: 3 } } },
    'config_error',
  ),
  connectCase(
    'Nightshift.connect task backoff',
    'bseMs',
    { tasks: { t: { handler: () => null, backoff: { bseMs: 10 } } } },
    'config_error',
  ),
  unopenedCase('openStore', 'craete', (url) => openStore(url, { craete: false } as never)),
  {
    name: 'startWorker',
    key: 'concurency',
    call: (ns) => ns.startWorker({ ...FAST_WORKER, concurency: 5 } as never),
    unchanged: (ns) => expect(ns.workerSlots()).toEqual({ busy: 0, idle: 0 }),
  },
  {
    name: 'startScheduler',
    key: 'intervl',
    call: (ns) =>
      ns.startScheduler({ schedules: [{ id: 's', task: 't', everyMs: 60_000 }], intervl: 5 } as never),
    unchanged: async (ns) => expect((await ns.schedules.list()).schedules).toEqual([]),
  },
  ...(['stop', 'close'] as const).map((method): Case => ({
    name: `ns.${method}`,
    key: 'grace',
    call: (ns) => {
      ns.startWorker(FAST_WORKER);
      return ns[method]({ grace: 5 } as never);
    },
    // The worker still runs jobs: nothing was stopped, nothing closed.
    unchanged: async (ns) => {
      expect(ns.workerSlots().idle).toBeGreaterThan(0);
      const { id } = await ns.enqueue('t', 1);
      expect(await ns.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ state: 'completed' });
    },
  })),
  {
    name: 'worker.stop',
    key: 'grace',
    call: (ns) => ns.startWorker(FAST_WORKER).stop({ grace: 5 } as never),
    unchanged: async (ns) => {
      const { id } = await ns.enqueue('t', 1);
      expect(await ns.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ state: 'completed' });
    },
  },
  {
    name: 'scheduler.stop',
    key: 'grace',
    call: (ns) => ns.startScheduler({ pollIntervalMs: 20 }).stop({ grace: 5 } as never),
    // The scheduler still turns due slots into jobs.
    unchanged: async (ns) => {
      await ns.schedules.create({ id: 'every', task: 't', everyMs: 100 });
      await waitUntil(async () => (await ns.listJobs({ task: 't' })).jobs.length > 0);
    },
  },
  {
    name: 'waitFor',
    key: 'timeOut',
    call: async (ns) => ns.waitFor((await ns.enqueue('t', 1)).id, { timeOut: 5 } as never),
  },
  {
    name: 'enqueueMany',
    key: 'txn',
    call: (ns) => ns.enqueueMany([{ task: 't', payload: 1 }], { txn: null } as never),
    unchanged: async (ns) => expect((await ns.listJobs()).jobs).toEqual([]),
  },
  { name: 'listJobs', key: 'stat', call: (ns) => ns.listJobs({ stat: 'queued' } as never) },
  { name: 'readEvents', key: 'aftr', call: (ns) => ns.readEvents({ aftr: '0' } as never) },
  { name: 'followEvents', key: 'typs', call: (ns) => ns.followEvents({ typs: [] } as never) },
  { name: 'concurrencyKeys', key: 'runing', call: (ns) => ns.concurrencyKeys({ runing: true } as never) },
  { name: 'groups', key: 'runing', call: (ns) => ns.groups({ runing: true } as never) },
  {
    name: 'schedules.create',
    key: 'tz',
    call: (ns) =>
      ns.schedules.create({ id: 's', task: 't', cron: '0 6 * * *', payload: 1, tz: 'Europe/Paris' } as never),
    unchanged: async (ns) => expect((await ns.schedules.list()).schedules).toEqual([]),
  },
  {
    name: 'schedules.upsertMany',
    key: 'tz',
    call: (ns) =>
      ns.schedules.upsertMany([
        { id: 'a', task: 't', everyMs: 60_000 },
        { id: 'b', task: 't', cron: '0 6 * * *', tz: 'Europe/Paris' } as never,
      ]),
    unchanged: async (ns) => expect((await ns.schedules.list()).schedules).toEqual([]),
  },
  ...(['tz', 'paused'] as const).map((key): Case => ({
    name: `schedules.update with ${key}`,
    key,
    call: async (ns) => {
      await ns.schedules.create({ id: 's', task: 't', cron: '0 6 * * *' });
      return ns.schedules.update('s', { cron: '0 7 * * *', [key]: true });
    },
    unchanged: async (ns) =>
      expect((await ns.schedules.get('s'))?.schedule).toMatchObject({ cron: '0 6 * * *', paused: false }),
  })),
  { name: 'schedules.list', key: 'stat', call: (ns) => ns.schedules.list({ stat: 'paused' } as never) },
  { name: 'schedules.get', key: 'nextSlot', call: (ns) => ns.schedules.get('s', { nextSlot: 3 } as never) },
  {
    name: 'defineTask',
    key: 'retires',
    code: 'config_error',
    call: () => defineTask({ handler: () => null, retires: 3 } as never),
  },
  {
    name: 'defineTask backoff',
    key: 'bseMs',
    code: 'config_error',
    call: () => defineTask({ handler: () => null, backoff: { bseMs: 10 } } as never),
  },
  {
    name: 'defineContract',
    key: 'retries',
    code: 'config_error',
    call: () => defineContract('mail', { payload, retries: 3 } as never),
  },
  {
    name: 'contractJsonSchema',
    key: 'off',
    call: () => contractJsonSchema(defineContract('mail', { payload }), { off: 'result' } as never),
  },
  {
    name: 'installShutdownSignals',
    key: 'grace',
    call: (ns) => installShutdownSignals(ns, { grace: 5 } as never),
    unchanged: () => expect(process.listenerCount('SIGTERM')).toBe(sigtermListeners),
  },
  { name: 'createLogger', key: 'levl', call: () => createLogger({ levl: 'silent' } as never) },
];

const sigtermListeners = process.listenerCount('SIGTERM');

describe('unknown option keys', () => {
  it.each(cases.map((entry) => [entry.name, entry] as const))('%s refuses one', async (_name, entry) => {
    const ns = await env.connect({ tasks, worker: FAST_WORKER });
    let error: unknown;
    try {
      await entry.call(ns);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(NightshiftError);
    expect(error).toMatchObject({
      code: entry.code ?? 'invalid_argument',
      message: expect.stringContaining(`unknown`) as unknown,
    });
    expect((error as Error).message).toContain(JSON.stringify(entry.key));
    await entry.unchanged?.(ns);
  });

  it('counts a key given as undefined by its name', async () => {
    const ns = await env.connect({ tasks });
    await expect(ns.listJobs({ stat: undefined } as never)).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(
        /^unknown listJobs option "stat"; the options are state, queue, task,/,
      ) as unknown,
    });
  });
});
