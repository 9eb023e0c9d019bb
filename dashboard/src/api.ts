/**
 * Talks to the REST API under /api/v1 with the bearer token the user gave (kept in localStorage).
 * Every failure is an ApiFailure carrying the API's error code, so pages can tell "log in" (401),
 * "not allowed" (403) and "this server has no such route yet" (see `isUnavailable`) apart.
 */

const TOKEN_KEY = 'nightshift.token';

/** The API's answer when it refused or failed a request. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The stored token, or null. */
export function storedToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

/** Stores (or, with null, forgets) the token. */
export function storeToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
}

/** Whoever listens for "the token is missing or no longer valid" (the app shows the token form). */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(listener: () => void): void {
  onUnauthorized = listener;
}

/** Tells the listener the server refused the token (any request's 401, the event stream's too). */
export function reportUnauthorized(): void {
  onUnauthorized();
}

/** Headers every API request carries. */
export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/**
 * Sends a request to /api/v1 + `path` and resolves with the parsed JSON body (undefined on 204).
 * Aborting `signal` abandons the request (it rejects with the abort's error).
 */
export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders(), accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
    ...(signal !== undefined && { signal }),
  });
  const text = await response.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const failure = new ApiFailure(
      response.status,
      error?.code ?? 'internal',
      error?.message ?? `${method} ${path} answered ${response.status}`,
    );
    if (response.status === 401) reportUnauthorized();
    throw failure;
  }
  return parsed as T;
}

/**
 * True when the server has no such route: it answers `not_found` with "no route …", where a missing
 * job or schedule says "job … not found". The dashboard then shows the part as not available on this
 * server instead of failing.
 */
export function isUnavailable(error: unknown): boolean {
  return error instanceof ApiFailure && error.status === 404 && error.message.startsWith('no route');
}

/** The query string of a filter object, without empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
