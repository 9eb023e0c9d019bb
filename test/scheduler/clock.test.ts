/**
 * Time on both backends, with an injected clock: a wall clock jumping back and forward never enqueues a
 * slot twice and never loses one without a recorded reason (RELIABILITY 17), and a 01:30
 * Europe/London schedule across both DST changes runs once per day, at the documented instants
 * (RELIABILITY 20).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, openFixture } from './fixture.js';

const MIN = 60_000;

describe.each(BACKENDS)('scheduler time on $name', ({ harness }) => {
  afterEach(() => harness.close());

  it('never enqueues a slot twice nor drops one silently when the wall clock jumps back and forward', async () => {
    const T0 = Date.parse('2026-05-01T10:00:00.000Z');
    const f = await openFixture(harness, T0);
    await f.service.create({ id: 'j', task: 'report', everyMs: MIN, overlap: 'allow' });
    const s = f.scheduler({ missedAfterMs: 30_000 });
    // Forward in small steps, back ten minutes, forward again, back, then a big jump forward.
    const moves = [
      1_000,
      20_000,
      40_000,
      -600_000,
      630_000,
      30_000,
      -90_000,
      45_000,
      9 * MIN,
      2_000,
      -3 * MIN,
      4 * MIN,
    ];
    await s.runOnce();
    let reached = f.clock.now();
    for (const move of moves) {
      await f.clock.advance(move);
      reached = Math.max(reached, f.clock.now());
      await s.runOnce();
    }
    const jobs = await f.jobsOf('j');
    const slots = jobs.map((j) => j.scheduleSlot?.getTime());
    expect(new Set(slots).size).toBe(slots.length);
    const ledger = await f.ledger('j');
    expect(new Set(ledger.map((r) => r.slotKey)).size).toBe(ledger.length);
    // Every slot from T0 to the furthest time the clock reached is in the ledger, once, with a status.
    const accounted = new Map(ledger.map((r) => [r.slotAt.getTime(), r]));
    for (let t = T0; t <= reached - (reached % MIN); t += MIN) {
      const row = accounted.get(t);
      expect(row, `slot ${new Date(t).toISOString()}`).toBeDefined();
      if (row?.status === 'missed' || row?.status === 'skipped') expect(row.reason).toBeTruthy();
      if (row?.status === 'enqueued')
        expect(jobs.filter((j) => j.scheduleSlot?.getTime() === t)).toHaveLength(1);
    }
    // The ten-minute outage (the big forward jump) went through catch-up `latest`: recorded as missed.
    expect(ledger.some((r) => r.status === 'missed' && /catchUp latest/.test(r.reason ?? ''))).toBe(true);
  });

  // 768 passes, each moving the store's clock: on PostgreSQL a move replaces a function and replans the
  // store's statements (about 10 ms a pass, 13 s in all on an idle machine), so the bound is generous.
  it(
    'runs a 01:30 Europe/London schedule once a day across both DST changes',
    { timeout: 120_000 },
    async () => {
      const runDays = async (startIso: string, days: number) => {
        const start = Date.parse(startIso);
        const f = await openFixture(harness, start);
        await f.service.create({
          id: 'dst',
          task: 'report',
          cron: '30 1 * * *',
          timezone: 'Europe/London',
          overlap: 'allow',
        });
        // Passes every 15 minutes see a slot up to 15 minutes late; the grace covers that, so each slot
        // is an ordinary on-time run and the test is about which instants are slots.
        const s = f.scheduler({ missedAfterMs: 20 * MIN });
        const step = 15 * MIN;
        for (let t = start; t < start + days * 24 * 60 * MIN; t += step) {
          await s.runOnce();
          await f.finishAll('completed');
          await f.clock.advance(step);
        }
        const jobs = await f.jobsOf('dst');
        expect((await f.ledger('dst')).every((r) => r.status === 'enqueued' && r.kind === 'slot')).toBe(true);
        return jobs.map((j) => j.scheduleSlot?.toISOString());
      };
      // Spring 2026-03-29: 01:30 does not exist in London (01:00 GMT -> 02:00 BST); it runs at 02:00 BST.
      expect(await runDays('2026-03-27T12:00:00.000Z', 4)).toEqual([
        '2026-03-28T01:30:00.000Z',
        '2026-03-29T01:00:00.000Z',
        '2026-03-30T00:30:00.000Z',
        '2026-03-31T00:30:00.000Z',
      ]);
      // Autumn 2026-10-25: 01:30 happens twice (BST, then GMT); it runs on the first only.
      expect(await runDays('2026-10-23T12:00:00.000Z', 4)).toEqual([
        '2026-10-24T00:30:00.000Z',
        '2026-10-25T00:30:00.000Z',
        '2026-10-26T01:30:00.000Z',
        '2026-10-27T01:30:00.000Z',
      ]);
    },
  );
});
