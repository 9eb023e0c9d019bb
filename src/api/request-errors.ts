/**
 * Messages for requests the route's schema or the body parser refused, in the words the library uses
 * for the same mistake ("unknown enqueue option "delay"; the options are ..."). The validator's own
 * words name its schema, not the request: `{"delay": 5}` sent to `POST /api/v1/jobs` read "body/delay
 * schema is false, body must not have additional properties", and a form-encoded body (curl's `-d`
 * without a content type) "Unsupported Media Type", neither saying what to send instead.
 */
import type { FastifyRequest } from 'fastify';

/** One entry of Fastify's `error.validation` (the shape TypeBox's compiler reports, as Ajv's). */
interface ValidationEntry {
  keyword?: string;
  instancePath?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** What a refused part of the request is called in a message, by Fastify's validation context. */
const PART_NAMES: Record<string, { field: string; owner: string }> = {
  body: { field: 'body field', owner: 'body' },
  querystring: { field: 'query parameter', owner: 'query' },
  params: { field: 'path parameter', owner: 'path' },
  headers: { field: 'header', owner: 'headers' },
};

/**
 * The message for a request its route's schema refused, or undefined to keep the validator's own
 * (a type or a range: "body/priority must be integer" says what is wrong already).
 */
export function validationMessage(
  request: FastifyRequest,
  context: string | undefined,
  entries: readonly ValidationEntry[],
): string | undefined {
  const part = PART_NAMES[context ?? ''] ?? { field: `${context ?? 'request'} field`, owner: context ?? '' };
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  const unknown = entries.find((entry) => entry.keyword === 'additionalProperties');
  const names = unknown?.params?.['additionalProperties'];
  if (Array.isArray(names) && names.length > 0) {
    const taken = fieldsOf(schemaAt(schemaOf(request, context), unknown?.instancePath ?? ''));
    const at = unknown?.instancePath?.replace(/^\//, '') ?? '';
    const listed = names.map((name) => JSON.stringify(name)).join(', ');
    const takes = taken.length === 0 ? `no ${part.field}` : taken.join(', ');
    return at === ''
      ? `unknown ${part.field} ${listed}; ${route} takes ${takes}`
      : `unknown ${part.field} ${listed} in ${at} (${route}); ${at} takes ${takes}`;
  }
  const choice = entries.find((entry) => entry.keyword === 'enum');
  const allowed = choice?.params?.['allowedValues'];
  if (choice !== undefined && Array.isArray(allowed)) {
    const path = choice.instancePath?.replace(/^\//, '').replaceAll('/', '.') ?? '';
    const got = valueAt(request, context, choice.instancePath ?? '');
    return `${part.field} ${path === '' ? '' : `${path} `}must be one of ${allowed.map(String).join(', ')}${
      got === undefined ? '' : `, got ${JSON.stringify(got)}`
    }`;
  }
  return nullableMessage(context ?? '', entries);
}

/**
 * A nullable field's refusal ("a limit, or null to remove it"): the validator reports each branch of
 * the union and the union itself ("body/limit must be >= 1, body/limit must be null, body/limit must
 * match a schema in anyOf"), which reads as three demands at once. Said once: the reason, or null.
 */
function nullableMessage(context: string, entries: readonly ValidationEntry[]): string | undefined {
  const union = entries.find((entry) => entry.keyword === 'anyOf');
  if (union === undefined) return undefined;
  const at = union.instancePath ?? '';
  const isNullBranch = (entry: ValidationEntry): boolean =>
    entry.keyword === 'type' && entry.params?.['type'] === 'null' && entry.instancePath === at;
  if (!entries.some(isNullBranch)) return undefined;
  const reasons = entries.filter((entry) => entry !== union && !isNullBranch(entry));
  if (reasons.length === 0) return undefined;
  const said = reasons.map(
    (entry) => `${context}${entry.instancePath ?? ''} ${entry.message ?? 'is invalid'}`,
  );
  return reasons.every((entry) => entry.instancePath === at)
    ? `${said.join(', ')}, or null`
    : `${said.join(', ')} (${context}${at} may also be null)`;
}

/** The message for a body in a content type the API does not read (it reads JSON only). */
export function mediaTypeMessage(request: FastifyRequest): string {
  const type = request.headers['content-type'];
  return `the body must be JSON sent with Content-Type: application/json; got ${
    type === undefined ? 'no Content-Type' : `Content-Type: ${type}`
  }`;
}

/**
 * The message for a body over the limit: the limit, and what to do (Fastify's own said only
 * "Request body is too large", leaving a client to find the limit by halving its batch).
 */
export function bodyTooLargeMessage(request: FastifyRequest): string {
  const limit = request.routeOptions.bodyLimit;
  const mebibytes = limit / (1024 * 1024);
  const inMiB = Number.isInteger(mebibytes) ? ` (${mebibytes} MiB)` : '';
  return `the body is larger than this server accepts: at most ${limit} bytes${inMiB}: send a smaller one (a bulk enqueue: fewer jobs per request)`;
}

/** The route's schema of a request part (TypeBox schemas are JSON Schema objects). */
function schemaOf(request: FastifyRequest, context: string | undefined): unknown {
  const schemas = request.routeOptions.schema as Record<string, unknown> | undefined;
  return context === undefined ? undefined : schemas?.[context];
}

/** The schema of the value at a JSON pointer (`/jobs/0`), through arrays, unions and intersections. */
function schemaAt(schema: unknown, pointer: string): unknown {
  let node = schema;
  for (const key of pointer.split('/').slice(1)) {
    node = branches(node)
      .map((branch) => {
        const { properties, items } = branch as { properties?: Record<string, unknown>; items?: unknown };
        return /^\d+$/.test(key) && items !== undefined ? items : properties?.[key];
      })
      .find((found) => found !== undefined);
  }
  return node;
}

/** A schema and the branches of its unions and intersections, flattened. */
function branches(schema: unknown): object[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const {
    anyOf = [],
    oneOf = [],
    allOf = [],
  } = schema as { anyOf?: unknown[]; oneOf?: unknown[]; allOf?: unknown[] };
  return [schema, ...[...anyOf, ...oneOf, ...allOf].flatMap(branches)];
}

/** The property names a schema takes, through unions and intersections. */
function fieldsOf(schema: unknown): string[] {
  const names = branches(schema).flatMap((branch) =>
    Object.keys((branch as { properties?: Record<string, unknown> }).properties ?? {}),
  );
  return [...new Set(names)];
}

/** The value the request carried at a JSON pointer of one of its parts, when it is a scalar. */
function valueAt(request: FastifyRequest, context: string | undefined, pointer: string): unknown {
  const parts: Record<string, unknown> = {
    body: request.body,
    querystring: request.query,
    params: request.params,
    headers: request.headers,
  };
  let value = parts[context ?? ''];
  for (const key of pointer.split('/').slice(1)) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return typeof value === 'object' ? undefined : value;
}
