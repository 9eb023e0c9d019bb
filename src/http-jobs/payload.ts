/**
 * The payload of an `http.request` job, its schema, and the checks an enqueue (or a schedule) gets:
 * structure, URL, allowed host, headers, secret references. Secret values are never part of a payload,
 * only their names, and they are not looked up here: the process that enqueues may not hold them.
 */
import { Type, type Static } from 'typebox';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Destinations } from './destination.js';
import { MAX_TIMEOUT_MS } from './options.js';
import { SECRET_NAME, type SecretRef } from './secrets.js';
import { typeboxStandardSchema, type Issue } from './standard-schema.js';

/** Methods an HTTP job may use. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Redirects followed at most, whatever a job asks. */
export const MAX_REDIRECTS = 10;

const secretRef = Type.Object(
  { secret: Type.String(), format: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

const payloadSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 8192 }),
    method: Type.Optional(Type.Enum([...HTTP_METHODS])),
    headers: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Union([Type.String(), secretRef], {
          description: 'a string or { secret: "name", format?: "Bearer {}" }',
        }),
      ),
    ),
    json: Type.Optional(Type.Unknown()),
    body: Type.Optional(Type.String()),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS })),
    expectStatus: Type.Optional(
      Type.Array(
        Type.Union([Type.Integer({ minimum: 100, maximum: 599 }), Type.String({ pattern: '^[1-5]xx$' })], {
          description: 'a status code (100-599) or a class such as "2xx"',
        }),
        { minItems: 1, maxItems: 100 },
      ),
    ),
    maxRedirects: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_REDIRECTS })),
  },
  { additionalProperties: false },
);

/** An `http.request` job's payload. */
export type HttpRequestPayload = Static<typeof payloadSchema>;

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Set by the client from the request itself; a job setting them could only make it inconsistent.
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade']);

/** The payload schema, checking URLs against `destinations` (allow list, literal addresses). */
export function httpRequestSchema(destinations: Destinations): StandardSchemaV1<HttpRequestPayload> {
  return typeboxStandardSchema(payloadSchema, (payload) => [
    ...urlIssues(payload.url, destinations),
    ...headerIssues(payload.headers ?? {}),
    ...bodyIssues(payload),
  ]);
}

function urlIssues(text: string, destinations: Destinations): Issue[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [{ path: ['url'], message: 'must be an absolute http: or https: URL' }];
  }
  const refusal = destinations.urlRefusal(url);
  return refusal === null ? [] : [{ path: ['url'], message: refusal }];
}

function headerIssues(headers: Record<string, string | SecretRef>): Issue[] {
  const issues: Issue[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const path = ['headers', name];
    if (!HEADER_NAME.test(name)) issues.push({ path, message: 'is not a valid header name' });
    else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      issues.push({ path, message: 'is set by the client and cannot be given' });
    }
    if (typeof value === 'string') {
      if (/[\r\n\0]/.test(value)) issues.push({ path, message: 'must not contain CR, LF or NUL' });
      continue;
    }
    if (!SECRET_NAME.test(value.secret)) {
      issues.push({
        path: [...path, 'secret'],
        message: 'must be a secret name: letters, digits, ".", "_", "-", starting with a letter or digit',
      });
    }
    if (value.format !== undefined && (!value.format.includes('{}') || /[\r\n\0]/.test(value.format))) {
      issues.push({
        path: [...path, 'format'],
        message: 'must contain {} where the secret goes, and no CR, LF or NUL',
      });
    }
  }
  return issues;
}

function bodyIssues(payload: HttpRequestPayload): Issue[] {
  const hasJson = payload.json !== undefined;
  const hasBody = payload.body !== undefined;
  if (hasJson && hasBody) return [{ path: ['body'], message: 'give either json or body, not both' }];
  const method = payload.method ?? 'GET';
  if ((hasJson || hasBody) && (method === 'GET' || method === 'HEAD')) {
    return [{ path: [hasJson ? 'json' : 'body'], message: `a ${method} request carries no body` }];
  }
  return [];
}
