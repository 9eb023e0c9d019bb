/**
 * The API's defaults and bounds that code outside the server names (the demo's address, the config's
 * checks), apart from server.ts so that naming them does not load the HTTP server, its schemas and
 * their libraries.
 */
import type { Range } from '../validation/bounds.js';

/** Where the API listens unless told otherwise: loopback only. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';
/** The API's default port. */
export const DEFAULT_HTTP_PORT = 7400;
/** Largest request body accepted (a bulk enqueue of 1,000 jobs with 1 KiB payloads fits). */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;
/** What `bodyLimit` may be set to, in bytes: from 1 KiB (a small bulk enqueue) to 1 GiB. */
export const BODY_LIMIT_RANGE: Range = [1_024, 1_024 * 1_024 * 1_024];
