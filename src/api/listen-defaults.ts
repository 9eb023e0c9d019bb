/**
 * The API's listening defaults, apart from server.ts so that code which only names them (the demo's
 * address) does not load the HTTP server, its schemas and their libraries with them.
 */

/** Where the API listens unless told otherwise: loopback only. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';
/** The API's default port. */
export const DEFAULT_HTTP_PORT = 7400;
