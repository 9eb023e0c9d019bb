/**
 * `orders.publish`: sends one order's message to the (simulated) message broker. The broker is flaky
 * on purpose: some orders fail once or twice and succeed on a retry after a backoff; an order with no
 * address is rejected every time and ends `failed`, kept for inspection and manual retry.
 */
// In your own project: import { defineTask } from 'nightshift';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTask } from '../../src/task.js';
import type { Order } from './orders.js';

/** What the publish job stores as its result. */
export interface PublishResult {
  messageId: string;
}

/** The publish task. */
export const publishOrderMessage = defineTask<Order, PublishResult>({
  queue: 'demo',
  maxAttempts: 3,
  // Short backoff so the demo's retries happen while you watch: ~300 ms, then ~600 ms.
  backoff: { baseMs: 300, maxMs: 5_000 },
  handler: async (order, ctx) => {
    await sleep(2, undefined, { signal: ctx.signal });
    if (order.address === '')
      throw new Error(`order ${order.id} has no delivery address; the broker rejects it`);
    const flakyTimes = order.id % 701 === 0 ? 2 : order.id % 211 === 0 ? 1 : 0;
    if (ctx.job.attempt <= flakyTimes) {
      throw new Error(`broker unavailable for order ${order.id} (simulated, attempt ${ctx.job.attempt})`);
    }
    return { messageId: `msg-${order.id}` };
  },
});
