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
