/**
 * Conformance: schedules as rows and the slot ledger. Planners are the real ones; times are placed in
 * the past (a fixed `now` handed to the passes) so both the injectable SQLite clock and PostgreSQL's
 * own clock agree that every job written is due.
 */
import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../../src/errors.js';
import { planFire } from '../../src/scheduler/fire.js';
import { planTrigger } from '../../src/scheduler/operator.js';
import type { PlanOptions } from '../../src/scheduler/runs.js';
import { type ScheduleDefinition, type ScheduleState } from '../../src/schedule-types.js';
import { initialScheduleState } from '../../src/scheduler/schedule.js';
import { ScheduleService } from '../../src/scheduler/schedule-service.js';
import { planSettle } from '../../src/scheduler/settle.js';
import { slotJobFactory } from '../../src/scheduler/slot-job.js';
import { validateSchedule } from '../../src/scheduler/validate.js';
import type { Store } from '../../src/store/store.js';
import { TaskRegistry } from '../../src/task-registry.js';
import type { StoreHarness } from '../support/store-harness.js';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const registry = new TaskRegistry({
  report: { handler: () => undefined, queue: 'conf-sched', maxAttempts: 1 },
});

function definition(
  id: string,
  extra: Partial<Parameters<typeof validateSchedule>[0]> = {},
): ScheduleDefinition {
  return validateSchedule({ id, task: 'report', everyMs: 60_000, ...extra }, 'api', () => true);
}

function state(nextSlotAt: Date | null, paused = false): ScheduleState {
  return initialScheduleState(nextSlotAt, paused);
}

function options(nowMs: number): PlanOptions {
  const now = new Date(nowMs);
  return { now, missedAfterMs: 30_000, newJob: slotJobFactory(registry, now) };
}

async function scheduleJobs(store: Store, scheduleId: string) {
  const { jobs } = await store.jobList({ limit: 1000 });
  return jobs.filter((job) => job.scheduleId === scheduleId);
}

/** Fires every slot due at `nowMs` and claims the first job of the task's queue. */
async function fireAndClaim(store: Store, nowMs: number) {
  await store.scheduleFire({
    dueBy: new Date(nowMs),
    limit: 10,
    plan: (due) => planFire(due, options(nowMs)),
  });
  const [claimed] = await store.jobClaim({
    workerId: 'w',
    queues: ['conf-sched'],
    limit: 10,
    leaseMs: 60_000,
  });
  return claimed;
}

/** Schedule store tests. */
export function describeSchedules(h: StoreHarness): void {
  describe('schedules', () => {
    it('creates, reads, lists, updates and deletes schedules; a taken id is a conflict', async () => {
      const store = await h.open();
      const created = await store.scheduleCreate({
        definition: definition('a', { payload: { x: 1 } }),
        state: state(new Date(T0)),
      });
      expect(created).toMatchObject({
        id: 'a',
        task: 'report',
        everyMs: 60_000,
        payload: { x: 1 },
        version: 1,
        paused: false,
      });
      expect(created.nextSlotAt?.getTime()).toBe(T0);
      await store.scheduleCreate({ definition: definition('b'), state: state(null, true) });
      await expect(
        store.scheduleCreate({ definition: definition('a'), state: state(null) }),
      ).rejects.toMatchObject({
        code: 'conflict',
      });
      expect((await store.scheduleList({ limit: 10 })).map((s) => s.id)).toEqual(['a', 'b']);
      expect((await store.scheduleList({ limit: 10, afterId: 'a' })).map((s) => s.id)).toEqual(['b']);

      const kept = await store.scheduleUpdate({ definition: definition('a', { payload: { x: 2 } }) });
      expect(kept?.payload).toEqual({ x: 2 });
      expect(kept?.nextSlotAt?.getTime()).toBe(T0);
      expect(kept?.version).toBe(2);
      const retimed = await store.scheduleUpdate({
        definition: definition('a', { everyMs: 120_000 }),
        nextSlotAt: new Date(T0 + 120_000),
      });
      expect(retimed?.nextSlotAt?.getTime()).toBe(T0 + 120_000);
      expect(await store.scheduleUpdate({ definition: definition('zz') })).toBeUndefined();

      expect(await store.scheduleDelete({ id: 'a' })).toBe(true);
      expect(await store.scheduleDelete({ id: 'a' })).toBe(false);
      expect(await store.scheduleGet({ id: 'a' })).toBeUndefined();
    });

    it('syncs config schedules: creates, updates keeping the next slot unless timing changed, deletes, keeps api ones', async () => {
      const store = await h.open();
      const config = (id: string, everyMs = 60_000) =>
        validateSchedule({ id, task: 'report', everyMs }, 'config', () => true);
      await store.scheduleCreate({ definition: definition('api-one'), state: state(new Date(T0)) });
      const first = await store.scheduleSync({
        schedules: [
          { definition: config('c1'), state: state(new Date(T0)) },
          { definition: config('c2'), state: state(new Date(T0)) },
          { definition: config('api-one'), state: state(new Date(T0)) },
        ],
      });
      expect(first).toEqual({
        created: ['c1', 'c2'],
        updated: [],
        unchanged: [],
        deleted: [],
        conflicts: ['api-one'],
      });
      const version = (await store.scheduleGet({ id: 'c1' }))?.version;
      // c1 as it was: left alone, its version kept, so a scheduler planning it meanwhile is not made to
      // plan again (every start of a scheduler syncs, and said "updated" for every config schedule).
      const second = await store.scheduleSync({
        schedules: [
          { definition: config('c1'), state: state(new Date(T0 + 999_000)) },
          { definition: config('c3', 30_000), state: state(new Date(T0)) },
        ],
      });
      expect(second).toEqual({
        created: ['c3'],
        updated: [],
        unchanged: ['c1'],
        deleted: ['c2'],
        conflicts: [],
      });
      expect(await store.scheduleGet({ id: 'c1' })).toMatchObject({ version, nextSlotAt: new Date(T0) });
      const third = await store.scheduleSync({
        schedules: [
          { definition: { ...config('c1'), payload: { full: true } }, state: state(new Date(T0 + 999_000)) },
          { definition: config('c3', 30_000), state: state(new Date(T0)) },
        ],
      });
      expect(third).toEqual({ created: [], updated: ['c1'], unchanged: ['c3'], deleted: [], conflicts: [] });
      expect(await store.scheduleGet({ id: 'c1' })).toMatchObject({
        payload: { full: true },
        nextSlotAt: new Date(T0),
      });
      await store.scheduleSync({
        schedules: [{ definition: config('c1', 30_000), state: state(new Date(T0 + 30_000)) }],
      });
      expect((await store.scheduleGet({ id: 'c1' }))?.nextSlotAt?.getTime()).toBe(T0 + 30_000);
      expect((await store.scheduleList({ limit: 10 })).map((s) => `${s.id}:${s.source}`)).toEqual([
        'api-one:api',
        'c1:config',
      ]);
    });

    it('upserts api schedules in one call: creates, updates only what changed, keeps state and ledger', async () => {
      const store = await h.open();
      await store.scheduleCreate({ definition: definition('t-1'), state: state(new Date(T0)) });
      const now = T0 + 1_000;
      await store.scheduleFire({
        dueBy: new Date(now),
        limit: 10,
        plan: (due) => planFire(due, options(now)),
      });
      const fired = await store.scheduleGet({ id: 't-1' });
      expect(fired?.lastSlotAt?.getTime()).toBe(T0);

      const first = await store.scheduleUpsertMany({
        schedules: [
          // Same definition, with a next slot the store must not take: nothing changed.
          { definition: definition('t-1'), state: state(new Date(T0 + 999_000)) },
          { definition: definition('t-2', { payload: { tenant: 2 } }), state: state(new Date(T0)) },
          { definition: definition('t-0'), state: state(null, true) },
        ],
      });
      expect(first).toEqual({ created: ['t-2', 't-0'], updated: [], unchanged: ['t-1'] });
      expect(await store.scheduleGet({ id: 't-1' })).toEqual(fired);
      expect(await store.scheduleGet({ id: 't-0' })).toMatchObject({ paused: true, source: 'api' });

      const second = await store.scheduleUpsertMany({
        schedules: [
          { definition: definition('t-1', { payload: { tenant: 1 } }), state: state(new Date(T0 + 999_000)) },
          { definition: definition('t-2', { payload: { tenant: 2 } }), state: state(new Date(T0)) },
        ],
      });
      expect(second).toEqual({ created: [], updated: ['t-1'], unchanged: ['t-2'] });
      const changed = await store.scheduleGet({ id: 't-1' });
      // The payload changed, the timing did not: the next slot, the last slot and the ledger stay.
      expect(changed).toMatchObject({ payload: { tenant: 1 }, version: (fired?.version ?? 0) + 1 });
      expect(changed?.nextSlotAt).toEqual(fired?.nextSlotAt);
      expect(changed?.lastSlotAt?.getTime()).toBe(T0);
      expect(await store.scheduleSlotList({ scheduleId: 't-1', limit: 10 })).toHaveLength(1);

      const retimed = await store.scheduleUpsertMany({
        schedules: [
          {
            definition: definition('t-1', { payload: { tenant: 1 }, everyMs: 30_000 }),
            state: state(new Date(T0 + 30_000)),
          },
        ],
      });
      expect(retimed.updated).toEqual(['t-1']);
      expect((await store.scheduleGet({ id: 't-1' }))?.nextSlotAt?.getTime()).toBe(T0 + 30_000);
    });

    it('refuses an upsert naming a config schedule and writes none of the batch', async () => {
      const store = await h.open();
      const config = validateSchedule(
        { id: 'from-config', task: 'report', everyMs: 60_000 },
        'config',
        () => true,
      );
      await store.scheduleSync({ schedules: [{ definition: config, state: state(new Date(T0)) }] });
      await expect(
        store.scheduleUpsertMany({
          schedules: [
            { definition: definition('brand-new'), state: state(new Date(T0)) },
            { definition: definition('from-config'), state: state(new Date(T0)) },
          ],
        }),
      ).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('"from-config"') as string,
      });
      expect(await store.scheduleGet({ id: 'brand-new' })).toBeUndefined();
      expect((await store.scheduleGet({ id: 'from-config' }))?.source).toBe('config');
    });

    it('lists schedules filtered by task, condition and id prefix, paged by id', async () => {
      const store = await h.open();
      const ids = ['tenant-a:1', 'tenant-a:2', 'tenant-a:3', 'tenant-b:1', 'tenant_a:x', 'Tenant-a:4'];
      for (const id of ids) {
        await store.scheduleCreate({
          definition: definition(id, id.endsWith('2') ? { task: 'other' } : {}),
          state: state(new Date(T0), id.endsWith('3')),
        });
      }
      // Suspend tenant-a:1 (and pause it too: suspended wins).
      await store.scheduleApply({
        id: 'tenant-a:1',
        plan: (due) => ({
          states: [
            {
              id: due.schedule.id,
              expectVersion: due.schedule.version,
              state: { ...due.schedule, paused: true, suspendedAt: new Date(T0), suspendedReason: 'test' },
            },
          ],
          slots: [],
          slotUpdates: [],
          jobs: [],
        }),
      });
      const list = async (params: Omit<Parameters<Store['scheduleList']>[0], 'limit'>, limit = 100) =>
        (await store.scheduleList({ limit, ...params })).map((s) => s.id);

      expect(await list({ idPrefix: 'tenant-a:' })).toEqual(['tenant-a:1', 'tenant-a:2', 'tenant-a:3']);
      expect(await list({ idPrefix: 'tenant-a:', afterId: 'tenant-a:1' })).toEqual([
        'tenant-a:2',
        'tenant-a:3',
      ]);
      expect(await list({ idPrefix: 'tenant-a:' }, 2)).toEqual(['tenant-a:1', 'tenant-a:2']);
      // A prefix is literal: _ and % are no wildcards, and case counts.
      expect(await list({ idPrefix: 'tenant_' })).toEqual(['tenant_a:x']);
      expect(await list({ idPrefix: 'tenant%' })).toEqual([]);
      expect(await list({ task: 'other' })).toEqual(['tenant-a:2']);
      expect(await list({ condition: 'suspended' })).toEqual(['tenant-a:1']);
      expect(await list({ condition: 'paused' })).toEqual(['tenant-a:3']);
      expect(await list({ condition: 'active', idPrefix: 'tenant' })).toEqual([
        'tenant-a:2',
        'tenant-b:1',
        'tenant_a:x',
      ]);
      expect(await list({ condition: 'active', task: 'report', idPrefix: 'tenant-' })).toEqual([
        'tenant-b:1',
      ]);
    });

    it('lists an id prefix whole, up to the ids just past it, and any text as a prefix', async () => {
      const store = await h.open();
      // '.' follows '-', ':' follows '9' and 'z' follows 'y': the first ids past each prefix's range.
      const ids = [
        'tenant-',
        'tenant-9',
        'tenant-99',
        'tenant-:',
        'tenant-y',
        'tenant-yz',
        'tenant-z',
        'tenant.',
      ];
      for (const id of ids)
        await store.scheduleCreate({ definition: definition(id), state: state(new Date(T0)) });
      const list = async (idPrefix: string) =>
        (await store.scheduleList({ limit: 100, idPrefix })).map((s) => s.id).sort();
      expect(await list('tenant-')).toEqual(ids.slice(0, 7).sort());
      expect(await list('tenant-9')).toEqual(['tenant-9', 'tenant-99']);
      expect(await list('tenant-y')).toEqual(['tenant-y', 'tenant-yz']);
      expect(await list('tenant.')).toEqual(['tenant.']);
      // Ids are ASCII; a prefix may be any text, and one ending in the last code point finds nothing.
      for (const prefix of ['é', '\u{1F600}', '\u{10FFFF}', 'tenant-\u{10FFFF}'])
        expect(await list(prefix)).toEqual([]);
    });

    it('fires each due slot once when two stores race over the same schedules', async () => {
      const store = await h.open();
      const peer = await h.openPeer(store);
      for (let i = 0; i < 40; i++) {
        await store.scheduleCreate({
          definition: definition(`s${String(i).padStart(2, '0')}`, { overlap: 'allow' }),
          state: state(new Date(T0)),
        });
      }
      const now = T0 + 1_000;
      const fire = (s: Store) =>
        s
          .scheduleFire({ dueBy: new Date(now), limit: 7, plan: (due) => planFire(due, options(now)) })
          .catch((error: unknown) => {
            if (error instanceof NightshiftError && error.code === 'conflict') return undefined;
            throw error;
          });
      for (let round = 0; round < 12; round++)
        await Promise.all([fire(store), fire(peer), fire(store), fire(peer)]);
      const { jobs } = await store.jobList({ limit: 1000 });
      expect(jobs).toHaveLength(40);
      expect(new Set(jobs.map((j) => j.scheduleId)).size).toBe(40);
      for (const job of jobs) {
        expect(job.scheduleSlot?.getTime()).toBe(T0);
        expect(job.idempotencyKey).toBe(`schedule:${job.scheduleId}:${new Date(T0).toISOString()}`);
      }
      for (const s of await store.scheduleList({ limit: 100 })) {
        expect(s.nextSlotAt?.getTime()).toBe(T0 + 60_000);
        expect(s.lastSlotAt?.getTime()).toBe(T0);
      }
    });

    it('writes nothing when a plan was made from a stale version (compare-and-set)', async () => {
      const store = await h.open();
      await store.scheduleCreate({ definition: definition('cas'), state: state(new Date(T0)) });
      const now = T0 + 1_000;
      await expect(
        store.scheduleFire({
          dueBy: new Date(now),
          limit: 10,
          plan: (due) => {
            const writes = planFire(due, options(now));
            for (const s of writes.states) s.expectVersion -= 1;
            return writes;
          },
        }),
      ).rejects.toMatchObject({ code: 'conflict' });
      expect(await scheduleJobs(store, 'cas')).toHaveLength(0);
      expect(await store.scheduleSlotList({ scheduleId: 'cas', limit: 10 })).toHaveLength(0);
      expect((await store.scheduleGet({ id: 'cas' }))?.nextSlotAt?.getTime()).toBe(T0);
    });

    it('keeps a slot recorded once: a second plan of the same slot writes no second job', async () => {
      const store = await h.open();
      await store.scheduleCreate({
        definition: definition('once', { overlap: 'allow' }),
        state: state(new Date(T0)),
      });
      const now = T0 + 1_000;
      const fired = await store.scheduleFire({
        dueBy: new Date(now),
        limit: 10,
        plan: (due) => planFire(due, options(now)),
      });
      expect(fired.jobs).toHaveLength(1);
      // A scheduler whose clock jumped back replans the slot it already fired.
      const replay = await store.scheduleApply({
        id: 'once',
        plan: (due) =>
          planFire([{ ...due, schedule: { ...due.schedule, nextSlotAt: new Date(T0) } }], options(now)),
      });
      expect(replay?.writes.jobs).toHaveLength(0);
      expect(replay?.writes.slots).toHaveLength(0);
      expect(await scheduleJobs(store, 'once')).toHaveLength(1);
    });

    it('settles a finished run once and records its outcome', async () => {
      const store = await h.open();
      await store.scheduleCreate({ definition: definition('settle'), state: state(new Date(T0)) });
      const now = T0 + 1_000;
      const claimed = await fireAndClaim(store, now);
      if (!claimed) throw new Error('nothing claimed');
      const idle = await store.scheduleSettle({
        limit: 10,
        plan: (input) => planSettle(input, options(now)),
      });
      expect(idle.slotUpdates).toHaveLength(0);
      await store.jobFinishMany({
        finishes: [{ id: claimed.id, leaseToken: claimed.leaseToken, outcome: 'completed', result: 1 }],
      });
      const settled = await store.scheduleSettle({
        limit: 10,
        plan: (input) => planSettle(input, options(now)),
      });
      expect(settled.slotUpdates.map((s) => s.outcome)).toEqual(['completed']);
      const again = await store.scheduleSettle({
        limit: 10,
        plan: (input) => planSettle(input, options(now)),
      });
      expect(again.slotUpdates).toHaveLength(0);
      const schedule = await store.scheduleGet({ id: 'settle' });
      expect(schedule?.lastOutcome).toBe('completed');
      const [row] = await store.scheduleSlotList({ scheduleId: 'settle', limit: 10 });
      expect(row).toMatchObject({ status: 'enqueued', outcome: 'completed', jobId: claimed.id });
    });

    it('empties a queue, priority and failure bound given null, keeps a field given undefined, and fires on the task’s', async () => {
      const store = await h.open();
      const service = new ScheduleService(store, registry, () => Promise.resolve(new Date(T0 - 1_000)));
      await service.create({
        id: 'cleared',
        task: 'report',
        everyMs: 60_000,
        queue: 'elsewhere',
        priority: 7,
        maxConsecutiveFailures: 1,
      });
      const set = { queue: 'elsewhere', priority: 7, maxConsecutiveFailures: 1 };
      // Undefined is a field left out, as a PATCH that omits the key: the schedule keeps its value.
      expect(
        await service.update('cleared', {
          queue: undefined,
          priority: undefined,
          maxConsecutiveFailures: undefined,
          jitterMs: 5,
        }),
      ).toMatchObject({ ...set, jitterMs: 5 });
      const cleared = { queue: null, priority: null, maxConsecutiveFailures: null };
      expect(await service.update('cleared', cleared)).toMatchObject(cleared);
      expect(await store.scheduleGet({ id: 'cleared' })).toMatchObject({ ...cleared, jitterMs: 5 });

      // Its next run goes to the task's queue at the task's priority, and a failure suspends nothing.
      const now = T0 + 1_000;
      const claimed = await fireAndClaim(store, now);
      expect(claimed).toMatchObject({ scheduleId: 'cleared', queue: 'conf-sched', priority: 0 });
      if (!claimed) throw new Error('nothing claimed');
      const error = { message: 'boom', name: 'Error', reason: 'failed' } as const;
      const { id, leaseToken } = claimed;
      await store.jobFinishMany({ finishes: [{ id, leaseToken, outcome: 'failed', error }] });
      const settled = await store.scheduleSettle({
        limit: 10,
        plan: (input) => planSettle(input, options(now)),
      });
      expect(settled.slotUpdates.map((s) => s.outcome)).toEqual(['failed']);
      expect(await store.scheduleGet({ id: 'cleared' })).toMatchObject({
        consecutiveFailures: 1,
        suspendedAt: null,
      });
    });

    it('applies a trigger under lock and reports an absent schedule as undefined', async () => {
      const store = await h.open();
      await store.scheduleCreate({ definition: definition('trig'), state: state(new Date(T0 + 3_600_000)) });
      const out = await store.scheduleApply({ id: 'trig', plan: (due) => planTrigger(due, options(T0)) });
      expect(out?.writes.jobs).toHaveLength(1);
      expect(out?.schedule.lastJobId).toBe(out?.writes.jobs[0]?.id);
      expect(
        await store.scheduleApply({ id: 'nope', plan: (due) => planTrigger(due, options(T0)) }),
      ).toBeUndefined();
    });

    it('prunes old settled ledger rows but keeps open runs', async () => {
      const store = await h.open();
      await store.scheduleCreate({
        definition: definition('prune', { overlap: 'allow' }),
        state: state(new Date(T0)),
      });
      const now = T0 + 1_000;
      await store.scheduleFire({
        dueBy: new Date(now),
        limit: 10,
        plan: (due) => planFire(due, options(now)),
      });
      const later = T0 + 10 * 60_000 + 1_000;
      // Nine more slots: all of them still open (no job finished), so nothing may be pruned.
      await store.scheduleFire({
        dueBy: new Date(later),
        limit: 10,
        plan: (due) => planFire(due, { ...options(later), missedAfterMs: 3_600_000 }),
      });
      expect(await store.scheduleSlotList({ scheduleId: 'prune', limit: 100 })).toHaveLength(11);
      expect((await store.scheduleSlotPrune({ olderThanMs: 0, limit: 100 })).deleted).toBe(0);
      const claimed = await store.jobClaim({
        workerId: 'w',
        queues: ['conf-sched'],
        limit: 100,
        leaseMs: 60_000,
      });
      await store.jobFinishMany({
        finishes: claimed.map((c) => ({ id: c.id, leaseToken: c.leaseToken, outcome: 'completed' as const })),
      });
      await store.scheduleSettle({ limit: 100, plan: (input) => planSettle(input, options(later)) });
      const pruned = await store.scheduleSlotPrune({ olderThanMs: 0, limit: 5 });
      expect(pruned.deleted).toBe(5);
      expect(await store.scheduleSlotList({ scheduleId: 'prune', limit: 100 })).toHaveLength(6);
    });
  });
}
