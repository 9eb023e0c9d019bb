/**
 * Arguments of the wrong shape, type or combination, through the library on both backends: each is
 * refused with `invalid_argument` and a message naming what was wrong, and nothing is written. Before,
 * they surfaced as a raw TypeError, a driver error (on one backend only), an empty page, or a schedule
 * that stood active with no next slot.
 */
import { describe, expect, it } from 'vitest';
import type { Nightshift } from '../../src/nightshift.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();
const tasks = { t: () => 1 };

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
