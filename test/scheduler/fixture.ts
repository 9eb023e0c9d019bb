/**
 * Setup for scheduler tests on both backends: a store, a hand-moved clock shared by the store (frozen
 * and moved through the harness) and the scheduler, a schedule service on that clock, and helpers that
 * play the worker's part (claim and finish schedule jobs) so outcomes are decided by the test, not by
 * timing.
 */
import { EventBus } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import type { Schedule, SlotRecord } from '../../src/schedule-types.js';
import { ScheduleService } from '../../src/scheduler/schedule-service.js';
import { Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import type { Job } from '../../src/job.js';
import type { Store } from '../../src/store/store.js';
import { TaskRegistry } from '../../src/task-registry.js';
import { postgresHarness } from '../support/postgres-harness.js';
import { sqliteHarness } from '../support/sqlite-harness.js';
import type { StoreHarness } from '../support/store-harness.js';
import { TestClock } from '../support/test-clock.js';

/** Both backends, for `describe.each`. */
export const BACKENDS: Array<{ name: string; harness: StoreHarness }> = [
  { name: 'sqlite', harness: sqliteHarness() },
  { name: 'postgres', harness: postgresHarness('sched') },
];

/** The queue every test task uses; tests claim from it directly. */
export const QUEUE = 'sched';

/** The fixture's clock: the scheduler reads `now`, and `advance` moves it and the store's together. */
export interface FixtureClock {
  now(): number;
  advance(ms: number): Promise<void>;
}

/** A store with a scheduler and schedule service on one clock. */
export interface ScheduleFixture {
  store: Store;
  clock: FixtureClock;
  registry: TaskRegistry;
  service: ScheduleService;
  scheduler(options?: SchedulerOptions): Scheduler;
  /** Claims every due job of QUEUE and ends each with `outcome` (and `result`); returns them. */
  finishAll(outcome: 'completed' | 'failed', result?: unknown): Promise<string[]>;
  /** Claims due jobs of QUEUE without finishing them (they stay `running`). */
  claimAll(): Promise<Array<{ id: string; leaseToken: string }>>;
  /** Ends claimed attempts. */
  finish(
    claimed: Array<{ id: string; leaseToken: string }>,
    outcome: 'completed' | 'failed',
    result?: unknown,
  ): Promise<void>;
  /** Every job of a schedule, oldest slot first. */
  jobsOf(scheduleId: string): Promise<Job[]>;
  /** A schedule's whole ledger, oldest slot first. */
  ledger(scheduleId: string): Promise<SlotRecord[]>;
  get(id: string): Promise<Schedule>;
}

/** Opens a fixture whose clock starts at `start` (default 2026-05-01 10:00:00.000 UTC, in the past). */
export async function openFixture(
  h: StoreHarness,
  start = Date.parse('2026-05-01T10:00:00.000Z'),
): Promise<ScheduleFixture> {
  const clock = new TestClock(start);
  const store = await h.open();
  await h.freezeClock(store, start);
  const registry = new TaskRegistry({
    report: { handler: () => undefined, queue: QUEUE, maxAttempts: 1 },
    other: { handler: () => undefined, queue: QUEUE, maxAttempts: 1 },
  });
  const now = (): Promise<Date> => Promise.resolve(new Date(clock.now()));
  const service = new ScheduleService(store, registry, now);
  const logger = createLogger({ level: 'silent' });
  const claimAll = async () => {
    const claimed = await store.jobClaim({ workerId: 'test', queues: [QUEUE], limit: 1000, leaseMs: 60_000 });
    return claimed.map((job) => ({ id: job.id, leaseToken: job.leaseToken }));
  };
  const finish = async (
    claimed: Array<{ id: string; leaseToken: string }>,
    outcome: 'completed' | 'failed',
    result?: unknown,
  ) => {
    if (claimed.length === 0) return;
    await store.jobFinishMany({
      finishes: claimed.map((c) =>
        outcome === 'completed'
          ? { ...c, outcome, result }
          : { ...c, outcome, error: { message: 'boom', reason: 'failed' as const }, retryDelayMs: null },
      ),
    });
  };
  return {
    store,
    clock: {
      now: clock.now,
      async advance(ms) {
        clock.advance(ms);
        await h.advanceClock(store, ms);
      },
    },
    registry,
    service,
    scheduler: (options = {}) =>
      new Scheduler(
        { store, registry, schedules: service, events: new EventBus(logger), logger },
        { clock: () => new Date(clock.now()), ...options },
      ),
    claimAll,
    finish,
    async finishAll(outcome, result) {
      const claimed = await claimAll();
      await finish(claimed, outcome, result);
      return claimed.map((c) => c.id);
    },
    async jobsOf(scheduleId) {
      const jobs: Job[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.jobList({ limit: 500, ...(cursor !== undefined && { cursor }) });
        jobs.push(...page.jobs.filter((job) => job.scheduleId === scheduleId));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      return jobs.sort((a, b) => (a.scheduleSlot?.getTime() ?? 0) - (b.scheduleSlot?.getTime() ?? 0));
    },
    async ledger(scheduleId) {
      const rows = await store.scheduleSlotList({ scheduleId, limit: 100_000 });
      return rows.reverse();
    },
    async get(id) {
      const schedule = await store.scheduleGet({ id });
      if (schedule === undefined) throw new Error(`no schedule ${id}`);
      return schedule;
    },
  };
}

/** ISO strings of dates, for readable assertions. */
export function isoOf(dates: Array<Date | null>): string[] {
  return dates.map((d) => (d === null ? 'null' : d.toISOString()));
}
