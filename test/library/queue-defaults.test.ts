/**
 * A queue's job defaults (`queues: { name: { concurrencyKey, concurrencyLimit, group } }`,
 * docs/TENANCY.md): applied to every job enqueued into the queue whose options and task give none,
 * most specific first (the job's option, its task's default, its queue's), checked like a task's, a
 * failing function refusing the enqueue with nothing written; child jobs and schedule slot jobs get
 * them too, and the limit they give a key is enforced.
 */
import { describe, expect, it } from 'vitest';
import { EnqueueItemError } from '../../src/errors.js';
import type { Nightshift } from '../../src/nightshift.js';
import type { QueuesConfig } from '../../src/queue-limits.js';
import { defineTask } from '../../src/task.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv, FAST_WORKER } from '../worker/engine-harness.js';

const env = engineEnv();

/** The tenant a payload names, for the queue's functions, which see every task's payloads. */
function tenantOf(payload: unknown): string | null {
  const tenant = (payload as { tenant?: unknown } | null)?.tenant;
  if (tenant === 'throw') throw new Error('no tenant here');
  if (tenant === 'number') return 42 as unknown as string;
  return typeof tenant === 'string' ? tenant : null;
}

const queues: QueuesConfig = {
  'tenant-sync': {
    concurrencyKey: (payload, task) => {
      const tenant = tenantOf(payload);
      return tenant === null ? null : `${task}:${tenant}`;
    },
    concurrencyLimit: 3,
    group: (payload) => tenantOf(payload),
  },
  // A limit without a key function: for the keys the jobs or their tasks give.
  'limited-keys': { concurrencyLimit: 4 },
};

const tasks = {
  // No defaults of its own: the queue's apply.
  sync: defineTask<{ tenant?: string }>({ queue: 'tenant-sync', handler: () => 1 }),
  // Its own key and limit win over the queue's; its group function returns null: no group.
  'own.key': defineTask<{ tenant: string }>({
    queue: 'tenant-sync',
    concurrencyKey: (p) => `own:${p.tenant}`,
    concurrencyLimit: 2,
    group: () => null,
    handler: () => 1,
  }),
  // Its own key, no limit: the queue's limit applies to it.
  'own.key.no.limit': defineTask<{ tenant: string }>({
    queue: 'limited-keys',
    concurrencyKey: (p) => `nolimit:${p.tenant}`,
    handler: () => 1,
  }),
  elsewhere: defineTask<{ tenant: string }>({ handler: () => 1 }),
  labelled: defineTask<{ tenant: string }>({ queue: 'tenant-sync', requires: ['gpu'], handler: () => 1 }),
};

async function countJobs(ns: Nightshift): Promise<number> {
  return (await ns.listJobs({ limit: 1000 })).jobs.length;
}

/** Runs every job with a worker, then the limit each key was claimed with. */
async function keyLimits(ns: Nightshift, ids: string[]): Promise<Map<string, number | null>> {
  ns.startWorker({ ...FAST_WORKER, concurrency: 4 });
  for (const id of ids) expect((await ns.waitFor(id, { timeoutMs: 20_000 })).state).toBe('completed');
  const keys = await ns.concurrencyKeys({ running: false });
  return new Map(keys.map((k) => [k.key, k.limit]));
}

describe('job defaults of a queue', () => {
  it("applies the queue's key, limit and group to its jobs; the task's and the job's own come first", async () => {
    const ns = await env.connect({ tasks, queues });
    const derived = await ns.enqueue('sync', { tenant: 'acme' });
    expect(await ns.getJob(derived.id)).toMatchObject({
      queue: 'tenant-sync',
      concurrencyKey: 'sync:acme',
      group: 'acme',
    });
    // The job's own options win; its own limit applies to the queue's key.
    const own = await ns.enqueue(
      'sync',
      { tenant: 'acme' },
      { concurrencyKey: 'mine', concurrencyLimit: 5, group: 'g' },
    );
    expect(await ns.getJob(own.id)).toMatchObject({ concurrencyKey: 'mine', group: 'g' });
    const ownLimit = await ns.enqueue('sync', { tenant: 'beta' }, { concurrencyLimit: 6 });
    expect((await ns.getJob(ownLimit.id))?.concurrencyKey).toBe('sync:beta');
    // The task's functions win (a null group from it is no group), and so does its limit.
    const taskKey = await ns.enqueue('own.key', { tenant: 'acme' });
    expect(await ns.getJob(taskKey.id)).toMatchObject({ concurrencyKey: 'own:acme', group: null });
    // A payload the queue derives nothing from: no key, no group.
    const none = await ns.enqueue('sync', {});
    expect(await ns.getJob(none.id)).toMatchObject({ concurrencyKey: null, group: null });
    // The queue is the job's, not the task's: an option moves a job in or out of the defaults.
    const movedIn = await ns.enqueue('elsewhere', { tenant: 'acme' }, { queue: 'tenant-sync' });
    expect(await ns.getJob(movedIn.id)).toMatchObject({ concurrencyKey: 'elsewhere:acme', group: 'acme' });
    const movedOut = await ns.enqueue('sync', { tenant: 'acme' }, { queue: 'default' });
    expect(await ns.getJob(movedOut.id)).toMatchObject({ concurrencyKey: null, group: null });
    // A queue's limit without a key function: for a key the job gives, or its task derives.
    const given = await ns.enqueue(
      'elsewhere',
      { tenant: 'x' },
      { queue: 'limited-keys', concurrencyKey: 'given' },
    );
    const fromTask = await ns.enqueue('own.key.no.limit', { tenant: 'x' });
    const outside = await ns.enqueue('elsewhere', { tenant: 'x' }, { concurrencyKey: 'outside' });

    const limits = await keyLimits(ns, [
      derived.id,
      own.id,
      ownLimit.id,
      taskKey.id,
      none.id,
      movedIn.id,
      movedOut.id,
      given.id,
      fromTask.id,
      outside.id,
    ]);
    expect(Object.fromEntries(limits)).toEqual({
      'sync:acme': 3, // the queue's
      mine: 5, // the job's
      'sync:beta': 6, // the job's, on the queue's key
      'own:acme': 2, // the task's
      'elsewhere:acme': 3, // the queue's
      given: 4, // the queue's, on the job's key
      'nolimit:x': 4, // the queue's, on the task's key
      outside: 1, // no queue defaults: 1
    });
  });

  it('a function reading a field some payloads lack: guarded (as the docs show) it gives none, unguarded "undefined"', async () => {
    const ns = await env.connect({
      tasks: { sync: defineTask<{ tenantId?: string } | undefined>({ queue: 'guarded', handler: () => 1 }) },
      queues: {
        // README's and docs/TENANCY.md's example.
        guarded: {
          concurrencyKey: (p?: { tenantId?: string }) => (p?.tenantId ? `tenant:${p.tenantId}` : null),
          concurrencyLimit: 1,
          group: (p?: { tenantId?: string }) => p?.tenantId ?? null,
        },
        unguarded: {
          concurrencyKey: (p: { tenantId?: string }) => `tenant:${p.tenantId}`,
          concurrencyLimit: 1,
        },
      },
    });
    const tenant = await ns.enqueue('sync', { tenantId: 'acme' });
    expect(await ns.getJob(tenant.id)).toMatchObject({ concurrencyKey: 'tenant:acme', group: 'acme' });
    for (const payload of [{}, undefined]) {
      const none = await ns.enqueue('sync', payload);
      expect(await ns.getJob(none.id)).toMatchObject({ concurrencyKey: null, group: null });
    }
    // What docs/TENANCY.md says of an unguarded one: a shared key for every payload without the field,
    // and a refused enqueue for no payload at all.
    const shared = await ns.enqueue('sync', {}, { queue: 'unguarded' });
    expect((await ns.getJob(shared.id))?.concurrencyKey).toBe('tenant:undefined');
    await expectCode(ns.enqueue('sync', undefined, { queue: 'unguarded' }), 'invalid_argument');
  });

  it('enqueueMany gives them per item, each by its own queue', async () => {
    const ns = await env.connect({ tasks, queues });
    const results = await ns.enqueueMany([
      { task: 'sync', payload: { tenant: 'a' } },
      { task: 'elsewhere', payload: { tenant: 'b' } },
      { task: 'elsewhere', payload: { tenant: 'c' }, options: { queue: 'tenant-sync' } },
    ]);
    const jobs = await Promise.all(results.map((r) => ns.getJob(r.id)));
    expect(jobs.map((job) => [job?.concurrencyKey, job?.group])).toEqual([
      ['sync:a', 'a'],
      [null, null],
      ['elsewhere:c', 'c'],
    ]);
  });

  it('refuses the enqueue naming the queue, writing nothing, when a function throws or returns a non-string', async () => {
    const ns = await env.connect({ tasks, queues });
    await expectCode(
      ns.enqueue('sync', { tenant: 'throw' }),
      'invalid_argument',
      /queue "tenant-sync" \(task "sync"\): its concurrencyKey function threw on this payload: no tenant here/,
    );
    // The queue's key function makes a string of the tenant; its group function returns the number.
    await expectCode(
      ns.enqueue('sync', { tenant: 'number' }),
      'invalid_argument',
      /queue "tenant-sync" \(task "sync"\): its group function must return a string, null or undefined, not number/,
    );
    // The group function fails too where the job gives its own key.
    await expectCode(
      ns.enqueue('sync', { tenant: 'throw' }, { concurrencyKey: 'k' }),
      'invalid_argument',
      /queue "tenant-sync" \(task "sync"\): its group function threw/,
    );
    await expectCode(
      ns.enqueue('sync', { tenant: 'x'.repeat(2_000) }),
      'invalid_argument',
      /queue "tenant-sync" \(task "sync"\): concurrencyKey/,
    );
    await expectCode(
      ns.enqueue('sync', {}, { concurrencyLimit: 2 }),
      'invalid_argument',
      /concurrencyLimit needs a concurrencyKey, and queue "tenant-sync" \(task "sync"\) derived none/,
    );
    // A limit without any key in a queue without a key function is refused before the payload is read.
    await expectCode(
      ns.enqueue('elsewhere', { tenant: 'a' }, { queue: 'limited-keys', concurrencyLimit: 2 }),
      'invalid_argument',
      /concurrencyLimit needs a concurrencyKey: the limit counts/,
    );
    // A whole batch is refused for one item, with its index.
    const batch = ns.enqueueMany([
      { task: 'sync', payload: { tenant: 'a' } },
      { task: 'sync', payload: { tenant: 'throw' } },
    ]);
    await expectCode(batch, 'invalid_argument', /item 1: queue "tenant-sync".*threw/);
    await expect(batch).rejects.toBeInstanceOf(EnqueueItemError);
    // A schedule's payload goes through them when the schedule is created.
    await expectCode(
      ns.untyped.schedules.create({ id: 's', task: 'sync', everyMs: 60_000, payload: { tenant: 'throw' } }),
      'invalid_argument',
      /schedule "s".*queue "tenant-sync".*threw/,
    );
    expect(await ns.schedules.get('s')).toBeUndefined();
    expect(await countJobs(ns)).toBe(0);
    // A task's required labels and the queue's group combine.
    const labelled = await ns.enqueue('labelled', { tenant: 'a' });
    expect(await ns.getJob(labelled.id)).toMatchObject({ group: 'a', requires: ['gpu'] });
  });

  it('checks the settings when the instance connects', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ q: { concurrencyKey: 'fixed' } }, /queues\.q: concurrencyKey must be a function of the payload/],
      [
        { q: { group: null } },
        /^queues\.q: group must be a function of the payload and the task name \(for a fixed group, give the enqueue option group\)$/,
      ],
      [{ q: { concurrencyLimit: 0 } }, /queues\.q: concurrencyLimit must be an integer from 1 to 2147483647/],
      [{ q: { concurrencyLimit: 2 ** 31 } }, /queues\.q: concurrencyLimit must be an integer/],
      [
        { q: { key: () => 'k' } },
        /queues\.q: unknown setting "key" \(known: concurrency, rate, concurrencyKey, concurrencyLimit, group\)/,
      ],
    ];
    for (const [settings, message] of cases) {
      await expectCode(env.connect({ tasks, queues: settings as QueuesConfig }), 'invalid_argument', message);
    }
    // Job defaults alone write no queue limit to the database.
    const ns = await env.connect({ tasks, queues });
    expect(await ns.queueLimits()).toEqual([]);
  });

  it("a child job gets its queue's defaults, and a schedule's slot job too", async () => {
    const parentTasks = {
      ...tasks,
      parent: defineTask<{ tenant: string }>({
        handler: async (payload, ctx) => (await ctx.enqueue('sync', payload, { key: 'child' })).id,
      }),
    };
    const ns = await env.connect({ tasks: parentTasks, queues });
    const parent = await ns.enqueue('parent', { tenant: 'kid' });
    ns.startWorker({ ...FAST_WORKER, queues: ['default'] });
    const done = await ns.waitFor(parent.id, { timeoutMs: 20_000 });
    expect(done.state).toBe('completed');
    const child = await ns.getJob(done.result as string);
    expect(child).toMatchObject({ parentId: parent.id, concurrencyKey: 'sync:kid', group: 'kid' });

    await ns.schedules.create({ id: 'nightly', task: 'sync', everyMs: 60_000, payload: { tenant: 'z' } });
    const triggered = await ns.schedules.trigger('nightly');
    if (triggered.status !== 'enqueued') throw new Error(`trigger: ${triggered.status}`);
    expect(await ns.getJob(triggered.jobId)).toMatchObject({
      concurrencyKey: 'sync:z',
      group: 'z',
      scheduleId: 'nightly',
    });
  });

  it('never runs two jobs of a queue-derived key with limit 1 at once, and runs them all', async () => {
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const ns = await env.connect({
      tasks: {
        slow: defineTask<{ tenant: string }>({
          queue: 'one-each',
          handler: async ({ tenant }) => {
            running.set(tenant, (running.get(tenant) ?? 0) + 1);
            most.set(tenant, Math.max(most.get(tenant) ?? 0, running.get(tenant) ?? 0));
            await new Promise((resolve) => setTimeout(resolve, 30));
            running.set(tenant, (running.get(tenant) ?? 0) - 1);
          },
        }),
      },
      queues: { 'one-each': { concurrencyKey: (payload) => tenantOf(payload), concurrencyLimit: 1 } },
    });
    const results = await ns.enqueueMany(
      Array.from({ length: 12 }, (_, i) => ({ task: 'slow', payload: { tenant: i % 2 === 0 ? 'a' : 'b' } })),
    );
    ns.startWorker({ ...FAST_WORKER, concurrency: 10 });
    for (const { id } of results) {
      expect((await ns.waitFor(id, { timeoutMs: 20_000 })).state).toBe('completed');
    }
    expect(Object.fromEntries(most)).toEqual({ a: 1, b: 1 });
  });
});
