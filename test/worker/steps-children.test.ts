import { describe, expect, it } from 'vitest';
import { EnqueueItemError, type NightshiftError } from '../../src/errors.js';
import type { Job } from '../../src/job.js';
import type { Nightshift } from '../../src/nightshift.js';
import type { Handler } from '../../src/task.js';
import { MAX_STEP_RESULT_BYTES } from '../../src/worker/job-context.js';
import { engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();

/** Runs one job of task `parent` with `handler`, beside a task `child`: the instance and the finished job. */
async function runParent(handler: Handler): Promise<{ ns: Nightshift; done: Job }> {
  const ns = await env.connect({ tasks: { parent: handler, child: () => null } });
  const { id } = await ns.enqueue('parent');
  ns.startWorker(FAST_WORKER);
  return { ns, done: await ns.waitFor(id, { timeoutMs: 10_000 }) };
}

describe('durable steps and child jobs', () => {
  it('skips finished steps on a re-run and creates each child once across re-runs', async () => {
    const calls = { a: 0, b: 0 };
    const children: Array<{ id: string; created: boolean }> = [];
    const ns = await env.connect({
      tasks: {
        parent: {
          maxAttempts: 2,
          backoff: { baseMs: 10, jitter: 0 },
          handler: async (_p, ctx) => {
            const a = await ctx.step('a', () => {
              calls.a += 1;
              return { value: 'A' };
            });
            children.push(await ctx.enqueue('child', { from: ctx.job.id }, { key: 'notify' }));
            if (ctx.job.attempt === 1) throw new Error('crash after step a');
            const b = await ctx.step('b', () => {
              calls.b += 1;
              return 'B';
            });
            return { a, b };
          },
        },
        child: () => 'child done',
      },
    });
    const { id } = await ns.enqueue('parent');
    ns.startWorker(FAST_WORKER);
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ state: 'completed', attempt: 2, result: { a: { value: 'A' }, b: 'B' } });
    expect(calls).toEqual({ a: 1, b: 1 });
    expect(children.map((c) => c.created)).toEqual([true, false]);
    expect(children[1]?.id).toBe(children[0]?.id);
    const kids = (await ns.listJobs({ task: 'child' })).jobs;
    expect(kids).toHaveLength(1);
    expect(kids[0]).toMatchObject({ parentId: id, payload: { from: id } });
    expect(await ns.waitFor(kids[0]!.id, { timeoutMs: 10_000 })).toMatchObject({ result: 'child done' });
  });

  it('lets a handler destructure its context and call the methods unbound', async () => {
    const ns = await env.connect({
      tasks: {
        // eslint-disable-next-line @typescript-eslint/unbound-method -- what this test checks: they work unbound
        parts: async (_p, { job, checkpoint, saveCheckpoint, step, heartbeat, log }) => {
          log('destructured', { checkpoint });
          await saveCheckpoint({ at: 'start' });
          await heartbeat();
          return step('id', () => job.id);
        },
      },
    });
    const { id } = await ns.enqueue('parts');
    ns.startWorker(FAST_WORKER);
    expect(await ns.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ state: 'completed', result: id });
  });

  it('refuses step results that are too large or not JSON, with a clear error', async () => {
    const ns = await env.connect({
      tasks: {
        big: async (_p, ctx) => {
          const errors: string[] = [];
          const fns: Array<() => unknown> = [() => 'x'.repeat(MAX_STEP_RESULT_BYTES + 1), () => ({ n: 1n })];
          for (const fn of fns) {
            try {
              await ctx.step(`s${errors.length}`, fn);
            } catch (error) {
              errors.push(`${(error as NightshiftError).code}: ${(error as Error).message}`);
            }
          }
          return errors;
        },
      },
    });
    const { id } = await ns.enqueue('big');
    ns.startWorker(FAST_WORKER);
    const done = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(done.result).toEqual([
      expect.stringMatching(
        /^invalid_argument: result of step "s0" is \d+ bytes of JSON; the limit is 1048576/,
      ),
      expect.stringMatching(/^invalid_payload: result of step "s1" is not JSON-serialisable/),
    ]);
    expect(await ns.store.jobStepGet({ jobId: id, name: 's0' })).toMatchObject({ found: false });
  });

  it("refuses a circular value in one line, naming where, in a handler's every JSON write", async () => {
    const circular = (): Record<string, unknown> => {
      const value: Record<string, unknown> = { list: [{}] };
      ((value['list'] as unknown[])[0] as Record<string, unknown>)['up'] = value;
      return value;
    };
    const { done } = await runParent(async (_p, ctx) => {
      const errors: string[] = [];
      const writes = [
        () => ctx.enqueue('child', circular(), { key: 'k' }),
        () => ctx.saveCheckpoint(circular()),
        () => ctx.step('s', circular),
      ];
      for (const write of writes) {
        await write().catch((error: NightshiftError) => errors.push(`${error.code}: ${error.message}`));
      }
      return errors;
    });
    const where = 'cannot be stored as JSON: it is circular ($.list[0].up refers back to $)';
    expect(done.result).toEqual([
      `invalid_payload: payload for task "child" ${where}`,
      `invalid_payload: checkpoint ${where}`,
      `invalid_payload: result of step "s" ${where}`,
    ]);
    // A handler's own result, the same way.
    const ns = await env.connect({ tasks: { cycle: { handler: circular, maxAttempts: 1 } } });
    const { id } = await ns.enqueue('cycle');
    ns.startWorker(FAST_WORKER);
    const failed = await ns.waitFor(id, { timeoutMs: 10_000 });
    expect(failed.error).toMatchObject({ code: 'invalid_result', message: `handler result ${where}` });
  });

  it('child enqueue needs a key and validates like enqueue', async () => {
    const { ns, done } = await runParent(async (_p, ctx) => {
      const codes: string[] = [];
      const attempts = [
        () => ctx.enqueue('child', {}, { key: '' }),
        () => ctx.enqueue('nope', {}, { key: 'k' }),
        () => ctx.enqueue('child', {}, { key: 'k', delayMs: -5 }),
        // The key is derived from `key`; a JavaScript caller's own would be dropped.
        () => ctx.enqueue('child', {}, { key: 'k', idempotencyKey: 'mine' } as never),
      ];
      for (const attempt of attempts) {
        await attempt().catch((error: NightshiftError) => codes.push(error.code));
      }
      return codes;
    });
    expect(done.result).toEqual(['invalid_argument', 'unknown_task', 'invalid_argument', 'invalid_argument']);
    expect((await ns.listJobs({ task: 'child' })).jobs).toEqual([]);
  });

  it("names a child's key and its own bound (981 bytes, the room child:<parent id>: leaves)", async () => {
    const { ns, done } = await runParent(async (_p, ctx) => {
      const refusals: string[] = [];
      const refused = [
        // Refused as an idempotencyKey over 1,024 bytes before: an option the handler never gave.
        { key: 'k'.repeat(982) },
        { key: 'k', delayMs: 1_000, runAt: new Date(Date.now() + 60_000) },
      ];
      for (const options of refused) {
        await ctx
          .enqueue('child', {}, options)
          .catch((error: NightshiftError) => refusals.push(`${error.code}: ${error.message}`));
      }
      const { created } = await ctx.enqueue('child', {}, { key: 'k'.repeat(981) });
      return { refusals, created };
    });
    expect(done.result).toEqual({
      refusals: [
        'invalid_argument: ctx.enqueue: key must be at most 981 bytes of UTF-8, got 982',
        'invalid_argument: give delayMs or runAt, not both',
      ],
      created: true,
    });
    expect((await ns.listJobs({ task: 'child' })).jobs).toHaveLength(1);
  });

  it('enqueues many children in one write, each once per key across re-runs, in the order given', async () => {
    const answers: Array<Array<{ id: string; created: boolean }>> = [];
    const ns = await env.connect({
      tasks: {
        parent: {
          maxAttempts: 2,
          backoff: { baseMs: 10, jitter: 0 },
          handler: async (_p, ctx) => {
            const keys = ctx.job.attempt === 1 ? ['a', 'b'] : ['c', 'a', 'b'];
            answers.push(
              await ctx.enqueueMany(
                keys.map((key) => ({ task: 'child', payload: { key }, options: { key, priority: 3 } })),
              ),
            );
            answers.push(await ctx.enqueueMany([]));
            if (ctx.job.attempt === 1) throw new Error('crash after the first children');
            return null;
          },
        },
        child: () => null,
      },
    });
    // Children count as this process's enqueued jobs (metrics), each once: when it was created.
    const enqueued: string[] = [];
    ns.events.on('job:enqueued', ({ jobId, task }) => enqueued.push(`${task} ${jobId}`));
    const { id } = await ns.enqueue('parent');
    const worker = ns.startWorker({ ...FAST_WORKER, concurrency: 1 });
    expect(await ns.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ state: 'completed', attempt: 2 });
    await worker.stop();
    const [first, none, second] = answers;
    expect(none).toEqual([]);
    expect(first?.map((c) => c.created)).toEqual([true, true]);
    expect(second?.map((c) => c.created)).toEqual([true, false, false]);
    expect(second?.slice(1).map((c) => c.id)).toEqual(first?.map((c) => c.id));
    for (const [index, key] of ['c', 'a', 'b'].entries()) {
      expect(await ns.getJob(second![index]!.id)).toMatchObject({
        task: 'child',
        parentId: id,
        payload: { key },
        priority: 3,
        idempotencyKey: `child:${id}:${key}`,
      });
    }
    expect((await ns.listJobs({ task: 'child' })).jobs).toHaveLength(3);
    expect(enqueued).toEqual([
      `parent ${id}`,
      `child ${first![0]!.id}`,
      `child ${first![1]!.id}`,
      `child ${second![0]!.id}`,
    ]);
  });

  it('refuses a bad child by its index and writes none of the others', async () => {
    const { ns, done } = await runParent(async (_p, ctx) => {
      const good = { task: 'child', options: { key: 'good' } };
      const refusals: unknown[] = [];
      const attempts = [
        () => ctx.enqueueMany([good, { task: 'nope', options: { key: 'k' } }]),
        () => ctx.enqueueMany([good, { task: 'child', options: { key: 'k', delayMs: -5 } }]),
        () => ctx.enqueueMany([good, { task: 'child', options: { key: '' } }]),
        () => ctx.enqueueMany([good, { task: 'child' } as never]),
        () => ctx.enqueueMany([good, { task: 'child', options: { key: 'good' } }]),
        () => ctx.enqueueMany([good, { task: 'child', options: { key: 'k', tx: {} } } as never]),
        () =>
          ctx.enqueueMany([good, { task: 'child', payload: 1, options: { key: 'k' }, extra: 1 } as never]),
        () =>
          ctx.enqueueMany([good, { task: 'child', options: { key: 'k', idempotencyKey: 'mine' } } as never]),
        () => ctx.enqueueMany({ task: 'child' } as never),
      ];
      for (const attempt of attempts) {
        await attempt().then(
          () => refusals.push('written'),
          (error: NightshiftError) =>
            refusals.push(
              error instanceof EnqueueItemError
                ? `${error.index} ${error.code}: ${error.message}`
                : `${error.code}: ${error.message}`,
            ),
        );
      }
      return refusals;
    });
    expect(done.result).toEqual([
      expect.stringMatching(/^1 unknown_task: item 1: .*"nope"/),
      expect.stringMatching(/^1 invalid_argument: item 1: .*delayMs/),
      '1 invalid_argument: item 1: ctx.enqueueMany needs options.key, unique within this job',
      '1 invalid_argument: item 1: ctx.enqueueMany needs options with a key, unique within this job',
      '1 invalid_argument: item 1: options.key "good" is item 0\'s too: each child needs its own key',
      "1 invalid_argument: item 1: an item takes no tx: pass { tx } as ctx.enqueueMany's second argument, for every child at once",
      expect.stringMatching(/^1 invalid_argument: item 1: unknown item field "extra"/),
      '1 invalid_argument: item 1: ctx.enqueueMany takes no idempotencyKey: the child is created once per options.key within this job',
      expect.stringMatching(/^invalid_argument: ctx.enqueueMany items must be an array/),
    ]);
    expect((await ns.listJobs({ task: 'child' })).jobs).toEqual([]);
  });
});
