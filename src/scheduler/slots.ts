/**
 * Slot arithmetic: when a schedule's slots fall. Cron expressions are read by croner (five fields, or six
 * with seconds first, in an IANA time zone); fixed intervals fall on multiples of `everyMs` since the
 * Unix epoch, so every scheduler computes the same slots with no shared anchor to agree on.
 *
 * DST (croner's semantics, see docs/SCHEDULES.md): a fixed-time cron (single second, minute and hour,
 * e.g. `30 1 * * *`) whose local time falls in the spring gap runs once at the first valid instant after
 * the gap, and runs once when autumn repeats its local time. Other crons follow real instants: slots in
 * the gap do not exist, repeated local times are two distinct instants. Slots are instants either way,
 * so the ledger's unique (schedule, slot) key never sees one instant twice.
 */
import { Cron } from 'croner';
import type { ScheduleDefinition } from '../schedule-types.js';

/** The timing part of a schedule definition. */
export type ScheduleTiming = Pick<ScheduleDefinition, 'cron' | 'everyMs' | 'timezone'>;

/** A schedule's slots as a series of instants. */
export interface SlotSeries {
  /** The first slot strictly after `t`, or null when the expression has no more slots. */
  after(t: Date): Date | null;
  /** The first slot at or after `t`. */
  atOrAfter(t: Date): Date | null;
  /** Up to `count` slots strictly before `t`, oldest first. */
  before(t: Date, count: number): Date[];
}

// Parsed crons are kept per (expression, zone): a tick over 10,000 due schedules would otherwise parse
// 10,000 expressions. Cleared wholesale past the cap, which only costs re-parsing.
const CRON_CACHE_CAP = 50_000;
const cronCache = new Map<string, Cron>();

// Many schedules share an expression and, being due together, ask for the same next slot: one croner
// call (tens of microseconds in a time zone) then serves all of them. 10,000 every-minute schedules
// cost three croner calls per pass instead of 30,000.
const NEXT_RUN_MEMO_CAP = 256;
const nextRunMemo = new WeakMap<Cron, Map<number, Date | null>>();

/** Parses a cron expression; throws croner's error for a bad expression or time zone. */
export function parseCron(expression: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expression}`;
  let cron = cronCache.get(key);
  if (cron === undefined) {
    cron = new Cron(expression, { timezone, paused: true, mode: '5-or-6-parts' });
    if (cronCache.size >= CRON_CACHE_CAP) cronCache.clear();
    cronCache.set(key, cron);
  }
  return cron;
}

/** The slot series of a validated schedule timing. */
export function slotSeries(timing: ScheduleTiming): SlotSeries {
  const { everyMs, cron } = timing;
  if (everyMs !== null) {
    return {
      after: (t) => new Date(Math.floor(t.getTime() / everyMs) * everyMs + everyMs),
      atOrAfter: (t) => new Date(Math.ceil(t.getTime() / everyMs) * everyMs),
      before: (t, count) => {
        const last = Math.ceil(t.getTime() / everyMs) * everyMs - everyMs;
        return Array.from({ length: count }, (_, i) => new Date(last - (count - 1 - i) * everyMs));
      },
    };
  }
  if (cron === null) throw new Error('schedule timing has neither cron nor everyMs');
  const parsed = parseCron(cron, timing.timezone);
  const next = (t: Date): Date | null => {
    let memo = nextRunMemo.get(parsed);
    if (memo === undefined) {
      memo = new Map();
      nextRunMemo.set(parsed, memo);
    }
    const key = t.getTime();
    let found = memo.get(key);
    if (found === undefined) {
      found = parsed.nextRun(t);
      if (memo.size >= NEXT_RUN_MEMO_CAP) memo.clear();
      memo.set(key, found);
    }
    return found === null ? null : new Date(found.getTime());
  };
  // croner works in whole seconds and returns the first match strictly after its reference.
  return {
    after: (t) => next(t),
    atOrAfter: (t) => next(new Date(t.getTime() - 1)),
    before: (t, count) => (count === 0 ? [] : parsed.previousRuns(count, t).reverse()),
  };
}

/** Up to `count` slots strictly after `t`. */
export function upcomingSlots(timing: ScheduleTiming, t: Date, count: number): Date[] {
  const series = slotSeries(timing);
  const out: Date[] = [];
  let cursor: Date | null = t;
  while (out.length < count && cursor !== null) {
    cursor = series.after(cursor);
    if (cursor !== null) out.push(cursor);
  }
  return out;
}

/**
 * Slots in [from, to], at most `max` of them (the earliest). `more` tells whether slots past the cap
 * remain before `to`; callers then skip ahead rather than enumerate a week of every-second slots.
 */
export function slotsBetween(
  series: SlotSeries,
  from: Date,
  to: Date,
  max: number,
): { slots: Date[]; more: boolean } {
  const slots: Date[] = [];
  let cursor = series.atOrAfter(from);
  while (cursor !== null && cursor.getTime() <= to.getTime()) {
    if (slots.length === max) return { slots, more: true };
    slots.push(cursor);
    cursor = series.after(cursor);
  }
  return { slots, more: false };
}
