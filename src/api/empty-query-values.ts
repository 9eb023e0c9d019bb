/**
 * An empty number or boolean query parameter (`?limit=`, `?running=`) is refused as empty. The
 * validator coerces query text to the schema's type, and the empty text becomes 0 or false: `limit=`
 * was refused as "must be >= 1", which reads as if the client had sent 0, and `wait=` or `running=`
 * were taken as 0 and false, a value the client never gave. Checked before validation, while the query
 * is still the text the client sent, for every route in one place.
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import { ApiError } from './errors.js';

interface PropertySchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: PropertySchema[];
}

/** What a parameter of this schema takes, for a message; undefined when text ('' may be a value). */
function expected(schema: PropertySchema): string | undefined {
  const types = [schema, ...(schema.anyOf ?? [])];
  const numeric = types.find((s) => s.type === 'integer' || s.type === 'number');
  if (numeric !== undefined) {
    const kind = numeric.type === 'integer' ? 'an integer' : 'a number';
    const { minimum, maximum } = numeric;
    if (minimum !== undefined && maximum !== undefined) return `${kind} from ${minimum} to ${maximum}`;
    if (minimum !== undefined) return `${kind} of at least ${minimum}`;
    return kind;
  }
  return types.some((s) => s.type === 'boolean') ? 'true or false' : undefined;
}

/** Makes every route registered on `api` from now on refuse empty number and boolean query parameters. */
export function refuseEmptyQueryValues(api: FastifyInstance): void {
  api.addHook('onRoute', (route: RouteOptions) => {
    const properties = (route.schema?.querystring as { properties?: Record<string, PropertySchema> })
      ?.properties;
    const takes = new Map<string, string>();
    for (const [name, schema] of Object.entries(properties ?? {})) {
      const what = expected(schema);
      if (what !== undefined) takes.set(name, what);
    }
    if (takes.size === 0) return;
    const refuseEmpty = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const query = request.query as Record<string, unknown>;
      for (const [name, what] of takes) {
        if (query[name] === '') {
          done(new ApiError(400, 'invalid_argument', `query parameter ${name} is empty: it takes ${what}`));
          return;
        }
      }
      done();
    };
    const own = route.preValidation ?? [];
    route.preValidation = [...(Array.isArray(own) ? own : [own]), refuseEmpty];
  });
}
