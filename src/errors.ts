/**
 * Errors nightshift raises on purpose. Each carries a stable `code` that the CLI maps to an exit code
 * and the REST API to an HTTP status, so callers branch on the code, never on message text.
 */

/** Stable error codes; part of the public contract once released. */
export type ErrorCode =
  | 'invalid_argument'
  | 'invalid_payload'
  /** A handler's result refused by its task's result schema (recorded on the job, never thrown to callers). */
  | 'invalid_result'
  | 'unknown_task'
  | 'not_found'
  | 'conflict'
  | 'lease_lost'
  | 'schema_too_new'
  | 'database_unavailable'
  | 'config_error'
  | 'timeout'
  /** Too many calls wait for the database (`enqueue.maxPending`, `enqueue.maxWaitMs`); nothing was written. */
  | 'overloaded'
  /** The store failed in a way nightshift did not expect; the driver's error is the `cause`. */
  | 'internal';

/** An error with a stable code and a one-line message meant for people. */
export class NightshiftError extends Error {
  override readonly name = 'NightshiftError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Raised (and used as the AbortSignal reason) when an attempt's lease token is no longer current:
 * another worker re-claimed the job, or it was rescued. Every write of that attempt is refused.
 */
export class LeaseLostError extends NightshiftError {
  constructor(jobId: string) {
    super('lease_lost', `lease lost for job ${jobId}: another attempt owns it now`);
  }
}

/** The first line of `text`: a message for one log or error line. */
export function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/**
 * `error` as a store call's caller sees it: a `NightshiftError` as it is, anything else (a driver's
 * error nightshift did not map) as `internal`, keeping it as the `cause`. A raw driver error never
 * reaches a library or CLI user.
 */
export function unexpectedStoreError(error: unknown, backend: string): NightshiftError {
  if (error instanceof NightshiftError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new NightshiftError(
    'internal',
    `unexpected ${backend} error${typeof code === 'string' ? ` ${code}` : ''}: ${message}`,
    { cause: error },
  );
}

/**
 * Thrown by a handler to fail its job for good: the attempt is recorded as `failed` and no retry is
 * scheduled, however many attempts remain. For errors a retry cannot fix (a refused request, bad
 * input the schema could not see); anything else a handler throws is retried with backoff.
 */
export class NonRetryableError extends Error {
  override readonly name: string = 'NonRetryableError';
}

/** An `enqueueMany` item that was refused (nothing was enqueued); `index` is its place in the array, from 0. */
export class EnqueueItemError extends NightshiftError {
  constructor(
    readonly index: number,
    cause: NightshiftError,
  ) {
    super(cause.code, `item ${index}: ${cause.message}`, { cause });
  }
}
