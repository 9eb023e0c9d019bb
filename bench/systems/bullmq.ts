/**
 * BullMQ on the local Redis, a fresh key prefix per session. Recommended: one Worker with `concurrency`
 * set, as its concurrency guide shows (its example uses 50), completed jobs kept (as nightshift keeps
 * them, and as BullMQ does by default). Defaults: `new Worker(queue, processor, { connection })`,
 * concurrency 1. Connections use `maxRetriesPerRequest: null`, which BullMQ requires of a worker's.
 */
import { Queue, Worker } from 'bullmq';
import type { BenchPayload, BenchSession, BenchSystem } from '../system.js';

const REDIS = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
const QUEUE = 'bench';
let counter = 0;

async function connect(prefix: string, owned: boolean): Promise<BenchSession> {
  const queue = new Queue<BenchPayload>(QUEUE, { connection: REDIS, prefix });
  await queue.waitUntilReady();
  let worker: Worker<BenchPayload> | undefined;
  let completed = 0;

  return {
    ref: prefix,
    async enqueueBulk(items) {
      await queue.addBulk(items.map((data) => ({ name: 'noop', data })));
    },
    async enqueueOne(payload) {
      await queue.add('noop', payload);
    },
    async startWorker(profile, onStart) {
      worker = new Worker<BenchPayload>(
        QUEUE,
        (job) => {
          onStart(job.data);
          return Promise.resolve();
        },
        {
          connection: REDIS,
          prefix,
          ...(profile.mode === 'recommended' && { concurrency: profile.concurrency }),
        },
      );
      // 'completed' fires after the Lua script that moved the job to the completed set returned.
      worker.on('completed', () => {
        completed += 1;
      });
      await worker.waitUntilReady();
    },
    completed: () => Promise.resolve(completed),
    async stopWorker() {
      await worker?.close();
      worker = undefined;
    },
    async destroy() {
      await worker?.close();
      if (owned) await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

/** BullMQ 5 on 127.0.0.1:6379. */
export const bullmqSystem: BenchSystem = {
  name: 'bullmq',
  isNightshift: false,
  store: 'redis',
  settings: (profile) =>
    profile.mode === 'defaults'
      ? 'new Worker(queue, processor, { connection }) (as installed: concurrency 1); completed jobs kept'
      : `Worker concurrency ${profile.concurrency}; completed jobs kept`,
  producerSettings: 'one Queue connection; addBulk() per batch, add() per job',
  open() {
    counter += 1;
    return connect(`nightshift-bench-${process.pid}-${counter}`, true);
  },
  attach: (ref) => connect(ref, false),
};
