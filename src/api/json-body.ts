/**
 * The API's JSON body parser. Beyond JSON.parse it refuses strings that the databases do not store
 * faithfully: NUL characters (PostgreSQL text columns refuse them: a 500 on one backend only) and lone
 * UTF-16 surrogates (UTF-8 cannot carry them; both drivers would store U+FFFD instead). Refusing them
 * at the door makes them a 400 on both backends.
 */
import { ApiError } from './errors.js';

/**
 * Parses a request body; throws ApiError 400 for malformed JSON or unstorable strings. An empty body is
 * no body (undefined): many clients send `Content-Type: application/json` on every request, bodyless
 * POSTs included, and a route that needs a body still refuses its absence.
 */
export function parseJsonBody(text: string): unknown {
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_argument', 'the body is not valid JSON');
  }
  try {
    assertStorable(value);
  } catch (error) {
    if (error instanceof RangeError)
      throw new ApiError(400, 'invalid_argument', 'the body is nested too deeply');
    throw error;
  }
  return value;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function assertStorable(value: unknown): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000') || LONE_SURROGATE.test(value)) {
      throw new ApiError(400, 'invalid_argument', 'strings must be valid Unicode without NUL characters');
    }
  } else if (Array.isArray(value)) {
    for (const item of value) assertStorable(item);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      assertStorable(key);
      assertStorable(item);
    }
  }
}
