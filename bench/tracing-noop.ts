/**
 * What tracing costs per attempt and per enqueue call when no OpenTelemetry SDK is registered (the
 * default): the calls the worker and the enqueue make (src/observe/tracing.ts), timed in a loop on a
 * job shaped as a claim returns it. The drain bench (bench/drain.ts) gives the end-to-end figure, but
 * on a shared machine its noise is larger than this cost.
 *
 *   node --import tsx bench/tracing-noop.ts [iterations]
 */
import { performance } from 'node:perf_hooks';
import {
  captureTraceContext,
  endAttemptSpan,
  runInSpan,
  startAttemptSpan,
  traceEnqueue,
} from '../src/observe/tracing.js';
import type { ClaimedJob, NewJob } from '../src/store/store.js';

const iterations = Number(process.argv[2] ?? 1_000_000);
const job = {
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  task: 'noop',
  queue: 'default',
  attempt: 1,
  traceContext: null,
} as unknown as ClaimedJob;
const row = { id: job.id, task: 'noop', queue: 'default' } as NewJob;

function attempt(): number {
  let sum = 0;
  const started = performance.now();
  for (let i = 0; i < iterations; i += 1) {
    const span = startAttemptSpan(job);
    sum += runInSpan(span, () => i & 1);
    endAttemptSpan(span, 'completed');
  }
  // Used, so the loop's work cannot be dropped.
  if (sum === -1) console.log(sum);
  return ((performance.now() - started) * 1e6) / iterations;
}

async function enqueue(): Promise<number> {
  const count = iterations / 10;
  const inserted = Promise.resolve(1);
  const started = performance.now();
  for (let i = 0; i < count; i += 1) await traceEnqueue([row], () => inserted);
  return ((performance.now() - started) * 1e6) / count;
}

async function bare(): Promise<number> {
  const count = iterations / 10;
  const inserted = Promise.resolve(1);
  const started = performance.now();
  for (let i = 0; i < count; i += 1) await (() => inserted)();
  return ((performance.now() - started) * 1e6) / count;
}

for (let round = 0; round < 3; round += 1) {
  const perAttempt = attempt();
  const perEnqueue = await enqueue();
  const perBareAwait = await bare();
  console.log(
    `round ${round + 1}: attempt spans ${perAttempt.toFixed(0)} ns/attempt; enqueue span ${perEnqueue.toFixed(0)} ns/call ` +
      `(a bare await of the insert: ${perBareAwait.toFixed(0)} ns); trace context captured: ${captureTraceContext()}`,
  );
}
