/**
 * A worker in its own OS process, for the scenarios where producer and worker must not share one
 * (cross-process latency, steady load, idle cost, the big backlog). Started by `startWorkerProcess`
 * (./worker-child.ts) with the system's name, the `ref` of the instance to attach to and the worker
 * profile; it computes enqueue-to-start latency from each payload's `at` and reports both over IPC
 * every 100 ms, with its RSS when the count of started jobs passes each of `rssAt`, and then the V8 heap
 * in use after a full collection (the process runs with --expose-gc): what the worker still holds, apart
 * from how far the garbage collector let the heap grow.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMs } from './system.js';
import type { WorkerProfile } from './system.js';
import { systemNamed } from './systems/index.js';

/** Arguments, passed as one JSON string. */
export interface WorkerProcessArgs {
  system: string;
  ref: string;
  profile: WorkerProfile;
  rssAt: number[];
}

/** Messages to the parent. */
export type WorkerProcessMessage =
  | { type: 'ready' }
  | { type: 'started'; latenciesMs: number[]; enqueuedAtMs: number[] }
  | { type: 'rss'; started: number; rssBytes: number; heapBytes: number }
  | { type: 'stopped' };

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessArgs;
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
const send = (message: WorkerProcessMessage): void => {
  process.send?.(message);
};

const session = await systemNamed(args.system).attach(args.ref);
let pending: number[] = [];
let pendingAt: number[] = [];
let started = 0;
const rssAt = [...args.rssAt].sort((a, b) => a - b);
await session.startWorker(args.profile, (payload) => {
  pending.push(nowMs() - payload.at);
  pendingAt.push(payload.at);
  started += 1;
  // Read after the handler returns, so the figure is the worker's state at that count, not mid-job.
  if (rssAt[0] !== undefined && started >= rssAt[0]) {
    rssAt.shift();
    const at = started;
    setImmediate(() => {
      const rssBytes = process.memoryUsage().rss;
      collectGarbage();
      send({ type: 'rss', started: at, rssBytes, heapBytes: process.memoryUsage().heapUsed });
    });
  }
});
send({ type: 'ready' });

let stopping = false;
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') stopping = true;
});
while (!stopping) {
  await sleep(100);
  if (pending.length > 0) {
    send({ type: 'started', latenciesMs: pending, enqueuedAtMs: pendingAt });
    pending = [];
    pendingAt = [];
  }
}
await session.stopWorker();
if (pending.length > 0) send({ type: 'started', latenciesMs: pending, enqueuedAtMs: pendingAt });
await session.destroy();
send({ type: 'stopped' });
process.disconnect?.();
