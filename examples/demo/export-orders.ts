/**
 * `orders.export`: the morning batch. Reads the day's orders in chunks and enqueues one
 * `orders.publish` job per order, a chunk in one write, saving a checkpoint after each chunk. A crash
 * or a failed attempt resumes at the last checkpoint; a chunk enqueued just before a crash, whose
 * checkpoint was not saved, is enqueued again with the same keys, which yields the existing jobs: no
 * message is published twice.
 */
// In your own project: import { defineTask } from 'nightshift';
import { defineTask } from '../../src/task.js';
import { readOrders } from './orders.js';

/** Orders read and enqueued between two checkpoints. */
const CHUNK_SIZE = 250;

/** The export's payload: how many orders the simulated day holds. */
export interface ExportPayload {
  orders: number;
}

/** What the export's job stores as its result. */
export interface ExportResult {
  orders: number;
  chunks: number;
  resumedAt: number | null;
}

/** The export task. */
export const exportOrders = defineTask<ExportPayload, ExportResult>({
  queue: 'demo',
  maxAttempts: 3,
  backoff: { baseMs: 1_000 },
  handler: async (payload, ctx) => {
    const saved = ctx.checkpoint as { next: number } | undefined;
    const resumedAt = saved?.next ?? null;
    if (resumedAt !== null) ctx.log(`resuming the export at order ${resumedAt + 1} (from the checkpoint)`);
    else ctx.log(`exporting ${payload.orders} orders in chunks of ${CHUNK_SIZE}`);

    let chunks = 0;
    for (let next = resumedAt ?? 0; next < payload.orders; next += CHUNK_SIZE) {
      ctx.signal.throwIfAborted();
      // The first attempt loses its shop-database connection halfway through, to show the resume.
      if (ctx.job.attempt === 1 && next >= payload.orders / 2) {
        throw new Error('shop database connection reset (simulated)');
      }
      const orders = readOrders(payload.orders, next, CHUNK_SIZE);
      await ctx.enqueueMany(
        orders.map((order) => ({
          task: 'orders.publish',
          payload: order,
          options: { key: `order-${order.id}` },
        })),
      );
      await ctx.saveCheckpoint({ next: next + orders.length });
      chunks += 1;
      ctx.log(`chunk saved: orders ${next + 1}-${next + orders.length} enqueued`, {
        checkpoint: next + orders.length,
      });
    }
    return { orders: payload.orders, chunks, resumedAt };
  },
});
