/**
 * A property test of the pure planners (fire, settle, trigger) against an in-memory ledger and job table
 * that apply their writes as both stores do. Random schedules (everyMs from 100 ms to hours, crons with
 * seconds, every overlap and catch-up policy, jitter), random pass times with clock steps forward and
 * back, random passes (a fire pass without the settle pass before it, as a racing scheduler would run
 * it), a simulated worker that starts and finishes runs (some asking `{ again: true }`), and triggers.
 *
 * After every planned write: no slot is planned twice (the ledger key is never hit again), no job's
 * idempotency key repeats, a run is written only when nothing of the schedule is active (unless overlap
 * is `allow`), every skip or wait names a job that exists and is really active, a regular slot is only
 * or drain is only ever skipped behind a run that has started or whose slot has come (never behind an
 * early job still ahead of its slot), and a slot recorded missed really was older than `missedAfterMs`. At the end every slot from
 * the first to the schedule's next slot has exactly one ledger row of its own or lies in a range row.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planFire } from '../../src/scheduler/fire.js';
import { planTrigger } from '../../src/scheduler/operator.js';
import type { PlanOptions } from '../../src/scheduler/runs.js';
import { type Schedule, type ScheduleInput, type SlotRecord } from '../../src/schedule-types.js';
import { initialScheduleState } from '../../src/scheduler/schedule.js';
import { planSettle } from '../../src/scheduler/settle.js';
import { slotJobFactory } from '../../src/scheduler/slot-job.js';
import { slotSeries } from '../../src/scheduler/slots.js';
import { validateSchedule } from '../../src/scheduler/validate.js';
import type { DueSchedule, FinishedSlotRun, ScheduleWrites } from '../../src/store/store.js';
import { TaskRegistry } from '../../src/task-registry.js';

type SimState = 'scheduled' | 'queued' | 'running' | 'completed' | 'failed';
interface SimJob {
  id: string;
  key: string;
  runAt: number;
  slotAt: number;
  /** The pass time it was written at: a job written before its slot is an early one (fire.ts). */
  writtenAt: number;
  state: SimState;
  again: boolean;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const ACTIVE: ReadonlySet<SimState> = new Set(['scheduled', 'queued', 'running']);
const JOB_ID = /run ([0-9a-f]{8}-[0-9a-f-]{27})/;
const registry = new TaskRegistry({ tick: { handler: () => undefined } });

/** One schedule, its ledger and its jobs, written to the way both stores write a plan. */
class SimStore {
  readonly ledger = new Map<string, SlotRecord>();
  readonly jobs = new Map<string, SimJob>();
  private readonly keys = new Set<string>();

  constructor(public schedule: Schedule) {}

  private openRuns(): SlotRecord[] {
    return [...this.ledger.values()].filter((r) => r.status === 'enqueued' && r.outcome === null);
  }

  due(): DueSchedule {
    const open = this.openRuns();
    const waiting = [...this.ledger.values()]
      .filter((r) => r.status === 'waiting')
      .sort((a, b) => a.slotAt.getTime() - b.slotAt.getTime() || (a.slotKey < b.slotKey ? -1 : 1));
    const jobOf = (r: SlotRecord) => (r.jobId === null ? undefined : this.jobs.get(r.jobId));
    return {
      schedule: this.schedule,
      activeJobId: open.find((r) => ACTIVE.has(jobOf(r)?.state ?? 'completed'))?.jobId ?? null,
      waitingSlot: waiting[0] ?? null,
      settlePending: open.some((r) => !ACTIVE.has(jobOf(r)?.state ?? 'completed')),
    };
  }

  finishedRuns(): FinishedSlotRun[] {
    return this.openRuns().flatMap((slot) => {
      const job = slot.jobId === null ? undefined : this.jobs.get(slot.jobId);
      if (job === undefined || ACTIVE.has(job.state)) return [];
      const state = job.state as 'completed' | 'failed';
      return [
        {
          slot,
          job: {
            id: job.id,
            state,
            result: job.again ? { again: true } : null,
            error: state === 'failed' ? { message: 'boom', reason: 'failed' as const } : null,
            startedAt: job.startedAt,
            finishedAt: job.finishedAt,
          },
        },
      ];
    });
  }

  /** Checks a plan against the store as it is before the plan, then applies it. */
  apply(writes: ScheduleWrites, now: number, options: PlanOptions): void {
    const s = this.schedule;
    const planned = new Map(writes.jobs.map((job) => [job.id, job]));
    const activeBefore = [...this.jobs.values()].filter((j) => ACTIVE.has(j.state)).map((j) => j.id);
    const rows = [...writes.slots, ...writes.slotUpdates];
    for (const row of writes.slots) {
      expect(this.ledger.has(row.slotKey), `slot ${row.slotKey} planned twice`).toBe(false);
    }
    expect(new Set(writes.slots.map((r) => r.slotKey)).size).toBe(writes.slots.length);
    for (const job of writes.jobs) {
      expect(this.keys.has(job.idempotencyKey ?? ''), `job key ${job.idempotencyKey} repeated`).toBe(false);
      expect(rows.filter((r) => r.jobId === job.id && r.status === 'enqueued')).toHaveLength(1);
    }
    if (s.overlap !== 'allow') {
      // At most one run at a time: a plan writes a job only when none is active, and then one.
      expect(writes.jobs.length + (writes.jobs.length > 0 ? activeBefore.length : 0)).toBeLessThanOrEqual(1);
    }
    for (const row of rows) {
      if (row.status === 'missed') {
        expect((row.slotUntil ?? row.slotAt).getTime()).toBeLessThanOrEqual(now - options.missedAfterMs);
      }
      if (row.status !== 'skipped' && row.status !== 'waiting') continue;
      const named = JOB_ID.exec(row.reason ?? '')?.[1];
      if (named === undefined) {
        expect(row.reason).toMatch(/^drain limit/);
        continue;
      }
      const stored = this.jobs.get(named);
      const fresh = planned.get(named);
      expect(stored !== undefined || fresh !== undefined, `${row.reason} names a missing job`).toBe(true);
      if (stored !== undefined) expect(ACTIVE.has(stored.state), `${row.reason}: ${stored.state}`).toBe(true);
      if (row.kind !== 'trigger') {
        // The run a slot or drain meets has started, or its slot has come: never an early job still
        // ahead of it. (Only an operator's trigger can meet an early job; docs/SCHEDULES.md says so.)
        // A run written at its own slot (a trigger's, a drain's) is no early job, even where the clock
        // has since stepped back before that slot.
        const slotAt = stored?.slotAt ?? fresh?.scheduleSlot?.getTime() ?? now;
        const early = slotAt > (stored?.writtenAt ?? now);
        expect(stored?.state === 'running' || slotAt <= now || !early, `${row.reason} is not due yet`).toBe(
          true,
        );
      }
    }

    for (const { state } of writes.states) {
      this.schedule = { ...s, ...state, version: s.version + 1 };
    }
    for (const row of writes.slots) this.ledger.set(row.slotKey, row);
    for (const row of writes.slotUpdates) this.ledger.set(row.slotKey, row);
    for (const job of writes.jobs) {
      this.keys.add(job.idempotencyKey ?? '');
      const runAt = job.runAt?.getTime() ?? now + (job.delayMs ?? 0);
      this.jobs.set(job.id, {
        id: job.id,
        key: job.idempotencyKey ?? '',
        runAt,
        slotAt: job.scheduleSlot?.getTime() ?? now,
        writtenAt: now,
        state: runAt > now ? 'scheduled' : 'queued',
        again: false,
        startedAt: null,
        finishedAt: null,
      });
    }
  }
}

const INPUTS: fc.Arbitrary<ScheduleInput> = fc
  .record(
    {
      id: fc.constant('s'),
      task: fc.constant('tick'),
      timing: fc.oneof(
        fc.constantFrom(100, 200, 1_000, 2_000, 3_000, 60_000, 3_600_000).map((everyMs) => ({ everyMs })),
        fc.integer({ min: 100, max: 4 * 3_600_000 }).map((everyMs) => ({ everyMs })),
        fc
          .constantFrom(
            '* * * * * *',
            '*/2 * * * * *',
            '*/15 * * * * *',
            '30 * * * * *',
            '0 */5 * * * *',
            '* * * * *',
          )
          .map((cron) => ({ cron })),
      ),
      overlap: fc.constantFrom('skip', 'queue', 'allow'),
      catchUp: fc.constantFrom('skip', 'latest', 'all'),
      catchUpLimit: fc.integer({ min: 1, max: 4 }),
      maxDrainRuns: fc.integer({ min: 0, max: 3 }),
      jitterMs: fc.constantFrom(0, 0, 50, 500),
    },
    { requiredKeys: ['id', 'task', 'timing', 'overlap', 'catchUp'] },
  )
  .map(({ timing, ...rest }) => ({ ...rest, ...timing }));

type Action =
  | { kind: 'pass'; settleFirst: boolean }
  | { kind: 'fire' }
  | { kind: 'trigger' }
  | { kind: 'work'; start: number; finish: number; again: boolean; fail: boolean };

const ACTIONS: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.boolean().map((settleFirst) => ({ kind: 'pass' as const, settleFirst })), weight: 4 },
  { arbitrary: fc.constant({ kind: 'fire' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'trigger' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('work' as const),
      start: fc.double({ min: 0, max: 1, noNaN: true }),
      finish: fc.double({ min: 0, max: 1, noNaN: true }),
      again: fc.boolean(),
      fail: fc.boolean(),
    }),
    weight: 4,
  },
);

/** Clock steps in units of the schedule's interval: mostly a fraction of one, sometimes many, sometimes back. */
const STEPS = fc.oneof(
  { arbitrary: fc.double({ min: 0, max: 1.5, noNaN: true }), weight: 8 },
  { arbitrary: fc.double({ min: 1.5, max: 40, noNaN: true }), weight: 1 },
  { arbitrary: fc.double({ min: -10, max: 0, noNaN: true }), weight: 1 },
);

const SCENARIO = fc.record({
  input: INPUTS,
  start: fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2026-12-31T00:00:00Z') }),
  missedAfterMs: fc.constantFrom(1_000, 5_000, 30_000),
  lookaheadMs: fc.constantFrom(0, 1_000, 5_000),
  earlyFromMs: fc.constantFrom(1, 100, 1_000),
  steps: fc.array(fc.tuple(STEPS, ACTIONS), { minLength: 1, maxLength: 40 }),
});

function intervalOf(schedule: Schedule): number {
  if (schedule.everyMs !== null) return schedule.everyMs;
  return schedule.cron?.split(' ').length === 6 ? 1_000 : 60_000;
}

/** Every slot in [first, until) has one ledger row of its own, or lies in a range row. */
function checkCoverage(store: SimStore, first: Date, until: Date): void {
  const ranges = [...store.ledger.values()].filter((r) => r.slotUntil !== null);
  const series = slotSeries(store.schedule);
  let count = 0;
  for (let t: Date | null = first; t !== null && t < until && count < 5_000; t = series.after(t), count++) {
    const own = store.ledger.has(t.toISOString());
    const ms = t.getTime();
    const inRange = ranges.some((r) => r.slotAt.getTime() <= ms && ms <= (r.slotUntil?.getTime() ?? 0));
    expect(own || inRange, `slot ${t.toISOString()} has no ledger row`).toBe(true);
  }
}

describe('the planners, property-based', () => {
  it('enqueue each slot once or record it with a true reason, and never name a missing job', () => {
    fc.assert(
      fc.property(SCENARIO, ({ input, start, missedAfterMs, lookaheadMs, earlyFromMs, steps }) => {
        const definition = validateSchedule(input, 'api', () => true);
        let now = start;
        const first = slotSeries(definition).atOrAfter(new Date(now));
        if (first === null) return;
        const store = new SimStore({
          ...definition,
          ...initialScheduleState(first, false),
          version: 0,
          createdAt: new Date(now),
          updatedAt: new Date(now),
        });
        const interval = intervalOf(store.schedule);
        for (const [step, action] of steps) {
          now = Math.max(start - 10 * interval, now + Math.round(step * interval));
          const options: PlanOptions = {
            now: new Date(now),
            missedAfterMs,
            lookaheadMs,
            earlyFromMs,
            newJob: slotJobFactory(registry, new Date(now)),
          };
          const settle = () => {
            const runs = store.finishedRuns();
            if (runs.length > 0)
              store.apply(planSettle({ runs, schedules: [store.due()] }, options), now, options);
          };
          const fire = () => {
            const next = store.schedule.nextSlotAt;
            if (next !== null && next.getTime() <= now + lookaheadMs) {
              store.apply(planFire([store.due()], options), now, options);
            }
          };
          if (action.kind === 'pass') {
            if (action.settleFirst) settle();
            fire();
            if (!action.settleFirst) settle();
          } else if (action.kind === 'fire') {
            fire();
          } else if (action.kind === 'trigger') {
            store.apply(planTrigger(store.due(), options), now, options);
          } else {
            for (const job of store.jobs.values()) {
              if (
                (job.state === 'queued' || job.state === 'scheduled') &&
                job.runAt <= now &&
                action.start > 0.3
              ) {
                job.state = 'running';
                job.startedAt = new Date(now);
              }
              if (job.state === 'running' && action.finish > 0.5) {
                job.state = action.fail ? 'failed' : 'completed';
                job.again = action.again;
                job.finishedAt = new Date(now);
              }
            }
          }
        }
        const until = store.schedule.nextSlotAt;
        if (until !== null) checkCoverage(store, first, until);
      }),
      {
        numRuns: 300,
        examples: [
          [
            {
              input: { id: 's', task: 'tick', cron: '* * * * * *', maxDrainRuns: 3 },
              start: Date.parse('2026-05-01T10:00:00.500Z'),
              missedAfterMs: 30_000,
              lookaheadMs: 5_000,
              earlyFromMs: 1,
              steps: [
                [0, { kind: 'pass', settleFirst: true }],
                [0.6, { kind: 'work', start: 1, finish: 0, again: false, fail: false }],
                [0, { kind: 'work', start: 0, finish: 1, again: true, fail: false }],
                [0, { kind: 'fire' }],
                [0, { kind: 'pass', settleFirst: true }],
              ],
            },
          ],
          [
            // A trigger 1 ms after a slot, then the clock 1 ms back and the slot's pass: the slot is
            // skipped behind the triggered run, whose own slot (the trigger's time) is then ahead.
            {
              input: { id: 's', task: 'tick', overlap: 'skip', catchUp: 'skip', everyMs: 2_000 },
              start: Date.parse('2026-01-01T00:00:00.000Z'),
              missedAfterMs: 1_000,
              lookaheadMs: 0,
              earlyFromMs: 1,
              steps: [
                [0.00025, { kind: 'work', start: 0, finish: 0, again: false, fail: false }],
                [0, { kind: 'trigger' }],
                [-0.00025000000000000006, { kind: 'trigger' }],
                [0, { kind: 'pass', settleFirst: false }],
              ],
            },
          ],
        ],
      },
    );
  });
});
