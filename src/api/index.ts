/**
 * `nightshift/api`: the REST API for applications that serve it themselves. A subpath of its own, so
 * importing the library does not load the HTTP server.
 */
export {
  API_PREFIX,
  createApiServer,
  isLoopback,
  startApiServer,
  type ApiServerOptions,
  type ServedApi,
} from './server.js';
export { DEFAULT_BODY_LIMIT, DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from './listen-defaults.js';
export { issueToken, hashToken, TOKEN_PREFIX } from './tokens.js';
export { roleAllows, type RouteRole } from './auth.js';
export type { ApiErrorCode } from './errors.js';
export { API_ROLES, type ApiRole, type ApiToken } from '../store/store.js';
