/**
 * Arguments of the wrong shape, type or combination, through the library on both backends: each is
 * refused with `invalid_argument` and a message naming what was wrong, and nothing is written. Before,
 * they surfaced as a raw TypeError, a driver error (on one backend only), an empty page, or a schedule
 * that stood active with no next slot.
 */
import { describe, expect, it } from 'vitest';
import { Nightshift } from '../../src/nightshift.js';
import { installShutdownSignals } from '../../src/worker/signals.js';
import { defineTask } from '../../src/task.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();
const tasks = { t: () => 1 };

async function jobCount(ns: Nightshift): Promise<number> {
  return (await ns.listJobs({ limit: 1_000 })).jobs.length;
}

async function scheduleIds(ns: Nightshift): Promise<string[]> {
  return (await ns.schedules.list()).schedules.map((schedule) => schedule.id);
}

describe('listJobs and schedules.list', () => {
  it('refuse a state that is not one, filters of the wrong type and a page over 1,000', async () => {
    const ns = await env.connect({ tasks });
    await ns.enqueue('t');
    const bad: Array<[unknown, RegExp]> = [
      [
        { state: 'queud' },
        /^state must be one of scheduled, queued, running, completed, failed, cancelled, got "queud"$/,
      ],
      [{ state: 5 }, /^state must be one of .*, got 5$/],
      [{ queue: 5 }, /^queue must be a non-empty string, got 5$/],
      // PostgreSQL refused this one as an `internal` driver error, SQLite listed an empty page.
      [{ queue: 'mail\u0000' }, /^queue must not contain NUL/],
      [{ task: ['t'] }, /^task must be a non-empty string, got object$/],
      [{ cursor: 5 }, /^cursor must be a previous page's nextCursor, got number$/],
      [{ limit: 1_001 }, /^limit must be an integer from 1 to 1000, got 1001$/],
      [{ limit: 0 }, /^limit must be an integer from 1 to 1000, got 0$/],
    ];
    for (const [params, message] of bad) {
      await expectCode(ns.listJobs(params as never), 'invalid_argument', message);
    }
    const page = await ns.listJobs({ state: 'queued', queue: 'default', task: 't', limit: 1_000 });
    expect(page.jobs).toHaveLength(1);
  });

  it('schedules.list and schedules.get bound their pages and refuse filters of the wrong type', async () => {
    const ns = await env.connect({ tasks });
    await ns.schedules.create({ id: 'tenant-1.sync', task: 't', everyMs: 60_000 });
    const bad: Array<[unknown, RegExp]> = [
      [{ limit: 1_001 }, /^limit must be an integer from 1 to 1000, got 1001$/],
      [{ task: 5 }, /^task must be a non-empty string, got 5$/],
      [{ idPrefix: 5 }, /^idPrefix must be a non-empty string, got 5$/],
      // A TypeError from Buffer.from before.
      [{ cursor: 5 }, /^cursor must be a previous page's nextCursor, got number$/],
    ];
    for (const [params, message] of bad) {
      await expectCode(ns.schedules.list(params as never), 'invalid_argument', message);
    }
    // Every next slot is computed: a billion of them would not come back.
    await expectCode(
      ns.schedules.get('tenant-1.sync', { nextSlots: 1_000_000_000 }),
      'invalid_argument',
      /^nextSlots must be an integer from 0 to 1000, got 1000000000$/,
    );
    await expectCode(
      ns.schedules.get('tenant-1.sync', { recentSlots: 'all' as never }),
      'invalid_argument',
      /^recentSlots must be an integer from 0 to 1000, got "all"$/,
    );
    expect(await scheduleIds(ns)).toEqual(['tenant-1.sync']);
    expect(
      (await ns.schedules.list({ task: 't', idPrefix: 'tenant-1.', limit: 1_000 })).schedules,
    ).toHaveLength(1);
    expect((await ns.schedules.get('tenant-1.sync', { nextSlots: 1_000 }))?.nextSlots).toHaveLength(1_000);
  });
});

describe('readEvents, concurrencyKeys and groups', () => {
  it('refuse filters of the wrong type, an unknown filter and a page out of range, as listJobs does', async () => {
    const ns = await env.connect({ tasks });
    await ns.enqueue('t', {}, { concurrencyKey: 'k', group: 'g' });
    // Each of these read an empty page, every row, or (a number for `running`) ignored the filter.
    const events: Array<[unknown, RegExp]> = [
      [{ queue: 42 }, /^queue must be a non-empty string, got 42$/],
      [{ task: '' }, /^task must be a non-empty string, got ""$/],
      // SQLite failed this one as an `internal` driver error.
      [{ jobId: {} }, /^jobId must be a string, got object$/],
      [{ after: 5 }, /^after must be a string, got 5$/],
      [{ limit: 1e9 }, /^limit must be an integer from 1 to 1000, got 1000000000$/],
      [{ limit: -1 }, /^limit must be an integer from 1 to 1000, got -1$/],
      [{ types: ['job:enqueued'] }, /^unknown readEvents option "types"; the options are queue, /],
    ];
    for (const [params, message] of events) {
      await expectCode(ns.readEvents(params as never), 'invalid_argument', message);
    }
    const pages: Array<[unknown, RegExp]> = [
      [{ after: 5 }, /^after must be a non-empty string, got 5$/],
      [{ after: 'k\u0000' }, /^after must not contain NUL/],
      [{ running: 'yes' }, /^running must be true or false, got "yes"$/],
      [{ running: 1 }, /^running must be true or false, got 1$/],
      [{ limit: 10_001 }, /^limit must be an integer from 1 to 10000, got 10001$/],
      [{ limit: -1 }, /^limit must be an integer from 1 to 10000, got -1$/],
    ];
    for (const [params, message] of pages) {
      await expectCode(ns.concurrencyKeys(params as never), 'invalid_argument', message);
      await expectCode(ns.groups(params as never), 'invalid_argument', message);
    }
    await expectCode(
      ns.groups({ runing: true } as never),
      'invalid_argument',
      /^unknown groups option "runing"; the options are after, limit, running$/,
    );
    // Taken (the event itself may be below another transaction's horizon on PostgreSQL, not yet read).
    expect(await ns.readEvents({ queue: 'default', task: 't', jobId: 'x', limit: 1_000 })).toEqual({
      events: expect.any(Array) as unknown,
      next: expect.any(String) as unknown,
      more: expect.any(Boolean) as unknown,
    });
    expect(await ns.groups({ after: '', limit: 10_000, running: false })).toMatchObject([{ group: 'g' }]);
  });
});

describe('a queue name that is blank or starts or ends with whitespace', () => {
  it('is refused wherever a queue is named for writing, and nothing is written', async () => {
    const ns = await env.connect({ tasks });
    const blank = /^([\w "]+: )?queue must not be blank or start or end with whitespace, got " "$/;
    const padded = /queue must not be blank or start or end with whitespace, got " mail"$/;
    for (const [name, message] of [
      [' ', blank],
      [' mail', padded],
    ] as const) {
      await expectCode(ns.enqueue('t', {}, { queue: name }), 'invalid_argument', message);
      await expectCode(ns.setQueueLimit(name, 2), 'invalid_argument', message);
      await expectCode(ns.setQueueRate(name, { limit: 1, periodMs: 1_000 }), 'invalid_argument', message);
      await expectCode(ns.queues.pause(name), 'invalid_argument', message);
      await expectCode(
        ns.schedules.create({ id: 's', task: 't', everyMs: 60_000, queue: name }),
        'invalid_argument',
        message,
      );
      expect(() => ns.startWorker({ queues: [name] })).toThrow(/^worker option queues must not be blank/);
    }
    await expectCode(
      env.connect({ tasks, queues: { 'mail ': { concurrency: 1 } } }),
      'invalid_argument',
      /^queues: queue name must not be blank or start or end with whitespace, got "mail "$/,
    );
    await expectCode(
      env.connect({ tasks: { padded: defineTask({ queue: '\tmail', handler: () => 1 }) } }),
      'config_error',
      /^task "padded": queue must not be blank or start or end with whitespace, got "\\tmail"$/,
    );
    expect(await jobCount(ns)).toBe(0);
    expect(await scheduleIds(ns)).toEqual([]);
    expect(await ns.queueLimits()).toEqual([]);
    expect(await ns.queues.list()).toEqual([]);
    // A space inside a name is a name like any other.
    await ns.enqueue('t', {}, { queue: 'mail box' });
    expect((await ns.queues.list()).map((queue) => queue.name)).toEqual(['mail box']);
  });
});

describe('connect and stop options', () => {
  it('connect refuses a db that is neither a database URL nor a Store, before opening anything', async () => {
    const message = /^connect option db must be a database URL \(sqlite:.*\) or an open Store, got /;
    // A number failed as "store.migrate is not a function"; null opened ./nightshift.db.
    for (const db of [42, null, {}, ['sqlite::memory:']]) {
      await expectCode(Nightshift.connect({ db: db as never }), 'invalid_argument', message);
    }
  });

  it('stop, a worker stop and the shutdown signals refuse a grace a timer cannot hold, stopping nothing', async () => {
    const ns = await env.connect({ tasks });
    const worker = ns.startWorker({ pollIntervalMs: 50 });
    const grace = /graceMs must be an integer from 0 to 2147483647, got /;
    // 1e12 ms became a 1 ms timer: the graceful stop aborted running jobs at once.
    await expectCode(ns.stop({ graceMs: 1e12 }), 'invalid_argument', grace);
    await expectCode(ns.close({ graceMs: -1 }), 'invalid_argument', /^close option graceMs must be/);
    // Named for the call that got it: "unknown stop option" of a close sent the reader to look for a stop.
    await expectCode(
      ns.close({ graceMS: 1 } as never),
      'invalid_argument',
      /^unknown close option "graceMS"/,
    );
    await expectCode(worker.stop({ graceMs: 'soon' as never }), 'invalid_argument', grace);
    await expectCode(
      ns.stop({ force: 'yes' as never }),
      'invalid_argument',
      /^stop option force must be true or false, got "yes"$/,
    );
    expect(() => installShutdownSignals(ns, { graceMs: 1e12 })).toThrow(grace);
    expect(ns.workerSlots()).toEqual({ busy: 0, idle: 10 });
    const { id } = await ns.enqueue('t');
    expect((await ns.waitFor(id, { timeoutMs: 10_000 })).state).toBe('completed');
  });
});

describe('arguments that are not an object, an array or a string', () => {
  it('enqueue refuses options that are not an object, enqueueMany items that are not an array', async () => {
    const ns = await env.connect({ tasks });
    await expectCode(
      ns.enqueue('t', {}, null as never),
      'invalid_argument',
      /^enqueue options must be an object, got null$/,
    );
    // An array was taken apart as an object without keys, and the job enqueued.
    await expectCode(
      ns.enqueue('t', {}, [] as never),
      'invalid_argument',
      /^enqueue options must be an object, got an array$/,
    );
    await expectCode(
      ns.enqueueMany({ task: 't', payload: {} } as never),
      'invalid_argument',
      /^enqueueMany items must be an array, got object$/,
    );
    await expectCode(
      ns.enqueueMany(null as never),
      'invalid_argument',
      /^enqueueMany items must be an array, got null$/,
    );
    expect(await jobCount(ns)).toBe(0);
  });

  it('startWorker refuses options that are not an object, and starts no worker', async () => {
    const ns = await env.connect({ tasks });
    // Both were spread over the instance's worker defaults: a worker started with every default.
    expect(() => ns.startWorker(null as never)).toThrow(
      expect.objectContaining({
        code: 'invalid_argument',
        message: 'startWorker options must be an object, got null',
      }),
    );
    expect(() => ns.startWorker([] as never)).toThrow('startWorker options must be an object, got an array');
    expect(ns.workerSlots()).toEqual({ busy: 0, idle: 0 });
  });

  it('startWorker refuses queues given as one string, saying they are a list', async () => {
    const ns = await env.connect({ tasks });
    // A string said "must list at least one non-empty name", though it named one.
    expect(() => ns.startWorker({ queues: 'mail' as never })).toThrow(
      expect.objectContaining({
        code: 'invalid_argument',
        message: 'worker option queues must be an array of queue names, got "mail"',
      }),
    );
    expect(() => ns.startWorker({ queues: [] })).toThrow(
      'worker option queues must list at least one queue name (leave it out to serve every queue)',
    );
    // labels and requires say so already (test/library/worker-labels.test.ts).
    expect(ns.workerSlots()).toEqual({ busy: 0, idle: 0 });
  });

  it('the schedule calls refuse a schedule that is not an object and a list that is not an array', async () => {
    const ns = await env.connect({ tasks });
    const notObject = /^a schedule must be an object, got null$/;
    await expectCode(ns.schedules.create(null as never), 'invalid_argument', notObject);
    await expectCode(ns.schedules.upsert(null as never), 'invalid_argument', notObject);
    await expectCode(ns.schedules.upsertMany([null as never]), 'invalid_argument', notObject);
    await expectCode(
      ns.schedules.upsertMany({ id: 's', task: 't', everyMs: 60_000 } as never),
      'invalid_argument',
      /^schedules must be an array, got object$/,
    );
    const scheduler = ns.startScheduler({ schedules: { id: 's', task: 't', everyMs: 60_000 } as never });
    await expectCode(scheduler.ready, 'invalid_argument', /^schedules must be an array, got object$/);
    expect(await scheduleIds(ns)).toEqual([]);
  });

  it('the schedule calls refuse a paused that is not true or false, storing nothing', async () => {
    const ns = await env.connect({ tasks });
    // A truthy 'no' would otherwise have created the schedule paused.
    const input = { id: 's', task: 't', everyMs: 60_000, paused: 'no' as never };
    const message = /^schedule "s": paused must be true or false, got "no"$/;
    await expectCode(ns.schedules.create(input), 'invalid_argument', message);
    await expectCode(ns.schedules.upsert(input), 'invalid_argument', message);
    await expectCode(
      ns.schedules.upsertMany([{ ...input, id: 'r', paused: false }, input]),
      'invalid_argument',
      message,
    );
    const scheduler = ns.startScheduler({ schedules: [{ ...input, paused: 1 as never }] });
    await expectCode(
      scheduler.ready,
      'invalid_argument',
      /^schedule "s": paused must be true or false, got 1$/,
    );
    expect(await scheduleIds(ns)).toEqual([]);
  });

  it('the calls that look a job or a schedule up refuse an id that is not a string', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('t');
    await ns.schedules.create({ id: 's', task: 't', everyMs: 60_000 });
    // SQLite failed these with an `internal` "Too few parameter values"; PostgreSQL found nothing.
    const notAString = {} as never;
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['getJob', () => ns.getJob(notAString)],
      ['cancelJob', () => ns.cancelJob(notAString)],
      ['retryJob', () => ns.retryJob(notAString)],
      ['getJobRuns', () => ns.getJobRuns(notAString)],
      ['getJobLogs', () => ns.getJobLogs(notAString)],
      ['waitFor', () => ns.waitFor(notAString, { timeoutMs: 10 })],
      ['schedules.get', () => ns.schedules.get(notAString)],
      ['schedules.update', () => ns.schedules.update(notAString, { everyMs: 1_000 })],
      ['schedules.delete', () => ns.schedules.delete(notAString)],
      ['schedules.trigger', () => ns.schedules.trigger(notAString)],
      ['schedules.pause', () => ns.schedules.pause(notAString)],
      ['schedules.resume', () => ns.schedules.resume(notAString)],
    ];
    for (const [name, call] of calls) {
      await expectCode(call(), 'invalid_argument', new RegExp(`^${name}: id must be a string, got object$`));
    }
    expect(await ns.getJob(id)).toMatchObject({ state: 'queued' });
    expect((await ns.schedules.get('s'))?.schedule).toMatchObject({ everyMs: 60_000, paused: false });
    expect(await jobCount(ns)).toBe(1);
  });
});

describe('a cron that never fires', () => {
  it('is refused at create, update, upsert and a config sync; a rare one is not', async () => {
    const ns = await env.connect({ tasks });
    await expectCode(
      ns.schedules.create({ id: 'feb-30', task: 't', cron: '0 0 30 2 *' }),
      'invalid_argument',
      /^schedule "feb-30": cron "0 0 30 2 \*" never fires/,
    );
    await expectCode(
      ns.schedules.upsert({ id: 'apr-31', task: 't', cron: '0 12 31 4 *', timezone: 'Europe/Paris' }),
      'invalid_argument',
      /^schedule "apr-31": cron "0 12 31 4 \*" never fires/,
    );
    await ns.schedules.create({ id: 'daily', task: 't', cron: '0 6 * * *' });
    await expectCode(
      ns.schedules.update('daily', { cron: '0 0 31 2,4,6,9,11 *' }),
      'invalid_argument',
      /never fires/,
    );
    const scheduler = ns.startScheduler({ schedules: [{ id: 'config', task: 't', cron: '0 0 30 2 *' }] });
    await expectCode(scheduler.ready, 'invalid_argument', /^schedule "config": cron .* never fires/);
    // Leap days fire every four years: rare, not never.
    const leap = await ns.schedules.create({ id: 'leap-day', task: 't', cron: '0 0 29 2 *' });
    expect(leap.nextSlotAt?.toISOString()).toMatch(/-02-29T00:00:00\.000Z$/);
    expect(await scheduleIds(ns)).toEqual(['daily', 'leap-day']);
    expect((await ns.schedules.get('daily'))?.schedule.cron).toBe('0 6 * * *');
  });
});
