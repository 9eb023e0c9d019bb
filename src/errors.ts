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
  | 'timeout';

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
