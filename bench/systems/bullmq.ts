/**
 * BullMQ on the local Redis. One Queue for producing, one Worker with the concurrency factor the
 * BullMQ guide uses in its concurrency example (50); completed jobs are kept, as nightshift keeps them.
 */
import { Queue, Worker } from 'bullmq';
import type { BenchPayload, BenchSession, BenchSystem, OnJobStart } from '../system.js';
import { waitUntil } from '../wait.js';

const REDIS = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
const CONCURRENCY = 50;
const QUEUE = 'bench';
let counter = 0;

/** BullMQ 5 on 127.0.0.1:6379, a fresh key prefix per session. */
export const bullmqSystem: BenchSystem = {
  name: 'bullmq',
  isNightshift: false,
  settings: `Worker concurrency ${CONCURRENCY}; Queue.addBulk per batch; own key prefix per session`,
  async open(): Promise<BenchSession> {
    counter += 1;
    const prefix = `nightshift-bench-${process.pid}-${counter}`;
    const queue = new Queue<BenchPayload>(QUEUE, { connection: REDIS, prefix });
    await queue.waitUntilReady();
    let worker: Worker<BenchPayload> | undefined;
    let completed = 0;

    return {
      async enqueueBulk(count, batchSize) {
        for (let start = 0; start < count; start += batchSize) {
          const size = Math.min(batchSize, count - start);
          await queue.addBulk(
            Array.from({ length: size }, (_, i) => ({ name: 'noop', data: { seq: start + i } })),
          );
        }
      },
      async enqueueOne(payload) {
        await queue.add('noop', payload);
      },
      async startWorker(onStart: OnJobStart) {
        worker = new Worker<BenchPayload>(
          QUEUE,
          (job) => {
            onStart(job.data);
            return Promise.resolve();
          },
          { connection: REDIS, prefix, concurrency: CONCURRENCY },
        );
        // 'completed' fires after the Lua script that moved the job to the completed set returned.
        worker.on('completed', () => {
          completed += 1;
        });
        await worker.waitUntilReady();
      },
      async waitCompleted(count) {
        await waitUntil(`${count} bullmq jobs completed`, () => completed >= count);
      },
      async stopWorker() {
        await worker?.close();
        worker = undefined;
      },
      async destroy() {
        await worker?.close();
        await queue.obliterate({ force: true });
        await queue.close();
      },
    };
  },
};
