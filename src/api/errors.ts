/**
 * One error shape for every failure the API reports: `{ "error": { "code", "message" } }`. Codes are
 * the library's and CLI's (`NightshiftError` codes) plus the few only HTTP has (`unauthorized`,
 * `forbidden`, `read_only`, `payload_too_large`, `unsupported_media_type`, `shutting_down`). A
 * client's mistake is a 4xx; anything unexpected is a 500 `internal` whose details go to the server's
 * log, never to the client.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { firstLine, NightshiftError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { bodyTooLargeMessage, mediaTypeMessage, validationMessage } from './request-errors.js';

/** Every code an API error body may carry. */
export type ApiErrorCode =
  | ErrorCode
  | 'unauthorized'
  | 'forbidden'
  | 'read_only'
  | 'payload_too_large'
  | 'unsupported_media_type'
  /** 503: the server is stopping (src/api/in-flight.ts). */
  | 'shutting_down';

/** The HTTP status of each library error code. */
const STATUS: Record<Exclude<ErrorCode, 'internal'>, number> = {
  invalid_argument: 400,
  invalid_payload: 422,
  unknown_task: 422,
  not_found: 404,
  conflict: 409,
  lease_lost: 409,
  timeout: 504,
  config_error: 500,
  schema_too_new: 503,
  database_unavailable: 503,
  overloaded: 503,
  invalid_result: 500,
};

/** An error the API answers with a chosen status and code. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The error body. */
export function errorBody(code: ApiErrorCode, message: string): { error: { code: string; message: string } } {
  return { error: { code, message: firstLine(message) } };
}

/** Fastify's own request errors that are the client's doing, by Fastify error code. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: ApiErrorCode; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'invalid_argument',
    message: 'the body is not valid JSON',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_argument' },
};

/**
 * Maps any error thrown while handling a request to its status and body; with the request, a refusal
 * of its schema or content type is worded from what the request sent and what the route takes.
 */
export function toErrorReply(
  error: unknown,
  request?: FastifyRequest,
): { status: number; code: ApiErrorCode; message: string } {
  if (error instanceof ApiError)
    return { status: error.statusCode, code: error.code, message: error.message };
  // An unexpected store error's message may carry driver details: it goes to the log, not the client.
  if (error instanceof NightshiftError && error.code !== 'internal')
    return { status: STATUS[error.code], code: error.code, message: error.message };
  const fastify = error as Partial<FastifyError>;
  if (fastify.validation !== undefined) {
    const worded =
      request === undefined
        ? undefined
        : validationMessage(request, fastify.validationContext, fastify.validation);
    return { status: 400, code: 'invalid_argument', message: worded ?? fastify.message ?? 'invalid request' };
  }
  const known = fastify.code === undefined ? undefined : FASTIFY_CLIENT_ERRORS[fastify.code];
  if (known?.code === 'unsupported_media_type' && request !== undefined)
    return { status: known.status, code: known.code, message: mediaTypeMessage(request) };
  if (known?.code === 'payload_too_large' && request !== undefined)
    return { status: known.status, code: known.code, message: bodyTooLargeMessage(request) };
  if (known)
    return { status: known.status, code: known.code, message: known.message ?? fastify.message ?? '' };
  const status = fastify.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: 'invalid_argument', message: fastify.message ?? 'bad request' };
  }
  return { status: 500, code: 'internal', message: 'internal error; the server log has the details' };
}

/**
 * 5xx codes that report a condition of the cluster (the database away, its schema ahead, the enqueue
 * queue full), not a fault of the server's code: while one lasts, every request answers it (readiness
 * probes every few seconds, a dashboard's refreshes, a producer's retries), and a stack per request
 * would bury the log. The service that met it logs the condition itself.
 */
const CONDITION_CODES: ReadonlySet<ApiErrorCode> = new Set([
  'database_unavailable',
  'schema_too_new',
  'overloaded',
]);
/** At most one log line per condition code per this interval, with the count of those left out. */
export const CONDITION_LOG_INTERVAL_MS = 10_000;

/** The Fastify error handler: one body shape, and 5xx details logged rather than sent. */
export function errorHandler(logger: Logger) {
  const lastLogged = new Map<ApiErrorCode, { at: number; unlogged: number }>();
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, code, message } = toErrorReply(error, request);
    if (CONDITION_CODES.has(code)) {
      const last = lastLogged.get(code);
      const now = Date.now();
      if (last !== undefined && now - last.at < CONDITION_LOG_INTERVAL_MS) last.unlogged += 1;
      else {
        const unlogged = last?.unlogged ?? 0;
        logger.warn(
          { code, method: request.method, url: request.url, ...(unlogged > 0 && { unlogged }) },
          `API request answered ${status}: ${firstLine(message)}`,
        );
        lastLogged.set(code, { at: now, unlogged: 0 });
      }
    } else if (status >= 500) {
      logger.error({ err: error, method: request.method, url: request.url }, 'API request failed');
    }
    return reply.status(status).send(errorBody(code, message));
  };
}
