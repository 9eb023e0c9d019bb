/**
 * Schedule policies end to end on both backends, on an injected clock: overlap, catch-up after
 * downtime (RELIABILITY 19), suspension after failures, drain runs, trigger now, and the schedule
 * service's validation. The test plays the worker (claims and finishes jobs) so outcomes are exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, isoOf, openFixture } from './fixture.js';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const MIN = 60_000;
const at = (ms: number) => new Date(ms).toISOString();

describe.each(BACKENDS)('schedule policies on $name', ({ harness }) => {
  afterEach(() => harness.close());

  describe('overlap', () => {
    it('skip records the slot as skipped while the previous run is active', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'o', task: 'report', everyMs: MIN });
      const s = f.scheduler();
      await s.runOnce();
      await f.clock.advance(MIN);
      await s.runOnce();
      const ledger = await f.ledger('o');
      expect(ledger.map((r) => [r.slotKey, r.status])).toEqual([
        [at(T0), 'enqueued'],
        [at(T0 + MIN), 'skipped'],
      ]);
      expect(ledger[1]?.reason).toMatch(/overlap skip: run .* still active/);
      await f.finishAll('completed');
      await f.clock.advance(MIN);
      await s.runOnce();
      expect((await f.jobsOf('o')).map((j) => j.scheduleSlot?.toISOString())).toEqual([
        at(T0),
        at(T0 + 2 * MIN),
      ]);
    });

    it('queue holds one slot until the active run ends, then enqueues it; a second waiting slot is skipped', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'q', task: 'report', everyMs: MIN, overlap: 'queue' });
      const s = f.scheduler();
      await s.runOnce();
      await f.clock.advance(MIN);
      await s.runOnce();
      await f.clock.advance(MIN);
      await s.runOnce();
      let ledger = await f.ledger('q');
      expect(ledger.map((r) => r.status)).toEqual(['enqueued', 'waiting', 'skipped']);
      expect(ledger[2]?.reason).toMatch(/a slot already waits/);
      expect(await f.jobsOf('q')).toHaveLength(1);
      await f.finishAll('completed');
      await s.runOnce();
      ledger = await f.ledger('q');
      expect(ledger.map((r) => r.status)).toEqual(['enqueued', 'enqueued', 'skipped']);
      const jobs = await f.jobsOf('q');
      expect(jobs.map((j) => j.scheduleSlot?.toISOString())).toEqual([at(T0), at(T0 + MIN)]);
      expect(jobs[1]?.state).toBe('queued');
    });

    it('allow runs slots concurrently', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'a', task: 'report', everyMs: MIN, overlap: 'allow' });
      const s = f.scheduler();
      await s.runOnce();
      await f.claimAll();
      await f.clock.advance(MIN);
      await s.runOnce();
      const jobs = await f.jobsOf('a');
      expect(jobs.map((j) => j.state)).toEqual(['running', 'queued']);
    });
  });

  describe('catch-up after all schedulers were down for three slots', () => {
    async function downForThreeSlots(catchUp: 'skip' | 'latest' | 'all', overlap: 'skip' | 'allow' = 'skip') {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'c', task: 'report', everyMs: MIN, catchUp, overlap });
      const s = f.scheduler({ missedAfterMs: 30_000 });
      await s.runOnce();
      await f.finishAll('completed');
      // Down from just after T0 until just after T0 + 4 min: slots +1, +2, +3 were missed, +4 is on time.
      await f.clock.advance(4 * MIN + 500);
      await s.runOnce();
      return { f, s };
    }

    it('skip runs none of them and records each as missed', async () => {
      const { f } = await downForThreeSlots('skip');
      const ledger = await f.ledger('c');
      expect(ledger.map((r) => [r.slotAt.toISOString(), r.status, r.kind])).toEqual([
        [at(T0), 'enqueued', 'slot'],
        [at(T0 + MIN), 'missed', 'slot'],
        [at(T0 + 2 * MIN), 'missed', 'slot'],
        [at(T0 + 3 * MIN), 'missed', 'slot'],
        [at(T0 + 4 * MIN), 'enqueued', 'slot'],
      ]);
      expect(ledger[1]?.reason).toMatch(/catchUp skip/);
      expect(isoOf((await f.jobsOf('c')).map((j) => j.scheduleSlot))).toEqual([at(T0), at(T0 + 4 * MIN)]);
    });

    it('all runs each missed slot exactly once, marked catch-up, one after another', async () => {
      const { f, s } = await downForThreeSlots('all');
      for (let i = 0; i < 3; i++) {
        expect((await f.finishAll('completed')).length).toBe(1);
        await s.runOnce();
      }
      const ledger = await f.ledger('c');
      const caughtUp = ledger.filter((r) => r.kind === 'catch_up');
      expect(caughtUp.map((r) => [r.slotAt.toISOString(), r.status])).toEqual([
        [at(T0 + MIN), 'enqueued'],
        [at(T0 + 2 * MIN), 'enqueued'],
        [at(T0 + 3 * MIN), 'enqueued'],
      ]);
      // The on-time slot met a running catch-up run under overlap skip, so it was skipped with a reason.
      expect(ledger.find((r) => r.slotAt.getTime() === T0 + 4 * MIN)).toMatchObject({ status: 'skipped' });
      const jobs = await f.jobsOf('c');
      expect(isoOf(jobs.map((j) => j.scheduleSlot))).toEqual([
        at(T0),
        at(T0 + MIN),
        at(T0 + 2 * MIN),
        at(T0 + 3 * MIN),
      ]);
      expect(new Set(jobs.map((j) => j.idempotencyKey)).size).toBe(4);
    });

    it('all with overlap allow enqueues every missed slot at once', async () => {
      const { f } = await downForThreeSlots('all', 'allow');
      const jobs = await f.jobsOf('c');
      expect(isoOf(jobs.map((j) => j.scheduleSlot))).toEqual([
        at(T0),
        at(T0 + MIN),
        at(T0 + 2 * MIN),
        at(T0 + 3 * MIN),
        at(T0 + 4 * MIN),
      ]);
    });

    it('all is bounded by catchUpLimit; older missed slots are recorded as missed', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({
        id: 'b',
        task: 'report',
        everyMs: MIN,
        catchUp: 'all',
        catchUpLimit: 2,
        overlap: 'allow',
      });
      const s = f.scheduler();
      await s.runOnce();
      await f.clock.advance(5 * MIN + 40_000);
      await s.runOnce();
      const ledger = await f.ledger('b');
      expect(ledger.map((r) => `${r.slotAt.toISOString()} ${r.status} ${r.kind}`)).toEqual([
        `${at(T0)} enqueued slot`,
        `${at(T0 + MIN)} missed slot`,
        `${at(T0 + 2 * MIN)} missed slot`,
        `${at(T0 + 3 * MIN)} missed slot`,
        `${at(T0 + 4 * MIN)} enqueued catch_up`,
        `${at(T0 + 5 * MIN)} enqueued catch_up`,
      ]);
      expect(ledger[1]?.reason).toMatch(/beyond catchUpLimit 2/);
    });

    it('latest runs one job for the missed slots', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'l', task: 'report', everyMs: MIN });
      const s = f.scheduler();
      await s.runOnce();
      await f.finishAll('completed');
      await f.clock.advance(3 * MIN + 40_000);
      await s.runOnce();
      const ledger = await f.ledger('l');
      expect(ledger.map((r) => `${r.slotAt.toISOString()} ${r.status} ${r.kind}`)).toEqual([
        `${at(T0)} enqueued slot`,
        `${at(T0 + MIN)} missed slot`,
        `${at(T0 + 2 * MIN)} missed slot`,
        `${at(T0 + 3 * MIN)} enqueued catch_up`,
      ]);
      expect(ledger[1]?.reason).toMatch(/covered by the catch-up run of/);
    });
  });

  describe('lookahead', () => {
    it('enqueues a slot due within the lookahead early, due at its slot, only when nothing is active', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'e', task: 'report', everyMs: MIN });
      const s = f.scheduler({ lookaheadMs: 2_000 });
      await s.runOnce();
      // 1.5 s before the next slot, with the first run still queued: nothing early.
      await f.clock.advance(MIN - 1_500);
      await s.runOnce();
      expect(await f.jobsOf('e')).toHaveLength(1);
      await f.finishAll('completed');
      await s.runOnce();
      const jobs = await f.jobsOf('e');
      expect(jobs).toHaveLength(2);
      const early = jobs[1];
      expect(early?.scheduleSlot?.toISOString()).toBe(at(T0 + MIN));
      expect(early?.runAt.toISOString()).toBe(at(T0 + MIN));
      // An early job is an active run: a trigger meets it under overlap skip.
      expect(await f.service.trigger('e')).toMatchObject({ status: 'skipped' });
      await f.clock.advance(1_500);
      await s.runOnce();
      expect(await f.jobsOf('e')).toHaveLength(2);
      expect((await f.ledger('e')).filter((r) => r.kind === 'slot').map((r) => r.status)).toEqual([
        'enqueued',
        'enqueued',
      ]);
    });
  });

  describe('suspension after consecutive failures', () => {
    it('suspends after N failed runs with the last error, and resumes on an operator', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'f', task: 'report', everyMs: MIN, maxConsecutiveFailures: 2 });
      const s = f.scheduler();
      await s.runOnce();
      await f.finishAll('failed');
      await f.clock.advance(MIN);
      await s.runOnce();
      expect((await f.get('f')).consecutiveFailures).toBe(1);
      await f.finishAll('failed');
      await f.clock.advance(MIN);
      await s.runOnce();
      const suspended = await f.get('f');
      expect(suspended.consecutiveFailures).toBe(2);
      expect(suspended.suspendedAt).not.toBeNull();
      expect(suspended.suspendedReason).toMatch(/after 2 consecutive failed runs; last error: boom/);
      expect(suspended.lastError?.message).toBe('boom');
      expect(await f.jobsOf('f')).toHaveLength(2);
      await f.clock.advance(3 * MIN);
      await s.runOnce();
      expect(await f.jobsOf('f')).toHaveLength(2);

      const resumed = await f.service.resume('f');
      expect(resumed).toMatchObject({
        suspendedAt: null,
        suspendedReason: null,
        consecutiveFailures: 0,
        paused: false,
      });
      const skippedRange = (await f.ledger('f')).find((r) => r.slotKey.startsWith('suspended:'));
      expect(skippedRange).toMatchObject({
        status: 'skipped',
        reason: 'not run: schedule was suspended',
        slotCount: 3,
      });
      await f.clock.advance(MIN);
      await s.runOnce();
      expect(await f.jobsOf('f')).toHaveLength(3);
    });

    it('a successful run resets the failure count', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'r', task: 'report', everyMs: MIN, maxConsecutiveFailures: 2 });
      const s = f.scheduler();
      for (const outcome of ['failed', 'completed', 'failed'] as const) {
        await s.runOnce();
        await f.finishAll(outcome);
        await f.clock.advance(MIN);
      }
      await s.runOnce();
      const schedule = await f.get('r');
      expect(schedule.consecutiveFailures).toBe(1);
      expect(schedule.suspendedAt).toBeNull();
      expect(schedule.lastOutcome).toBe('failed');
    });
  });

  describe('drain', () => {
    it('enqueues the next run at once when a handler returns { again: true }, up to maxDrainRuns per slot', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'd', task: 'report', cron: '0 * * * *', maxDrainRuns: 2 });
      const s = f.scheduler();
      await s.runOnce();
      for (let i = 0; i < 3; i++) {
        expect(await f.finishAll('completed', { again: true })).toHaveLength(1);
        await s.runOnce();
      }
      const ledger = await f.ledger('d');
      expect(ledger.map((r) => `${r.slotKey} ${r.kind} ${r.status}`)).toEqual([
        `${at(T0)} slot enqueued`,
        `${at(T0)}#1 drain enqueued`,
        `${at(T0)}#2 drain enqueued`,
        `${at(T0)}#3 drain skipped`,
      ]);
      expect(ledger[3]?.reason).toMatch(/drain limit/);
      expect((await f.jobsOf('d')).every((j) => j.state === 'completed')).toBe(true);
    });
  });

  describe('trigger now', () => {
    it('enqueues a run outside the slots, then respects the overlap policy', async () => {
      const f = await openFixture(harness, T0 + 1_000);
      await f.service.create({ id: 't', task: 'report', cron: '0 0 * * *' });
      const first = await f.service.trigger('t');
      expect(first.status).toBe('enqueued');
      const second = await f.service.trigger('t');
      expect(second).toMatchObject({ status: 'skipped' });
      if (second.status === 'skipped') expect(second.reason).toMatch(/overlap skip/);
      const jobs = await f.jobsOf('t');
      expect(jobs).toHaveLength(1);
      if (first.status === 'enqueued') expect(jobs[0]?.id).toBe(first.jobId);
      expect((await f.ledger('t')).map((r) => `${r.kind} ${r.status}`)).toEqual([
        'trigger enqueued',
        'trigger skipped',
      ]);

      await f.service.update('t', { overlap: 'queue' });
      expect(await f.service.trigger('t')).toMatchObject({ status: 'waiting' });
      await expect(f.service.trigger('missing')).rejects.toMatchObject({ code: 'not_found' });
    });
  });

  describe('schedule service', () => {
    it('refuses bad input with invalid_argument and writes nothing', async () => {
      const f = await openFixture(harness, T0);
      await expect(f.service.create({ id: 'x', task: 'report', cron: 'nope' })).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      await expect(f.service.create({ id: 'x', task: 'nope', everyMs: MIN })).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      await expect(
        f.service.sync([
          { id: 'good', task: 'report', everyMs: MIN },
          { id: 'bad', task: 'report', cron: '0 0 * * *', timezone: 'Nowhere/Land' },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_argument' });
      expect((await f.service.list()).schedules).toEqual([]);
    });

    it('shows state: next slots, last run, and the recent ledger', async () => {
      const f = await openFixture(harness, T0);
      await f.service.create({ id: 'v', task: 'report', everyMs: MIN });
      const s = f.scheduler();
      await s.runOnce();
      await f.finishAll('completed');
      await f.clock.advance(10_000);
      await s.runOnce();
      const details = await f.service.get('v', { nextSlots: 3 });
      expect(isoOf(details?.nextSlots ?? [])).toEqual([at(T0 + MIN), at(T0 + 2 * MIN), at(T0 + 3 * MIN)]);
      expect(details?.schedule).toMatchObject({ lastOutcome: 'completed', consecutiveFailures: 0 });
      expect(details?.schedule.lastSlotAt?.toISOString()).toBe(at(T0));
      expect(details?.schedule.lastDurationMs).not.toBeNull();
      expect(details?.recentSlots.map((r) => r.outcome)).toEqual(['completed']);
    });
  });
});
