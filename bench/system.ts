/**
 * The contract every benchmarked system implements, so each scenario is written once and runs the same
 * way against nightshift and its peers.
 */

/** Payload of every benchmark job; `seq` lets the latency scenario match a start to its enqueue. */
export interface BenchPayload {
  seq: number;
}

/** Called by a system's handler as a job starts, before the (empty) work. */
export type OnJobStart = (payload: BenchPayload) => void;

/** One isolated instance of a system: its own database, schema, file or Redis prefix. */
export interface BenchSession {
  /** Enqueues `count` no-op jobs with the system's bulk API, `batchSize` jobs per call. */
  enqueueBulk(count: number, batchSize: number): Promise<void>;
  /** Enqueues one no-op job with the system's single-job API. */
  enqueueOne(payload: BenchPayload): Promise<void>;
  /** Starts the system's worker in this process; `onStart` sees every job it runs. */
  startWorker(onStart: OnJobStart): Promise<void>;
  /** Resolves once the system itself reports `count` jobs finished (not merely handled). */
  waitCompleted(count: number): Promise<void>;
  /** Stops the worker started by `startWorker`, if any. */
  stopWorker(): Promise<void>;
  /** Closes connections and deletes everything the session created. */
  destroy(): Promise<void>;
}

/** A benchmarked system: how to make a fresh session, and the tuning it runs with. */
export interface BenchSystem {
  /** Short name used by `--only` and in the table. */
  readonly name: string;
  /** True for nightshift's own backends: ratios are computed against the others. */
  readonly isNightshift: boolean;
  /** The settings in force, printed with the results so a reader can judge fairness. */
  readonly settings: string;
  /** Creates an empty, isolated instance. */
  open(): Promise<BenchSession>;
}
