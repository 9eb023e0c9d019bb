/** The parent's side of ./worker-process.ts: start it, follow what it reports, stop it. */
import { fork } from 'node:child_process';
import type { BenchSession, BenchSystem, WorkerProfile } from './system.js';
import type { WorkerProcessArgs, WorkerProcessMessage } from './worker-process.js';
import { waitUntil } from './wait.js';
import { bundledWorkerProcess } from './worker-bundle.js';

/** A running worker process. */
export interface WorkerChild {
  readonly pid: number;
  /** Enqueue-to-start latency of every job it started so far, in arrival order of its reports. */
  readonly latenciesMs: number[];
  /** The enqueue stamp (payload `at`) of each job in `latenciesMs`, at the same index. */
  readonly enqueuedAtMs: number[];
  /** RSS and heap after a full collection at each `rssAt` threshold, by the started count read at. */
  readonly rss: Array<{ started: number; rssBytes: number; heapBytes: number }>;
  /** Waits until it started `count` jobs; rejects after `timeoutMs`. */
  waitStarted(count: number, timeoutMs: number): Promise<void>;
  /** Stops its worker, closes its connections and waits for it to exit. */
  stop(): Promise<void>;
}

/** Forks a worker process and resolves once its worker runs. */
export async function startWorkerProcess(args: WorkerProcessArgs): Promise<WorkerChild> {
  const child = fork(await bundledWorkerProcess(), [JSON.stringify(args)], {
    execArgv: ['--expose-gc'],
    stdio: 'inherit',
  });
  const latenciesMs: number[] = [];
  const enqueuedAtMs: number[] = [];
  const rss: Array<{ started: number; rssBytes: number; heapBytes: number }> = [];
  let ready = false;
  let stopped = false;
  let exited: string | undefined;
  child.on('message', (message: WorkerProcessMessage) => {
    if (message.type === 'ready') ready = true;
    else if (message.type === 'started') {
      latenciesMs.push(...message.latenciesMs);
      enqueuedAtMs.push(...message.enqueuedAtMs);
    } else if (message.type === 'rss') {
      rss.push({ started: message.started, rssBytes: message.rssBytes, heapBytes: message.heapBytes });
    } else stopped = true;
  });
  child.on('exit', (code, signal) => {
    exited = `worker process of ${args.system} exited (code ${code}, signal ${signal})`;
  });
  const alive = (what: () => boolean) => () => {
    if (exited !== undefined && !what()) throw new Error(exited);
    return what();
  };
  try {
    await waitUntil(
      `worker process of ${args.system} to start`,
      alive(() => ready),
      { timeoutMs: 60_000 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    pid: child.pid ?? 0,
    latenciesMs,
    enqueuedAtMs,
    rss,
    waitStarted: (count, timeoutMs) =>
      waitUntil(
        `${count} jobs started by ${args.system}`,
        alive(() => latenciesMs.length >= count),
        {
          timeoutMs,
        },
      ),
    async stop() {
      if (exited !== undefined) return;
      child.send({ type: 'stop' });
      try {
        await waitUntil(
          `worker process of ${args.system} to stop`,
          alive(() => stopped),
          {
            timeoutMs: 60_000,
          },
        );
      } finally {
        if (exited === undefined) {
          const gone = new Promise((resolve) => child.once('exit', resolve));
          await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
          if (exited === undefined) child.kill('SIGKILL');
        }
      }
    },
  };
}

/** A worker process for `system` on `session`'s instance, reporting RSS at each of `rssAt` jobs started. */
export function startWorkerFor(
  system: BenchSystem,
  session: BenchSession,
  profile: WorkerProfile,
  rssAt: number[] = [],
): Promise<WorkerChild> {
  return startWorkerProcess({ system: system.name, ref: session.ref, profile, rssAt });
}
