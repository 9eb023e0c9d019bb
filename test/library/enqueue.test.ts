import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/task.js';
import type { Nightshift } from '../../src/nightshift.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();

const tasks = {
  'email.send': defineTask({
    schema: z.object({ to: z.string().email(), retries: z.number().int().default(2) }),
    handler: () => 'sent',
  }),
  'report.build': { handler: () => null, queue: 'reports', maxAttempts: 2, priority: 7, timeoutMs: 5_000 },
  plain: () => 1,
};

async function countJobs(ns: Nightshift): Promise<number> {
  return (await ns.listJobs({ limit: 1000 })).jobs.length;
}

describe('enqueue', () => {
  it('stores a queued job with task defaults and a UUIDv7 id', async () => {
    const ns = await env.connect({ tasks });
    const { id, created, job } = await ns.enqueue('plain', { a: 1 });
    expect(created).toBe(true);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const stored = await ns.getJob(id);
    expect(stored).toMatchObject({
      id,
      task: 'plain',
      queue: 'default',
      state: 'queued',
      priority: 0,
      attempt: 0,
      maxAttempts: 5,
      payload: { a: 1 },
    });
    expect(job.id).toBe(id);
  });

  it('applies task defaults and lets options override them', async () => {
    const ns = await env.connect({ tasks });
    const a = await ns.enqueue('report.build', {});
    expect(a.job).toMatchObject({ queue: 'reports', maxAttempts: 2, priority: 7, timeoutMs: 5_000 });
    const b = await ns.enqueue(
      'report.build',
      {},
      { queue: 'urgent', priority: -3, maxAttempts: 9, timeoutMs: 10 },
    );
    expect(b.job).toMatchObject({ queue: 'urgent', maxAttempts: 9, priority: -3, timeoutMs: 10 });
  });

  it('stores the schema output (defaults applied) as the payload', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('email.send', { to: 'a@example.com' });
    expect((await ns.getJob(id))?.payload).toEqual({ to: 'a@example.com', retries: 2 });
  });

  it('schedules delayed and run-at jobs for later', async () => {
    const ns = await env.connect({ tasks });
    const now = await ns.store.now();
    const delayed = await ns.enqueue('plain', null, { delayMs: 60_000 });
    expect(delayed.job.state).toBe('scheduled');
    expect(delayed.job.runAt.getTime()).toBeGreaterThanOrEqual(now.getTime() + 59_000);
    const at = new Date(now.getTime() + 3_600_000);
    const runAt = await ns.enqueue('plain', null, { runAt: at.toISOString() });
    expect(runAt.job.state).toBe('scheduled');
    expect(runAt.job.runAt.getTime()).toBe(at.getTime());
  });

  it('refuses delayMs and runAt together, in enqueue and in an enqueueMany item', async () => {
    const ns = await env.connect({ tasks });
    const runAt = new Date(Date.now() + 3_600_000);
    await expectCode(
      ns.enqueue('plain', {}, { delayMs: 1_000, runAt }),
      'invalid_argument',
      /^give delayMs or runAt, not both$/,
    );
    await expectCode(
      ns.enqueueMany([
        { task: 'plain' },
        { task: 'plain', options: { delayMs: 0, runAt: runAt.toISOString() } },
      ]),
      'invalid_argument',
      /^item 1: give delayMs or runAt, not both$/,
    );
    expect(await countJobs(ns)).toBe(0);
    // An option given as null counts as not given.
    const delayed = await ns.enqueue('plain', {}, { delayMs: 3_600_000, runAt: null as never });
    expect(delayed.job.state).toBe('scheduled');
  });

  it('returns the existing job for a repeated idempotency key', async () => {
    const ns = await env.connect({ tasks });
    const first = await ns.enqueue('plain', { n: 1 }, { idempotencyKey: 'order-42' });
    const second = await ns.enqueue('plain', { n: 2 }, { idempotencyKey: 'order-42' });
    expect(second.created).toBe(false);
    expect(second.id).toBe(first.id);
    expect(second.job.payload).toEqual({ n: 1 });
    expect(await countJobs(ns)).toBe(1);
  });

  it('refuses invalid input with a clear code and writes nothing', async () => {
    const ns = await env.connect({ tasks });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expectCode(ns.enqueue('nope', {}), 'unknown_task', /nope/);
    await expectCode(ns.enqueue('email.send', { to: 'not-an-address' }), 'invalid_payload', /to:/);
    await expectCode(
      ns.enqueue('email.send', { to: 'a@example.com', retries: 1.5 }),
      'invalid_payload',
      /retries/,
    );
    await expectCode(ns.enqueue('plain', {}, { delayMs: -1 }), 'invalid_argument', /delayMs/);
    await expectCode(ns.enqueue('plain', {}, { priority: 1.5 }), 'invalid_argument', /priority/);
    await expectCode(ns.enqueue('plain', {}, { maxAttempts: 0 }), 'invalid_argument', /maxAttempts/);
    await expectCode(ns.enqueue('plain', {}, { runAt: 'yesterday-ish' }), 'invalid_argument', /runAt/);
    // Text `Date` reads but ISO 8601 does not write: which day "12/11/2030" is depends on the reader.
    for (const runAt of ['12/11/2030', 'Jan 1 2030', 'Tue, 01 Jan 2030 00:00:00 GMT']) {
      await expectCode(
        ns.enqueue('plain', {}, { runAt }),
        'invalid_argument',
        /runAt must be a valid Date or ISO 8601/,
      );
    }
    // A day its month lacks: Date would roll it into March.
    await expectCode(ns.enqueue('plain', {}, { runAt: '2030-02-30T06:00:00Z' }), 'invalid_argument', /runAt/);
    await expectCode(ns.enqueue('plain', {}, { runAt: new Date(Number.NaN) }), 'invalid_argument', /runAt/);
    // Named like the values below, not with V8's "Do not know how to serialize a BigInt".
    await expectCode(ns.enqueue('plain', { order: { n: 10n } }), 'invalid_payload', /key "n" is a BigInt/);
    await expectCode(ns.enqueue('plain', cyclic), 'invalid_payload', /JSON/);
    await expectCode(
      ns.enqueue('plain', () => 1),
      'invalid_payload',
      /JSON/,
    );
    // What JSON would drop or change without a word: refused, naming the key.
    await expectCode(ns.enqueue('plain', { f: () => 1 }), 'invalid_payload', /key "f" is a function/);
    await expectCode(ns.enqueue('plain', { n: Number.NaN }), 'invalid_payload', /key "n" is NaN/);
    await expectCode(ns.enqueue('plain', [1, Infinity]), 'invalid_payload', /key "1" is Infinity/);
    await expectCode(ns.enqueue('plain', { m: new Map([[1, 2]]) }), 'invalid_payload', /key "m" is a Map/);
    await expectCode(ns.enqueue('plain', { s: Symbol('x') }), 'invalid_payload', /key "s" is a symbol/);
    await expectCode(ns.enqueue('plain', {}, { idempotencyKey: '' }), 'invalid_argument', /idempotencyKey/);
    await expectCode(
      ns.enqueue('plain', {}, { concurrencyLimit: 2 }),
      'invalid_argument',
      /needs a concurrencyKey/,
    );
    await expectCode(
      ns.enqueue('plain', {}, { concurrencyKey: 'tenant-1', concurrencyLimit: 0 }),
      'invalid_argument',
      /concurrencyLimit/,
    );
    await expectCode(ns.enqueue('plain', {}, { group: '' }), 'invalid_argument', /group/);
    await expectCode(ns.enqueue('plain', {}, { group: 'x'.repeat(1_100) }), 'invalid_argument', /group/);
    // Named by the call, as the limit setters' refusals are.
    await expectCode(ns.setGroupWeight('tenant-1', 0), 'invalid_argument', /^setGroupWeight: weight must be/);
    await expectCode(
      ns.setGroupWeight('', 2),
      'invalid_argument',
      /^setGroupWeight: group must be a non-empty string, got ""$/,
    );
    expect(await countJobs(ns)).toBe(0);
    expect(await ns.groups()).toEqual([]);
  });

  it('refuses a circular payload in one line that says where it refers back', async () => {
    const ns = await env.connect({ tasks });
    const self: Record<string, unknown> = { n: 1 };
    self['self'] = self;
    const deep: { order: { lines: unknown[] } } = { order: { lines: [{ sku: 'a' }] } };
    (deep.order.lines[0] as Record<string, unknown>)['order'] = deep.order;
    await expectCode(
      ns.enqueue('plain', self),
      'invalid_payload',
      /^payload for task "plain" cannot be stored as JSON: it is circular \(\$\.self refers back to \$\)$/,
    );
    await expectCode(
      ns.enqueueMany([
        { task: 'plain', payload: 1 },
        { task: 'plain', payload: deep },
      ]),
      'invalid_payload',
      /^item 1: payload for task "plain" cannot be stored as JSON: it is circular \(\$\.order\.lines\[0\]\.order refers back to \$\.order\)$/,
    );
    // The same object twice is no cycle.
    const shared = { sku: 'a' };
    expect((await ns.enqueue('plain', { a: shared, b: [shared] })).job.payload).toEqual({
      a: shared,
      b: [shared],
    });
    expect(await countJobs(ns)).toBe(1);
  });

  it('enqueueMany writes every job, or none when one item is invalid', async () => {
    const ns = await env.connect({ tasks });
    await expectCode(
      ns.enqueueMany([
        { task: 'plain', payload: 1 },
        { task: 'email.send', payload: { to: 'bad' } },
      ]),
      'invalid_payload',
      /item 1/,
    );
    expect(await countJobs(ns)).toBe(0);
    const results = await ns.enqueueMany([
      { task: 'plain', payload: 1 },
      { task: 'report.build', payload: 2, options: { priority: 3 } },
      { task: 'plain', payload: 3, options: { idempotencyKey: 'k' } },
      { task: 'plain', payload: 4, options: { idempotencyKey: 'k' } },
    ]);
    expect(results.map((r) => r.created)).toEqual([true, true, true, false]);
    expect(results[3]?.id).toBe(results[2]?.id);
    expect(results[1]?.job.priority).toBe(3);
    expect(await countJobs(ns)).toBe(3);
  });

  it("enqueues inside the caller's transaction: nothing after a rollback, the jobs after a commit", async () => {
    const ns = await env.connect({ tasks });
    const failing = ns.store.transaction(async (tx) => {
      await ns.enqueue('plain', 1, { tx });
      await ns.enqueueMany([{ task: 'plain', payload: 2 }], { tx });
      throw new Error('caller rolled back');
    });
    await expect(failing).rejects.toThrow('caller rolled back');
    expect(await countJobs(ns)).toBe(0);
    const ids = await ns.store.transaction(async (tx) => {
      const one = await ns.enqueue('plain', 3, { tx });
      const [two] = await ns.enqueueMany([{ task: 'plain', payload: 4 }], { tx });
      return [one.id, two!.id];
    });
    for (const id of ids) expect((await ns.getJob(id))?.state).toBe('queued');
    expect(await countJobs(ns)).toBe(2);
  });

  it('manages jobs: list by filter, cancel a queued job, retry it', async () => {
    const ns = await env.connect({ tasks });
    const { id } = await ns.enqueue('plain', {});
    await ns.enqueue('report.build', {});
    expect((await ns.listJobs({ queue: 'reports' })).jobs.map((j) => j.task)).toEqual(['report.build']);
    expect((await ns.cancelJob(id)).outcome).toBe('cancelled');
    expect((await ns.getJob(id))?.state).toBe('cancelled');
    expect((await ns.listJobs({ state: 'cancelled' })).jobs.map((j) => j.id)).toEqual([id]);
    expect((await ns.retryJob(id)).outcome).toBe('retried');
    expect((await ns.getJob(id))?.state).toBe('queued');
    expect(await ns.getJob('00000000-0000-7000-8000-000000000000')).toBeUndefined();
  });
});
