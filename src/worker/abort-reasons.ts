/**
 * Reasons a handler's AbortSignal carries, so a handler can tell why it is being stopped
 * (`signal.reason instanceof JobTimeoutError`) and, for example, save a checkpoint only on shutdown.
 * Lease loss uses `LeaseLostError` from errors.ts.
 */
import { LeaseLostError } from '../errors.js';

/**
 * Why an attempt was aborted. `error`: an error escaped its handler (escaped-errors.ts), which is
 * then the signal's reason.
 */
export type AbortKind = 'timeout' | 'cancel' | 'lease_lost' | 'shutdown' | 'error';

/** The attempt ran past its `timeoutMs`; it fails with reason `timeout` (and retries if it may). */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
  }
}

/** Someone cancelled the job; the attempt ends `cancelled`. */
export class JobCancelledError extends Error {
  override readonly name = 'JobCancelledError';
  constructor() {
    super('job was cancelled');
  }
}

/** The worker is shutting down; the job is released to run again, the attempt not spent. */
export class WorkerShutdownError extends Error {
  override readonly name = 'WorkerShutdownError';
  constructor() {
    super('worker is shutting down; the job will be released and resumed elsewhere');
  }
}

/** The signal's reason for an abort of `kind` (an escaped error is its own reason). */
export function abortReason(kind: Exclude<AbortKind, 'error'>, jobId: string, timeoutMs: number): Error {
  switch (kind) {
    case 'timeout':
      return new JobTimeoutError(timeoutMs);
    case 'cancel':
      return new JobCancelledError();
    case 'shutdown':
      return new WorkerShutdownError();
    case 'lease_lost':
      return new LeaseLostError(jobId);
  }
}
