/**
 * Number and boolean query parameters are checked as the text the client sent, before validation. The
 * validator converts query text to the schema's type, and its conversions change what was asked: the
 * empty text becomes 0 or false (`limit=` was refused as "must be >= 1", which reads as if the client
 * had sent 0, and `wait=` or `running=` were taken as 0 and false), an integer's text is read as any
 * number and truncated (`limit=2.9` listed 2 jobs, `wait=0.5` waited 0 s), and `0x10`, `1e3` or ` 5`
 * were read as numbers. Checked for every route in one place.
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

/** What a parameter takes: its text's form and the words for a message; undefined when text. */
interface Takes {
  form: RegExp;
  what: string;
}

const INTEGER_TEXT = /^-?[0-9]+$/;
const NUMBER_TEXT = /^-?[0-9]+(\.[0-9]+)?$/;
const BOOLEAN_TEXT = /^(true|false)$/;

function takes(schema: PropertySchema): Takes | undefined {
  const types = [schema, ...(schema.anyOf ?? [])];
  // A parameter that also takes text has no form to hold its value to.
  if (types.some((s) => s.type === 'string')) return undefined;
  const numeric = types.find((s) => s.type === 'integer' || s.type === 'number');
  if (numeric !== undefined) {
    const integer = numeric.type === 'integer';
    const kind = integer ? 'an integer' : 'a number';
    const { minimum, maximum } = numeric;
    const what =
      minimum !== undefined && maximum !== undefined
        ? `${kind} from ${minimum} to ${maximum}`
        : minimum !== undefined
          ? `${kind} of at least ${minimum}`
          : kind;
    return { form: integer ? INTEGER_TEXT : NUMBER_TEXT, what };
  }
  return types.some((s) => s.type === 'boolean') ? { form: BOOLEAN_TEXT, what: 'true or false' } : undefined;
}

/** Makes every route registered on `api` from now on refuse number and boolean query text not of that form. */
export function checkQueryValueText(api: FastifyInstance): void {
  api.addHook('onRoute', (route: RouteOptions) => {
    const properties = (route.schema?.querystring as { properties?: Record<string, PropertySchema> })
      ?.properties;
    const checked = new Map<string, Takes>();
    for (const [name, schema] of Object.entries(properties ?? {})) {
      const taken = takes(schema);
      if (taken !== undefined) checked.set(name, taken);
    }
    if (checked.size === 0) return;
    const refuseMalformed = (
      request: FastifyRequest,
      _reply: FastifyReply,
      done: HookHandlerDoneFunction,
    ) => {
      const query = request.query as Record<string, unknown>;
      for (const [name, { form, what }] of checked) {
        const text = query[name];
        // Absent, or repeated (an array): left to the validator, which refuses a list.
        if (typeof text !== 'string') continue;
        if (text === '') {
          done(new ApiError(400, 'invalid_argument', `query parameter ${name} is empty: it takes ${what}`));
          return;
        }
        if (!form.test(text)) {
          done(
            new ApiError(
              400,
              'invalid_argument',
              `query parameter ${name} takes ${what}, got ${JSON.stringify(text)}`,
            ),
          );
          return;
        }
      }
      done();
    };
    const own = route.preValidation ?? [];
    route.preValidation = [...(Array.isArray(own) ? own : [own]), refuseMalformed];
  });
}
