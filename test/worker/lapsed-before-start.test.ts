/**
 * A claimed job whose lease lapsed before a slot took it (the worker was stopped, or the claim's answer
 * took longer than the lease) is let go without running its handler: the rescue gives it back, and it
 * runs as its next attempt.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Nightshift } from '../../src/nightshift.js';
import type { Store } from '../../src/store/store.js';
import { engineEnv, FAST_WORKER } from './engine-harness.js';

const env = engineEnv();
const LEASE_MS = 400;

/** `store`, except that the first claim that takes jobs answers only once their leases have lapsed. */
function slowFirstClaim(store: Store): Store {
  let delayed = false;
  return new Proxy(store, {
    get(target, key) {
      if (key === 'jobClaim') {
        return async (params: Parameters<Store['jobClaim']>[0]) => {
          const jobs = await target.jobClaim(params);
          if (jobs.length > 0 && !delayed) {
            delayed = true;
            // Past the lease and the second of lapse a start forgives (lease-holder.ts).
            await sleep(LEASE_MS + 1_500);
          }
          return jobs;
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('claimed jobs whose lease lapsed before they started', () => {
  it('are not started; the rescue gives them back and the next attempt runs', async () => {
    // Knows the task so it may enqueue it; runs no worker.
    const producer = await env.connect({ tasks: { once: () => undefined } });
    const attempts: number[] = [];
    const worker = await Nightshift.connect({
      db: slowFirstClaim(await env.peerStore(producer)),
      logger: createLogger({ level: 'silent' }),
      tasks: {
        once: (_payload, ctx) => {
          attempts.push(ctx.job.attempt);
        },
      },
    });
    try {
      const { id } = await producer.enqueue('once', {});
      worker.startWorker({ ...FAST_WORKER, leaseMs: LEASE_MS, rescueIntervalMs: 50 });
      const done = await producer.waitFor(id, { timeoutMs: 20_000 });
      expect(done.state).toBe('completed');
      // The first claim's attempt never ran: its lease had lapsed when its answer came.
      expect(attempts).toEqual([2]);
    } finally {
      await worker.close({ force: true, graceMs: 0 });
    }
  });
});
