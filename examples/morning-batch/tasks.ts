/**
 * The morning batch's two tasks.
 *
 * `orders.morning-batch` reads the day's orders in chunks. For each chunk, one transaction enqueues a
 * message job per order (keyed by the order id, so a re-run can never create a second one) and saves
 * the checkpoint "next chunk starts at offset N". After a crash, kill -9 or a graceful release, the
 * next attempt starts at the last committed offset: only the chunk in flight is read again, and its
 * half-done enqueues rolled back with it.
 *
 * `orders.publish-message` writes the order's message to the outbox and completes its job in the same
 * transaction, so a message is published exactly once even when a worker dies mid-publish.
 */
import { setTimeout as sleep } from 'node:timers/promises';
// In your own project: import { defineTask } from 'nightshift';
import { defineTask } from '../../src/task.js';
import { type Order, readOrders } from './orders.js';
import { publishMessage } from './outbox.js';

/** The batch's payload. */
export interface MorningBatchPayload {
  totalOrders: number;
  chunkSize: number;
}

/** Progress a batch attempt saves after each chunk. */
export interface MorningBatchCheckpoint {
  offset: number;
}

/** Options of `morningBatchTasks`. */
export interface MorningBatchOptions {
  /** PostgreSQL schema of the job tables (the outbox sits beside them); ignored on SQLite. */
  schema: string;
  /**
   * Simulated latency of reading one chunk from the shop database, in ms (default 0). The generated
   * orders are instant; a real read is not, and the time spent reading lies outside any transaction.
   */
  readDelayMs?: number;
  /** Called when a chunk starts, before anything of it is written (audits; the tests count re-reads). */
  onChunk?: (chunk: { offset: number; attempt: number; jobId: string }) => void;
}

/** The two tasks, keyed by name, ready for `tasks` in `Nightshift.connect` or a config. */
export function morningBatchTasks(options: MorningBatchOptions) {
  const batch = defineTask<MorningBatchPayload, { published: number }>({
    queue: 'batch',
    // Every attempt moves the checkpoint forward, so a batch restarted many times (deploys, kills)
    // is still making progress: allow more restarts than the default five.
    maxAttempts: 25,
    // A batch of 100,000 orders takes minutes: a generous limit, leases keep it alive meanwhile.
    timeoutMs: 2 * 3_600_000,
    handler: async ({ totalOrders, chunkSize }, ctx) => {
      let offset = (ctx.checkpoint as MorningBatchCheckpoint | undefined)?.offset ?? 0;
      while (offset < totalOrders) {
        // Asked to stop (shutdown, cancel): everything up to `offset` is committed; stop here.
        ctx.signal.throwIfAborted();
        const chunk = readOrders(totalOrders, offset, chunkSize);
        options.onChunk?.({ offset, attempt: ctx.job.attempt, jobId: ctx.job.id });
        if (options.readDelayMs) await sleep(options.readDelayMs, undefined, { signal: ctx.signal });
        const next = offset + chunk.length;
        await ctx.transaction(async (tx) => {
          for (const order of chunk) {
            await ctx.enqueue('orders.publish-message', order, { key: order.orderId, tx });
          }
          await ctx.saveCheckpoint({ offset: next } satisfies MorningBatchCheckpoint, { tx });
        });
        offset = next;
      }
      return { published: totalOrders };
    },
  });

  const publish = defineTask<Order, { orderId: string }>({
    queue: 'messages',
    handler: async (order, ctx) => {
      await ctx.transaction(async (tx) => {
        await publishMessage(options.schema, tx, ctx.job.id, order);
        await ctx.complete({ orderId: order.orderId }, { tx });
      });
      return { orderId: order.orderId };
    },
  });

  return { 'orders.morning-batch': batch, 'orders.publish-message': publish };
}
