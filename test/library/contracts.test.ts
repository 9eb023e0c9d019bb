import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contractJsonSchema, defineContract, implement } from '../../src/contract.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv, FAST_WORKER, nextEvent } from '../worker/engine-harness.js';
import { sendInvoice, tenantReport } from './fixtures/invoice-contracts.js';

const env = engineEnv();

const sending = implement(sendInvoice, ({ copies }) => ({ sent: true, copies }));

describe('a producer with contracts only', () => {
  it('enqueues with the contract defaults and the schema output, and refuses what the contract refuses', async () => {
    const ns = await env.connect({ contracts: [sendInvoice, tenantReport] });
    const { job } = await ns.untyped.enqueue('invoice.send', { orderId: 7 });
    expect(job).toMatchObject({
      task: 'invoice.send',
      queue: 'mail',
      maxAttempts: 2,
      payload: { orderId: 7, copies: 1 },
    });
    expect((await ns.untyped.enqueue('tenant.report', { tenant: 'acme' })).job.priority).toBe(3);

    await expectCode(ns.untyped.enqueue('invoice.send', { orderId: 'x' }), 'invalid_payload', /orderId/);
    await expectCode(ns.untyped.enqueue('invoice.sned', { orderId: 1 }), 'unknown_task');
    await expectCode(
      ns.untyped.enqueueMany([
        { task: 'tenant.report', payload: { tenant: 'a' } },
        { task: 'tenant.report', payload: { tenant: '' } },
      ]),
      'invalid_payload',
      /item 1/,
    );
    expect((await ns.listJobs()).jobs).toHaveLength(2);
  });

  it('creates schedules of contract tasks, their payloads checked', async () => {
    const ns = await env.connect({ contracts: { tenantReport } });
    await ns.schedules.create({ id: 'r', task: 'tenant.report', everyMs: 60_000, payload: { tenant: 'a' } });
    await expectCode(
      ns.untyped.schedules.create({ id: 'bad', task: 'tenant.report', everyMs: 60_000, payload: {} }),
      'invalid_payload',
    );
    expect((await ns.schedules.list()).schedules.map((s) => s.id)).toEqual(['r']);
  });

  it('refuses a list that holds something else and two declarations of one name', async () => {
    await expectCode(env.connect({ contracts: [{ name: 'x' }] as never }), 'config_error', /defineContract/);
    const other = defineContract('invoice.send', { payload: z.object({}) });
    await expectCode(env.connect({ contracts: [sendInvoice, other] }), 'config_error', /declared twice/);
    await expectCode(
      env.connect({ contracts: [other], implementations: [sending] }),
      'config_error',
      /declared twice/,
    );
    // A contract and its own implementation in one process: one task.
    const both = await env.connect({ contracts: [sendInvoice], implementations: [sending] });
    expect(both.tasks.implemented()).toEqual(['invoice.send']);
    expect(() => defineContract('', { payload: z.object({}) })).toThrow(/non-empty task name/);
    expect(() => defineContract('x', { payload: {} as never })).toThrow(/Standard Schema/);
  });
});

describe('a worker with implementations', () => {
  it('runs the handler on the validated payload and stores the result schema output', async () => {
    const ns = await env.connect({
      implementations: [
        implement(sendInvoice, ({ orderId, copies }) => ({ sent: orderId > 0, copies, extra: 1 })),
      ],
    });
    const { id } = await ns.enqueue('invoice.send', { orderId: 3, copies: 2 });
    ns.startWorker({ ...FAST_WORKER, queues: ['mail'] });
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    // The result schema strips what it does not declare.
    expect(done).toMatchObject({ state: 'completed', result: { sent: true, copies: 2 } });
    expect(done.result).not.toHaveProperty('extra');
  });

  it('fails the attempt with invalid_payload when the stored payload does not match its contract', async () => {
    const producer = await env.connect({ contracts: [sendInvoice] });
    const v2 = defineContract('invoice.send', {
      payload: z.object({ orderId: z.number(), currency: z.string() }),
      maxAttempts: 1,
    });
    let ran = 0;
    const worker = await env.connectPeer(producer, {
      implementations: [implement(v2, () => (ran += 1))],
    });
    const { id } = await producer.enqueue('invoice.send', { orderId: 1 }, { maxAttempts: 1 });
    worker.startWorker({ ...FAST_WORKER, queues: ['mail'] });
    const done = await worker.waitFor(id, { timeoutMs: 10_000 });
    expect(ran).toBe(0);
    expect(done).toMatchObject({
      state: 'failed',
      error: { code: 'invalid_payload', name: 'NightshiftError', reason: 'failed' },
    });
    expect(done.error?.message).toMatch(
      /payload does not match this worker's contract of task "invoice.send": currency/,
    );
  });

  it('fails the attempt with invalid_result when the handler returns what the result schema refuses', async () => {
    const ns = await env.connect({
      implementations: [implement(sendInvoice, () => Promise.resolve({ sent: 'yes' } as never))],
    });
    const { id } = await ns.enqueue('invoice.send', { orderId: 1 }, { maxAttempts: 1 });
    ns.startWorker({ ...FAST_WORKER, queues: ['mail'] });
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'failed', error: { code: 'invalid_result' } });
    expect(done.error?.message).toMatch(/result schema of task "invoice.send": sent/);
  });

  it('fails the attempt with invalid_result when the handler returns what JSON cannot hold', async () => {
    const ns = await env.connect({ tasks: { counts: { maxAttempts: 1, handler: () => 10n } } });
    const { id } = await ns.enqueue('counts');
    ns.startWorker(FAST_WORKER);
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'failed', error: { code: 'invalid_result' } });
    expect(done.error?.message).toMatch(/handler result is not JSON-serialisable: the value is a BigInt/);
    // NaN would be stored as null: refused too.
    const lossy = await env.connect({ tasks: { ratio: { maxAttempts: 1, handler: () => ({ r: 0 / 0 }) } } });
    const second = await lossy.enqueue('ratio');
    lossy.startWorker(FAST_WORKER);
    expect(await lossy.waitFor(second.id, { timeoutMs: 10_000 })).toMatchObject({
      state: 'failed',
      result: null,
      error: { code: 'invalid_result', message: expect.stringMatching(/key "r" is NaN/) as unknown },
    });
  });

  it('validates defineTask payloads in the worker too, handing the handler the schema output', async () => {
    const seen: unknown[] = [];
    const ns = await env.connect({
      tasks: {
        greet: {
          schema: z.object({ name: z.string().transform((s) => s.toUpperCase()) }),
          handler: (payload: { name: string }) => void seen.push(payload),
        },
      },
    });
    const { id, job } = await ns.enqueue('greet', { name: 'ada' });
    expect(job.payload).toEqual({ name: 'ADA' });
    ns.startWorker(FAST_WORKER);
    expect((await ns.waitFor(id, { timeoutMs: 10_000 })).state).toBe('completed');
    expect(seen).toEqual([{ name: 'ADA' }]);
  });
});

describe('jobs of tasks a worker does not implement', () => {
  it('wait scheduled, attempt not spent, with an error naming the task and a released run', async () => {
    const producer = await env.connect({ implementations: [sending] });
    // Knows the task by its contract only: it can enqueue it, not run it.
    const stranger = await env.connectPeer(producer, { contracts: [sendInvoice] });
    const { id } = await producer.enqueue('invoice.send', { orderId: 1 }, { maxAttempts: 1 });
    const released = nextEvent(stranger, 'job:released', (e) => e.jobId === id);
    stranger.startWorker({ ...FAST_WORKER, unservedRetryMs: 60_000 });
    await released;
    await stranger.stop();
    const job = await producer.getJob(id);
    expect(job).toMatchObject({
      state: 'scheduled',
      attempt: 0,
      error: { code: 'unknown_task', reason: 'released' },
    });
    expect(job?.error?.message).toMatch(/unknown task "invoice.send": no handler registered in worker/);
    const now = await producer.store.now();
    expect(job!.runAt.getTime() - now.getTime()).toBeGreaterThan(50_000);
    expect((await producer.getJobRuns(id)).map((run) => run.outcome)).toEqual(['released']);
  });

  it('are run by a worker that implements the task once their wait is over', async () => {
    const producer = await env.connect({ implementations: [sending] });
    const stranger = await env.connectPeer(producer, { tasks: { other: () => null } });
    const { id } = await producer.enqueue('invoice.send', { orderId: 1, copies: 3 }, { maxAttempts: 1 });
    const released = nextEvent(stranger, 'job:released', (e) => e.jobId === id);
    stranger.startWorker({ ...FAST_WORKER, unservedRetryMs: 200 });
    await released;
    await stranger.stop();
    producer.startWorker({ ...FAST_WORKER, queues: ['mail'] });
    // maxAttempts 1: had the release spent the attempt, there would be none left to run.
    expect(await producer.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({
      state: 'completed',
      attempt: 1,
      result: { sent: true, copies: 3 },
    });
  });
});

describe('contractJsonSchema', () => {
  it('gives the payload input and result output schemas of a validator that provides them', () => {
    expect(contractJsonSchema(sendInvoice)).toMatchObject({
      type: 'object',
      properties: { orderId: { type: 'integer' }, copies: { type: 'integer', default: 1 } },
      required: ['orderId'],
    });
    expect(contractJsonSchema(sendInvoice, { of: 'result' })).toMatchObject({
      properties: { sent: { type: 'boolean' } },
      required: ['sent', 'copies'],
    });
    expect(contractJsonSchema(tenantReport, { of: 'result' })).toBeUndefined();
    const opaque = defineContract('opaque', {
      payload: { '~standard': { version: 1, vendor: 'hand', validate: (value: unknown) => ({ value }) } },
    });
    expect(contractJsonSchema(opaque)).toBeUndefined();
  });
});
