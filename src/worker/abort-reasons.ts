/**
 * Reasons a handler's AbortSignal carries, so a handler can tell why it is being stopped
 * (`signal.reason instanceof JobTimeoutError`) and, for example, save a checkpoint only on shutdown.
 * Lease loss uses `LeaseLostError` from errors.ts.
 */

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
