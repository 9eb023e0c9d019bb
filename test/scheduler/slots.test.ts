/** Slot arithmetic and validation: intervals, cron with seconds and time zones, DST, bad input. */
import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import type { ScheduleInput } from '../../src/schedule-types.js';
import { slotSeries, slotsBetween, upcomingSlots } from '../../src/scheduler/slots.js';
import { validateSchedule } from '../../src/scheduler/validate.js';

const iso = (dates: Date[]): string[] => dates.map((d) => d.toISOString());
const known = (task: string): boolean => task === 'report';

describe('slot series', () => {
  it('puts interval slots on multiples of everyMs since the epoch', () => {
    const series = slotSeries({ cron: null, everyMs: 60_000, timezone: 'UTC' });
    expect(series.after(new Date('2026-01-01T10:00:00.000Z'))?.toISOString()).toBe(
      '2026-01-01T10:01:00.000Z',
    );
    expect(series.atOrAfter(new Date('2026-01-01T10:00:00.000Z'))?.toISOString()).toBe(
      '2026-01-01T10:00:00.000Z',
    );
    expect(series.atOrAfter(new Date('2026-01-01T10:00:00.001Z'))?.toISOString()).toBe(
      '2026-01-01T10:01:00.000Z',
    );
    expect(iso(series.before(new Date('2026-01-01T10:00:00.000Z'), 2))).toEqual([
      '2026-01-01T09:58:00.000Z',
      '2026-01-01T09:59:00.000Z',
    ]);
  });

  it('reads six-field crons with seconds first, in a time zone', () => {
    const seconds = slotSeries({ cron: '*/15 * * * * *', everyMs: null, timezone: 'UTC' });
    expect(seconds.after(new Date('2026-01-01T00:00:00.000Z'))?.toISOString()).toBe(
      '2026-01-01T00:00:15.000Z',
    );
    expect(seconds.atOrAfter(new Date('2026-01-01T00:00:15.000Z'))?.toISOString()).toBe(
      '2026-01-01T00:00:15.000Z',
    );
    const nineInNewYork = slotSeries({ cron: '0 9 * * *', everyMs: null, timezone: 'America/New_York' });
    expect(nineInNewYork.after(new Date('2026-01-05T00:00:00Z'))?.toISOString()).toBe(
      '2026-01-05T14:00:00.000Z',
    );
    expect(nineInNewYork.after(new Date('2026-07-05T00:00:00Z'))?.toISOString()).toBe(
      '2026-07-05T13:00:00.000Z',
    );
  });

  it('runs a 01:30 Europe/London schedule once per day across both DST changes', () => {
    const timing = { cron: '30 1 * * *', everyMs: null, timezone: 'Europe/London' };
    // Spring: 29 March 2026 has no 01:30 (01:00 GMT jumps to 02:00 BST): the run moves to 02:00 BST.
    expect(iso(upcomingSlots(timing, new Date('2026-03-27T12:00:00Z'), 4))).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ]);
    // Autumn: 25 October 2026 has 01:30 twice (BST, then GMT): it runs on the first only.
    const autumn = upcomingSlots(timing, new Date('2026-10-23T12:00:00Z'), 4);
    expect(iso(autumn)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
      '2026-10-27T01:30:00.000Z',
    ]);
    const perDay = new Set(autumn.map((d) => d.toLocaleDateString('en-GB', { timeZone: 'Europe/London' })));
    expect(perDay.size).toBe(autumn.length);
  });

  it('enumerates slots in a window up to a cap and says when more remain', () => {
    const series = slotSeries({ cron: null, everyMs: 1000, timezone: 'UTC' });
    const from = new Date('2026-01-01T00:00:00.000Z');
    const to = new Date('2026-01-01T00:00:09.000Z');
    expect(slotsBetween(series, from, to, 100).slots).toHaveLength(10);
    const capped = slotsBetween(series, from, to, 3);
    expect(capped.slots).toHaveLength(3);
    expect(capped.more).toBe(true);
  });
});

describe('validateSchedule', () => {
  const base: ScheduleInput = { id: 'nightly', task: 'report', cron: '0 6 * * *' };

  it('fills in defaults', () => {
    const d = validateSchedule(base, 'api', known);
    expect(d).toMatchObject({
      timezone: 'UTC',
      overlap: 'skip',
      catchUp: 'latest',
      catchUpLimit: 10,
      maxDrainRuns: 10,
      jitterMs: 0,
      maxConsecutiveFailures: null,
      payload: null,
      source: 'api',
    });
  });

  const bad: Array<[string, ScheduleInput, RegExp]> = [
    ['a bad cron', { ...base, cron: '61 * * * *' }, /bad cron/],
    ['a seven-field cron', { ...base, cron: '0 0 0 * * * 2030' }, /5 fields, or 6/],
    ['an unknown time zone', { ...base, timezone: 'Mars/Olympus' }, /unknown time zone/],
    ['an unknown task', { ...base, task: 'nope' }, /unknown task/],
    ['both cron and everyMs', { ...base, everyMs: 60_000 }, /exactly one of cron and everyMs/],
    ['neither cron nor everyMs', { id: 'x', task: 'report' }, /exactly one of cron and everyMs/],
    ['an interval under 100 ms', { id: 'x', task: 'report', everyMs: 99 }, /everyMs/],
    ['an unknown overlap policy', { ...base, overlap: 'sometimes' as 'skip' }, /overlap must be one of/],
    ['a bad id', { ...base, id: 'has space' }, /schedule id/],
    [
      'a paused that is not true or false',
      { ...base, paused: 'yes' as never },
      /^schedule "nightly": paused must be true or false, got "yes"$/,
    ],
  ];
  for (const [what, input, message] of bad) {
    it(`refuses ${what} with invalid_argument`, () => {
      let caught: unknown;
      try {
        validateSchedule(input, 'api', known);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(NightshiftError);
      expect((caught as NightshiftError).code).toBe('invalid_argument');
      expect((caught as NightshiftError).message).toMatch(message);
    });
  }
});
