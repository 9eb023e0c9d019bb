/**
 * The errors an `http.request` attempt fails with. Kept apart from the task so the package can export
 * them without loading the task (its payload schema library costs a noticeable start-up).
 */
import { NonRetryableError } from '../errors.js';

/** A failed attempt that may succeed later: 5xx, 408, 429, timeout, network error. */
export class HttpRequestError extends Error {
  override readonly name = 'HttpRequestError';
}

/** An answer a retry cannot change: a status the job does not expect. */
export class HttpStatusError extends NonRetryableError {
  override readonly name = 'HttpStatusError';
}

/** The request was refused by the allow list or the address policy; retrying cannot help. */
export class DestinationRefusedError extends NonRetryableError {
  override readonly name = 'DestinationRefusedError';
}
