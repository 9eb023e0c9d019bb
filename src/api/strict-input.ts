/**
 * Input a route does not take is refused (400 `invalid_argument`), never ignored: an ignored
 * `DELETE /jobs/:id?dryRun=true` deletes, an ignored `{"untilMs":60000}` pauses a schedule for good.
 * Routes that declare a querystring or body schema refuse unknown fields through it
 * (`additionalProperties: false`); this covers the routes that declare none, in one place, so a
 * new route cannot forget it.
 *
 * A route without a body schema takes no body, an empty one, or `{}`: many HTTP clients send `{}` (or
 * an empty body with `Content-Type: application/json`) on every POST, and neither carries a field
 * that could be ignored.
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import { Type } from 'typebox';
import { ApiError } from './errors.js';

/** The querystring of a route that takes no parameter. */
const NO_QUERY = Type.Object({}, { additionalProperties: false });

/** Makes every route registered on `api` from now on refuse query parameters and bodies it does not take. */
export function refuseUndeclaredInput(api: FastifyInstance): void {
  api.addHook('onRoute', (route: RouteOptions) => {
    // Set on the route's own options, which @fastify/swagger reads too: the document shows the schema.
    const schema = (route.schema ??= {});
    schema.querystring ??= NO_QUERY;
    if (schema.body === undefined) {
      const own = route.preValidation ?? [];
      route.preValidation = [...(Array.isArray(own) ? own : [own]), refuseBody];
    }
  });
}

function refuseBody(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const { body } = request;
  if (body === undefined ? !carriesUnreadBody(request) : isEmptyObject(body)) {
    done();
    return;
  }
  const got = isObject(body) ? `fields ${Object.keys(body).join(', ')}` : 'a body';
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  done(new ApiError(400, 'invalid_argument', `${route} takes no body (send none, or {}); got ${got}`));
}

// Fastify does not read the body of a GET or HEAD request: only its headers tell that it has one.
function carriesUnreadBody(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmptyObject(value: unknown): boolean {
  return isObject(value) && Object.keys(value).length === 0;
}
