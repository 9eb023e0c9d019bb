/** Concurrency keys and queue limits through the library: options, defaults, settings, a real worker. */
import { describe, expect, it } from 'vitest';
import { defineTask } from '../../src/task.js';
import { expectCode } from '../support/expect-code.js';
import { engineEnv } from '../worker/engine-harness.js';

const env = engineEnv();

let running = 0;
let most = 0;
const tasks = {
  'tenant.sync': defineTask({
    concurrencyLimit: 2,
    handler: async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running -= 1;
    },
  }),
  plain: () => 1,
};

describe('concurrency limits (library)', () => {
  it("a worker of concurrency 10 runs at most the task's 2 jobs of a key at once, and all of them", async () => {
    const ns = await env.connect({ tasks });
    running = 0;
    most = 0;
    const ids = [];
    for (let i = 0; i < 8; i += 1) {
      ids.push((await ns.enqueue('tenant.sync', {}, { concurrencyKey: 'tenant-1' })).id);
    }
    expect((await ns.getJob(ids[0] ?? ''))?.concurrencyKey).toBe('tenant-1');
    ns.startWorker({ concurrency: 10, pollIntervalMs: 20 });
    for (const id of ids) expect((await ns.waitFor(id, { timeoutMs: 20_000 })).state).toBe('completed');
    expect(most).toBe(2);
    expect(await ns.concurrencyKeys()).toEqual([
      { key: 'tenant-1', running: 0, limit: 2, operatorLimit: null, rate: null },
    ]);
  });

  it('connect writes queue limits; settings are checked with clear errors', async () => {
    const ns = await env.connect({ tasks, queues: { mail: { concurrency: 3 }, bulk: {} } });
    expect(await ns.queueLimits()).toEqual([{ queue: 'mail', limit: 3, running: 0, rate: null }]);
    await ns.setQueueLimit('mail', null);
    await ns.setConcurrencyLimit('tenant-9', 4);
    expect(await ns.queueLimits()).toEqual([{ queue: 'mail', limit: null, running: 0, rate: null }]);
    expect(await ns.concurrencyKeys({ running: false })).toEqual([
      { key: 'tenant-9', running: 0, limit: 4, operatorLimit: 4, rate: null },
    ]);
    // Another process connecting with the config writes its limit again over the operator's change
    // (the dashboard's Limits page says so).
    const peer = await env.connectPeer(ns, { tasks, queues: { mail: { concurrency: 3 } } });
    expect(await peer.queueLimits()).toEqual([{ queue: 'mail', limit: 3, running: 0, rate: null }]);
    await expectCode(
      ns.setQueueLimit('mail', 0),
      'invalid_argument',
      /^setQueueLimit: limit must be an integer from 1 to 2147483647, got 0$/,
    );
    await expectCode(ns.setConcurrencyLimit('', 2), 'invalid_argument', /key/);
    await expectCode(ns.setConcurrencyLimit('k', 1.5), 'invalid_argument', /limit must be an integer/);
    await expectCode(
      env.connect({ tasks, queues: { mail: { concurrency: 'x' } } as never }),
      'invalid_argument',
      /concurrency must be an integer/,
    );
  });

  it('connect writes queue rates; a rate is checked with clear errors and can be removed', async () => {
    const rate = { limit: 5, periodMs: 1_000 };
    const ns = await env.connect({ tasks, queues: { paced: { rate } } });
    expect(await ns.queueLimits()).toEqual([{ queue: 'paced', limit: null, running: 0, rate }]);
    await expectCode(
      ns.setQueueRate('paced', { limit: 5, periodMs: 0 }),
      'invalid_argument',
      /^setQueueRate: rate: periodMs must be an integer/,
    );
    await expectCode(
      ns.setQueueRate('paced', { limit: 5 } as never),
      'invalid_argument',
      /^setQueueRate: rate: periodMs must be an integer/,
    );
    await expectCode(
      env.connect({ tasks, queues: { paced: { rate: { limit: 1, periodMs: 10, burst: 2 } } } as never }),
      'invalid_argument',
      /queues\.paced: rate: unknown setting "burst"/,
    );
    await expectCode(
      ns.setConcurrencyRate('tenant-1', { limit: 0, periodMs: 1_000 }),
      'invalid_argument',
      /rate: limit must be an integer/,
    );
    await ns.setConcurrencyRate('tenant-1', rate);
    // No job of the key waits or ran: no limit until one comes with its own.
    expect(await ns.concurrencyKeys({ running: false })).toEqual([
      { key: 'tenant-1', running: 0, limit: null, operatorLimit: null, rate },
    ]);
    await ns.setQueueRate('paced', null);
    expect(await ns.queueLimits()).toEqual([{ queue: 'paced', limit: null, running: 0, rate: null }]);
  });

  it('the limit and rate setters of queues and keys name the call, and refuse undefined: null removes', async () => {
    const rate = { limit: 5, periodMs: 1_000 };
    const ns = await env.connect({ tasks, queues: { mail: { concurrency: 3, rate } } });
    const refusals: Array<[() => Promise<void>, RegExp]> = [
      [() => ns.setQueueLimit('', 2), /^setQueueLimit: queue must be a non-empty string, got ""$/],
      // Set the limit of a queue named "null" before.
      [
        () => ns.setQueueLimit(null as never, 2),
        /^setQueueLimit: queue must be a non-empty string, got null$/,
      ],
      // Changed nothing before, without a word.
      [
        () => ns.setQueueLimit('mail', undefined as never),
        /^setQueueLimit: limit must be a number, or null to remove the limit; got undefined$/,
      ],
      [
        () => ns.setQueueRate('mail', undefined as never),
        /^setQueueRate: rate must be an object \{ limit, periodMs \} or null$/,
      ],
      [() => ns.setQueueRate('', rate), /^setQueueRate: queue must be a non-empty string, got ""$/],
      // The key methods said only "limit must be ..." or "key must be ...".
      [() => ns.setConcurrencyLimit('', 2), /^setConcurrencyLimit: key must be a non-empty string, got ""$/],
      [
        () => ns.setConcurrencyLimit('tenant-1', 0),
        /^setConcurrencyLimit: limit must be an integer from 1 to 2147483647, got 0$/,
      ],
      [
        () => ns.setConcurrencyLimit('tenant-1', undefined as never),
        /^setConcurrencyLimit: limit must be a number, or null to remove the limit; got undefined$/,
      ],
      [() => ns.setConcurrencyRate('', rate), /^setConcurrencyRate: key must be a non-empty string, got ""$/],
      [
        () => ns.setConcurrencyRate('tenant-1', { limit: 5, periodMs: 0 }),
        /^setConcurrencyRate: rate: periodMs must be an integer/,
      ],
      [
        () => ns.setConcurrencyRate('tenant-1', undefined as never),
        /^setConcurrencyRate: rate must be an object \{ limit, periodMs \} or null$/,
      ],
    ];
    for (const [call, message] of refusals) await expectCode(call(), 'invalid_argument', message);
    expect(await ns.queueLimits()).toEqual([{ queue: 'mail', limit: 3, running: 0, rate }]);
    expect(await ns.concurrencyKeys()).toEqual([]);
  });
});
