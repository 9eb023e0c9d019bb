/**
 * A task's key and group derived from each job's payload (`defineTask({ concurrencyKey, group })`,
 * docs/TENANCY.md): set where the job gives none, checked like the options, and a failing function
 * refuses the enqueue with nothing written; a schedule's jobs get them too.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineContract, implement } from '../../src/contract.js';
import type { Nightshift } from '../../src/nightshift.js';
import { defineTask } from '../../src/task.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();

interface Sync {
  tenant: string | null;
}

const tasks = {
  'tenant.sync': defineTask<Sync>({
    concurrencyLimit: 2,
    concurrencyKey: (p) => (p.tenant === null ? null : `tenant:${p.tenant}`),
    group: (p) => p.tenant,
    handler: () => 1,
  }),
  'region.sync': defineTask<{ tenant: string }>({
    requires: ['region:eu'],
    group: (p) => p.tenant,
    handler: () => 1,
  }),
  'tenant.bad': defineTask<{ n: unknown }>({
    concurrencyKey: (p) => {
      if (p.n === 'throw') throw new Error('no tenant here');
      return p.n as string;
    },
    handler: () => 1,
  }),
};

async function countJobs(ns: Nightshift): Promise<number> {
  return (await ns.listJobs({ limit: 1000 })).jobs.length;
}

describe('payload defaults of a task', () => {
  it("derives the key, the task's limit and the group from the payload; a job's own options win", async () => {
    const ns = await env.connect({ tasks });
    const derived = await ns.enqueue('tenant.sync', { tenant: 'acme' });
    const stored = await ns.getJob(derived.id);
    expect(stored).toMatchObject({ concurrencyKey: 'tenant:acme', group: 'acme' });
    const own = await ns.enqueue(
      'tenant.sync',
      { tenant: 'acme' },
      { concurrencyKey: 'mine', concurrencyLimit: 5, group: 'g' },
    );
    expect(await ns.getJob(own.id)).toMatchObject({ concurrencyKey: 'mine', group: 'g' });
    // A job's limit applies to the derived key.
    const limited = await ns.enqueue('tenant.sync', { tenant: 'beta' }, { concurrencyLimit: 3 });
    expect((await ns.getJob(limited.id))?.concurrencyKey).toBe('tenant:beta');
    const none = await ns.enqueue('tenant.sync', { tenant: null });
    expect(await ns.getJob(none.id)).toMatchObject({ concurrencyKey: null, group: null });
    // A group goes with required labels, the task's or the job's own.
    const region = await ns.enqueue('region.sync', { tenant: 'acme' });
    expect(await ns.getJob(region.id)).toMatchObject({ group: 'acme', requires: ['region:eu'] });
    const gpu = await ns.enqueue('tenant.sync', { tenant: 'acme' }, { requires: ['gpu'] });
    expect(await ns.getJob(gpu.id)).toMatchObject({ group: 'acme', requires: ['gpu'] });
    // The limits the jobs carry: the key's limit is the task's 2 for acme, the job's 3 for beta.
    ns.startWorker({ concurrency: 4, pollIntervalMs: 20 });
    for (const job of [derived, own, limited, none]) {
      expect((await ns.waitFor(job.id, { timeoutMs: 20_000 })).state).toBe('completed');
    }
    const keys = await ns.concurrencyKeys({ running: false });
    expect(keys.find((k) => k.key === 'tenant:acme')?.limit).toBe(2);
    expect(keys.find((k) => k.key === 'tenant:beta')?.limit).toBe(3);
  });

  it('refuses the enqueue, writing nothing, when the function throws, returns a non-string or an oversized key', async () => {
    const ns = await env.connect({ tasks });
    await expectCode(
      ns.enqueue('tenant.bad', { n: 'throw' }),
      'invalid_argument',
      /tenant\.bad.*concurrencyKey function threw.*no tenant here/,
    );
    await expectCode(ns.enqueue('tenant.bad', { n: 42 }), 'invalid_argument', /must return a string/);
    await expectCode(
      ns.enqueue('tenant.bad', { n: 'x'.repeat(2_000) }),
      'invalid_argument',
      /concurrencyKey/,
    );
    await expectCode(
      ns.enqueue('tenant.sync', { tenant: null }, { concurrencyLimit: 2 }),
      'invalid_argument',
      /concurrencyLimit needs a concurrencyKey/,
    );
    await expectCode(
      ns.enqueueMany([
        { task: 'tenant.sync', payload: { tenant: 'a' } },
        { task: 'tenant.bad', payload: { n: 'throw' } },
      ]),
      'invalid_argument',
      /threw/,
    );
    // A schedule's payload is checked the same way when the schedule is created.
    await expectCode(
      ns.untyped.schedules.create({ id: 's', task: 'tenant.bad', everyMs: 60_000, payload: { n: 'throw' } }),
      'invalid_argument',
      /schedule "s".*threw/,
    );
    expect(await ns.schedules.get('s')).toBeUndefined();
    expect(await countJobs(ns)).toBe(0);
  });

  it('refuses a task whose default is not a function when the instance starts', async () => {
    await expectCode(
      env.connect({
        tasks: { t: defineTask({ concurrencyKey: 'fixed' as never, handler: () => 1 }) },
      }),
      'config_error',
      /task "t": concurrencyKey must be a function of the payload/,
    );
    // The hint names the option the default stands for, not a key where it is a group.
    await expectCode(
      env.connect({ tasks: { t: defineTask({ group: 'g' as never, handler: () => 1 }) } }),
      'config_error',
      /^task "t": group must be a function of the payload \(for a fixed group, give the enqueue option group\)$/,
    );
  });

  it("derives from a contract's validated payload, and for a schedule's jobs", async () => {
    const report = defineContract('tenant.report', {
      payload: z.object({ tenant: z.string().default('anon') }),
      concurrencyKey: (p) => `report:${p.tenant}`,
      group: (p) => p.tenant,
    });
    const ns = await env.connect({ implementations: [implement(report, () => 1)] });
    const job = await ns.enqueue('tenant.report', {});
    expect(await ns.getJob(job.id)).toMatchObject({ concurrencyKey: 'report:anon', group: 'anon' });
    await ns.schedules.create({
      id: 'nightly',
      task: 'tenant.report',
      everyMs: 60_000,
      payload: { tenant: 'z' },
    });
    const triggered = await ns.schedules.trigger('nightly');
    if (triggered.status !== 'enqueued') throw new Error(`trigger: ${triggered.status}`);
    const slotJob = await ns.getJob(triggered.jobId);
    expect(slotJob).toMatchObject({ concurrencyKey: 'report:z', group: 'z', scheduleId: 'nightly' });
  });
});
