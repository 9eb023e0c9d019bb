/**
 * Short intervals on both backends (issue 12, section 1). On an injected clock: an `everyMs: 2000`
 * schedule under the default lookahead enqueues every slot once (the lookahead once counted its own
 * early jobs, and jobs it never wrote, as the active run that skipped the next slots); a skip names the
 * job that really runs; a drain request is never skipped behind the next slot's early job. In real time,
 * with a real worker: 100 ms and 200 ms intervals give each slot one ledger row and one job, and a
 * handler's `{ again: true }` gets its next run at once, not at the next scheduler pass.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import { planFire } from '../../src/scheduler/fire.js';
import type { SlotRecord } from '../../src/schedule-types.js';
import { slotJobFactory } from '../../src/scheduler/slot-job.js';
import type { Job } from '../../src/job.js';
import type { TaskMap } from '../../src/task.js';
import { waitUntil } from '../support/wait-until.js';
import { BACKENDS, openFixture, type ScheduleFixture } from './fixture.js';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const jobIdIn = (reason: string | null) => /run (\S+)/.exec(reason ?? '')?.[1];

/** Every skipped or waiting row names a job that exists; returns the named ids. */
function namedJobs(ledger: SlotRecord[], jobs: Job[]): string[] {
  const ids = new Set(jobs.map((job) => job.id));
  const named = ledger
    .filter((r) => r.status === 'skipped' || r.status === 'waiting')
    .map((r) => jobIdIn(r.reason));
  for (const id of named)
    expect(ids.has(id ?? ''), `a skip names job ${id}, which does not exist`).toBe(true);
  return named.map(String);
}

/** Regular slots of a ledger, oldest first, each listed once. */
function slotKeysOnce(ledger: SlotRecord[]): string[] {
  const keys = ledger.filter((r) => r.kind === 'slot').map((r) => r.slotKey);
  expect(new Set(keys).size).toBe(keys.length);
  return keys;
}

describe.each(BACKENDS)('short intervals on $name', ({ harness }) => {
  afterEach(() => harness.close());

  async function passEverySecond(f: ScheduleFixture, seconds: number, worker: () => Promise<unknown>) {
    const s = f.scheduler();
    for (let i = 0; i < seconds; i++) {
      await s.runOnce();
      await worker();
      await f.clock.advance(1_000);
    }
  }

  it('enqueues every slot of an everyMs 2000 schedule once under the default lookahead', async () => {
    const f = await openFixture(harness, T0 + 5);
    await f.service.create({ id: 'every2s', task: 'report', everyMs: 2_000 });
    await passEverySecond(f, 16, () => f.finishAll('completed'));
    const ledger = await f.ledger('every2s');
    const jobs = await f.jobsOf('every2s');
    namedJobs(ledger, jobs);
    expect(ledger.map((r) => r.status)).toEqual(ledger.map(() => 'enqueued'));
    expect(slotKeysOnce(ledger)).toEqual(
      Array.from({ length: ledger.length }, (_, i) => at(T0 + 2_000 * (i + 1))),
    );
    expect(ledger.length).toBeGreaterThanOrEqual(7);
    expect(jobs.map((j) => j.id).sort()).toEqual(ledger.map((r) => r.jobId).sort());
  });

  it('skips a slot only while a real job of the schedule runs, and names it', async () => {
    const f = await openFixture(harness, T0 + 5);
    await f.service.create({ id: 'slow', task: 'report', everyMs: 2_000 });
    let running: string | undefined;
    await passEverySecond(f, 8, async () => {
      if (running === undefined) running = (await f.claimAll())[0]?.id;
    });
    const ledger = await f.ledger('slow');
    const jobs = await f.jobsOf('slow');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.state).toBe('running');
    const skipped = ledger.filter((r) => r.status === 'skipped');
    expect(skipped.length).toBeGreaterThanOrEqual(2);
    expect(new Set(namedJobs(ledger, jobs))).toEqual(new Set([running]));
    for (const row of skipped) expect(row.reason).toBe(`overlap skip: run ${running} still active`);
    expect(slotKeysOnce(ledger)).toEqual(
      Array.from({ length: ledger.length }, (_, i) => at(T0 + 2_000 * (i + 1))),
    );
  });

  it('never writes the next slot early while a finished run still waits to be settled (its drain comes first)', async () => {
    const f = await openFixture(harness, T0 + 5);
    await f.service.create({ id: 'drain', task: 'report', everyMs: 2_000 });
    const s = f.scheduler();
    await f.clock.advance(2_000);
    await s.runOnce(); // slot T0+2000 on time
    await f.finishAll('completed', { again: true });
    // A fire pass (another scheduler's, or this one's racing the finish) before any settle pass.
    const now = new Date(f.clock.now());
    await f.store.scheduleFire({
      dueBy: new Date(now.getTime() + 5_000),
      limit: 10,
      plan: (due) =>
        planFire(due, {
          now,
          missedAfterMs: 30_000,
          lookaheadMs: 5_000,
          newJob: slotJobFactory(f.registry, now),
        }),
    });
    await s.runOnce();
    const ledger = await f.ledger('drain');
    expect(ledger.map((r) => `${r.slotKey} ${r.status}`)).toEqual([
      `${at(T0 + 2_000)} enqueued`,
      `${at(T0 + 2_000)}#1 enqueued`,
    ]);
  });
});

describe.each(BACKENDS)('short intervals in real time on $name', ({ name, harness }) => {
  const open: Nightshift[] = [];
  afterEach(async () => {
    for (const ns of open.splice(0)) await ns.close({ force: true, graceMs: 0 });
    await harness.close();
  });

  async function connect(tasks: TaskMap): Promise<Nightshift> {
    const ns = await Nightshift.connect({
      db: await harness.open(),
      logger: createLogger({ level: 'silent' }),
      tasks,
    });
    open.push(ns);
    return ns;
  }

  it('runs 100 ms and 200 ms intervals with one ledger row and at most one job per slot, every slot with overlap allow', async () => {
    const ns = await connect({ tick: () => undefined });
    await ns.schedules.create({ id: 'every100', task: 'tick', everyMs: 100, overlap: 'allow' });
    await ns.schedules.create({ id: 'every200', task: 'tick', everyMs: 200 });
    ns.startScheduler();
    ns.startWorker({ pollIntervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await ns.close();
    open.splice(0);
    for (const [id, everyMs] of [
      ['every100', 100],
      ['every200', 200],
    ] as const) {
      const view = await ns.store.scheduleSlotList({ scheduleId: id, limit: 1_000 });
      const ledger = view.reverse();
      const jobs = (await ns.store.jobList({ limit: 1_000 })).jobs.filter((j) => j.scheduleId === id);
      namedJobs(ledger, jobs);
      const keys = slotKeysOnce(ledger);
      const first = Date.parse(keys[0] ?? '');
      // Consecutive slots, none lost without a row: 3 s of a 100 ms interval is ~30 slots.
      expect(keys).toEqual(keys.map((_, i) => at(first + everyMs * i)));
      expect(keys.length).toBeGreaterThanOrEqual(3_000 / everyMs / 2);
      const enqueued = ledger.filter((r) => r.status === 'enqueued');
      expect(new Set(jobs.map((j) => j.idempotencyKey)).size).toBe(jobs.length);
      expect(jobs.map((j) => j.id).sort()).toEqual(enqueued.map((r) => r.jobId).sort());
      // With overlap allow every slot runs. With the default skip a slot meets a run still queued or
      // running on a loaded machine (seen: a run of a trivial handler over 300 ms after its slot at
      // load 17 on 2 cores), skipped with that run named; generous: a quarter must run.
      expect(enqueued.length).toBeGreaterThanOrEqual(everyMs === 100 ? keys.length : keys.length / 4);
    }
  });

  it('starts the next run at once when a handler returns { again: true }', async () => {
    const starts: number[] = [];
    const ns = await connect({
      backlog: () => {
        starts.push(performance.now());
        return { again: starts.length < 21 };
      },
    });
    await ns.schedules.create({ id: 'backlog', task: 'backlog', cron: '0 0 1 1 *', maxDrainRuns: 30 });
    // Default scheduler and worker intervals (1 s): the gap must not depend on either.
    ns.startScheduler();
    ns.startWorker();
    expect((await ns.schedules.trigger('backlog')).status).toBe('enqueued');
    await waitUntil(() => starts.length >= 21, { timeoutMs: 30_000, message: '21 runs' });
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? t));
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] ?? Infinity;
    console.log(
      `{ again: true } gap on ${name}: median ${median.toFixed(1)} ms, max ${Math.max(...gaps).toFixed(1)} ms over ${gaps.length} runs`,
    );
    // Before, a drain run waited for the next pass: a median of 1,000-1,030 ms. Seen since: 12-90 ms
    // (SQLite) and 50-430 ms (PostgreSQL, at load 16-37 on 2 cores, most of it the settle transaction's
    // round trips); the bound is generous for that load.
    expect(median).toBeLessThan(700);
  });
});
