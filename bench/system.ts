/**
 * The contract every benchmarked system implements, so each scenario is written once and runs the same
 * way against nightshift and its peers.
 */

/**
 * Payload of every benchmark job. `at` is when the job was handed to the enqueue call, in epoch
 * milliseconds with sub-millisecond resolution (`nowMs()`), so a worker in another process can compute
 * enqueue-to-start latency from the payload alone.
 */
export interface BenchPayload {
  seq: number;
  at: number;
}

/** Called by a system's handler as a job starts, before the (empty) work. */
export type OnJobStart = (payload: BenchPayload) => void;

/**
 * How a worker is configured. `recommended`: the system's documented settings for throughput, at
 * `concurrency` jobs in flight. `defaults`: the worker as installed, no option given (its own default
 * concurrency; `concurrency` is ignored).
 */
export interface WorkerProfile {
  mode: 'recommended' | 'defaults';
  concurrency: number;
}

/** One instance of a system: its own database, file or Redis prefix. */
export interface BenchSession {
  /** What `BenchSystem.attach` needs to reach this instance from another process. */
  readonly ref: string;
  /** The PostgreSQL database holding this instance, for server-side cost; absent off PostgreSQL. */
  readonly database?: string;
  /** Enqueues `payloads` with one call of the system's bulk API. */
  enqueueBulk(payloads: BenchPayload[]): Promise<void>;
  /** Enqueues one job with the system's single-job API. */
  enqueueOne(payload: BenchPayload): Promise<void>;
  /** Starts the system's worker in this process; `onStart` sees every job it runs. */
  startWorker(profile: WorkerProfile, onStart: OnJobStart): Promise<void>;
  /** Jobs this session enqueued that the system itself reports finished (persisted, not merely handled). */
  completed(): Promise<number>;
  /** Stops the worker started by `startWorker`, if any. */
  stopWorker(): Promise<void>;
  /** Closes connections; for a session made by `open`, also deletes everything it created. */
  destroy(): Promise<void>;
}

/** A benchmarked system: how to make or reach a session, and the tuning it runs with. */
export interface BenchSystem {
  /** Short name used by `--only` and in the tables. */
  readonly name: string;
  /** True for nightshift's own backends: ratios are computed for these. */
  readonly isNightshift: boolean;
  /** Where its jobs live: decides which server-side costs can be read. */
  readonly store: 'postgres' | 'sqlite' | 'redis';
  /** The settings a worker of `profile` runs with, printed beside every figure. */
  settings(profile: WorkerProfile): string;
  /** The producer's settings (pool, API used), printed beside enqueue figures. */
  readonly producerSettings: string;
  /** Creates an empty, isolated instance. */
  open(): Promise<BenchSession>;
  /** Connects to an instance another process opened (its `ref`); `destroy` then only disconnects. */
  attach(ref: string): Promise<BenchSession>;
}

/** Wall-clock now in epoch ms, sub-millisecond: comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** `count` payloads numbered from `firstSeq`, all stamped now. */
export function payloads(firstSeq: number, count: number): BenchPayload[] {
  const at = nowMs();
  return Array.from({ length: count }, (_, i) => ({ seq: firstSeq + i, at }));
}
