/**
 * Async context between jobs (src/worker/handler-context.ts): what one handler puts in an
 * AsyncLocalStorage, even with `enterWith`, is not seen by the jobs the worker runs after it, in the
 * same slot or another, with a synchronous or an asynchronous handler; a store the application set
 * around `startWorker` is seen by every job.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.js';
import { engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();

describe('async context of handlers', () => {
  it.each([
    ['asynchronous', true],
    ['synchronous', false],
  ])('keeps a store one %s handler entered from the jobs after it', async (_kind, asynchronous) => {
    const requestId = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const ns = await env.connect({
      tasks: {
        tagged: (payload: { n: number }) => {
          seen.push(requestId.getStore());
          // What request-scoped loggers do: set the store for the rest of this handler's work.
          requestId.enterWith(`job ${payload.n}`);
          return asynchronous ? new Promise<void>((resolve) => setTimeout(resolve, 2)) : undefined;
        },
      },
    });
    await ns.enqueueMany(Array.from({ length: 8 }, (_, n) => ({ task: 'tagged', payload: { n } })));
    // One slot: each job starts from the end of the one before, where the store leaked.
    ns.startWorker({ ...FAST_WORKER, concurrency: 1 });
    await waitUntil(() => seen.length === 8);
    expect(seen).toEqual(Array.from({ length: 8 }, () => undefined));
  });

  it('gives every job the store the application set around startWorker', async () => {
    const tenant = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const ns = await env.connect({
      tasks: {
        read: async () => {
          seen.push(tenant.getStore());
          tenant.enterWith('overwritten by a job');
          await new Promise((resolve) => setTimeout(resolve, 1));
        },
      },
    });
    await ns.enqueueMany(Array.from({ length: 6 }, () => ({ task: 'read', payload: {} })));
    tenant.run('acme', () => ns.startWorker({ ...FAST_WORKER, concurrency: 2 }));
    await waitUntil(() => seen.length === 6);
    expect(seen).toEqual(Array.from({ length: 6 }, () => 'acme'));
  });
});
