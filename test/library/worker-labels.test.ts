/** Worker labels through the library: a job's `requires`, task defaults, a worker's `labels`, bad input. */
import { describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { checkLabels, MAX_JOB_LABELS } from '../../src/validation/labels.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();

const tasks = {
  plain: () => 1,
  render: defineTask({ requires: ['region:eu', 'gpu', 'gpu'], handler: () => 1 }),
};

describe('worker labels (library)', () => {
  it("takes a job's labels sorted without repeats, its task's when it gives none, [] for none", async () => {
    const ns = await env.connect({ tasks });
    expect((await ns.enqueue('plain', {}, { requires: ['b', 'a', 'b'] })).job.requires).toEqual(['a', 'b']);
    expect((await ns.enqueue('plain', {})).job.requires).toEqual([]);
    expect((await ns.enqueue('render', {})).job.requires).toEqual(['gpu', 'region:eu']);
    expect((await ns.enqueue('render', {}, { requires: ['cpu'] })).job.requires).toEqual(['cpu']);
    expect((await ns.enqueue('render', {}, { requires: [] })).job.requires).toEqual([]);
    const [many] = await ns.enqueueMany([{ task: 'plain', options: { requires: ['z'] } }]);
    expect((await ns.getJob(many?.id ?? ''))?.requires).toEqual(['z']);
  });

  it('counts distinct labels against the bound: repeats are dropped first', async () => {
    const ns = await env.connect({ tasks });
    const repeated = Array<string>(MAX_JOB_LABELS + 1).fill('x');
    expect((await ns.enqueue('plain', {}, { requires: repeated })).job.requires).toEqual(['x']);
    const sixteen = Array.from({ length: MAX_JOB_LABELS }, (_, i) => `l${i}`);
    const job = (await ns.enqueue('plain', {}, { requires: [...sixteen, ...sixteen] })).job;
    expect(job.requires).toEqual([...sixteen].sort());
    const worker = ns.startWorker({ labels: Array<string>(65).fill('gpu') });
    expect(worker.options.labels).toEqual(['gpu']);
  });

  it('refuses bad labels with a clear error and writes nothing', async () => {
    const ns = await env.connect({ tasks });
    const bad: Array<[unknown, RegExp]> = [
      ['gpu', /requires must be an array of labels, got string/],
      [[''], /requires label must be a non-empty string/],
      [[7], /requires label must be a non-empty string, got 7/],
      [['region eu'], /must not contain whitespace, commas or control characters/],
      [['a,b'], /must not contain whitespace, commas or control characters/],
      [['tab\there'], /must not contain whitespace/],
      [['x'.repeat(101)], /requires label must be at most 100 bytes of UTF-8, got 101/],
      [
        Array.from({ length: MAX_JOB_LABELS + 1 }, (_, i) => `l${i}`),
        /requires must hold at most 16 distinct labels, got 17/,
      ],
    ];
    for (const [requires, message] of bad) {
      await expectCode(ns.enqueue('plain', {}, { requires } as never), 'invalid_argument', message);
      await expectCode(
        ns.enqueueMany([{ task: 'plain' }, { task: 'plain', options: { requires } as never }]),
        'invalid_argument',
        message,
      );
    }
    expect((await ns.listJobs({ limit: 10 })).jobs).toEqual([]);
    // 100 bytes is the bound, counted in UTF-8.
    expect(checkLabels('l', ['é'.repeat(50)], 1)).toEqual(['é'.repeat(50)]);
    expect(() => checkLabels('l', ['é'.repeat(51)], 1)).toThrow(/at most 100 bytes/);
  });

  it("refuses a task's bad default at connect, and a worker's bad labels at start", async () => {
    await expectCode(
      env.connect({ tasks: { t: defineTask({ requires: ['a b'], handler: () => 1 }) } }),
      'config_error',
      /task "t": requires label "a b" must not contain whitespace/,
    );
    const ns = await env.connect({ tasks });
    expect(() => ns.startWorker({ labels: 'gpu' as never })).toThrow(
      /worker option labels must be an array of labels/,
    );
    expect(() => ns.startWorker({ labels: ['ok', ''] })).toThrow(
      /worker option labels label must be a non-empty/,
    );
    expect(() => ns.startWorker({ labels: Array.from({ length: 65 }, (_, i) => `l${i}`) })).toThrow(
      /at most 64 distinct labels, got 65/,
    );
    expect(await ns.workers()).toEqual([]);
  });
});
