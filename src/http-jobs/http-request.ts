/**
 * The `http.request` task: one HTTP call per attempt, judged by its status.
 *
 * - An expected status (default any 2xx) completes the job with an `HttpRequestResult`.
 * - 5xx, 408, 429, timeouts and network errors fail the attempt; the job retries with the task's
 *   backoff while attempts remain.
 * - Any other status, a refused destination or an undefined secret fails the job for good
 *   (`NonRetryableError`): a retry would get the same answer.
 * Redirects are not followed unless the job sets `maxRedirects`; then each hop is checked like the
 * first, and headers carrying secrets are dropped when a hop leaves the original origin.
 * Everything stored (result, error messages) has the secrets of the request redacted.
 */
import { NonRetryableError } from '../errors.js';
import type { TaskDefinition } from '../task.js';
import { Destinations } from './destination.js';
import { HttpRequestError, HttpStatusError } from './errors.js';
import { exchange, type ExchangeResponse } from './exchange.js';
import { resolveHttpJobsOptions, type HttpJobsOptions, type ResolvedHttpJobsOptions } from './options.js';
import { httpRequestSchema, type HttpRequestPayload } from './payload.js';
import { SecretResolver, type Redactor } from './secrets.js';
import { HTTP_REQUEST_TASK } from './task-name.js';

/** What a completed `http.request` job stores as its result. */
export interface HttpRequestResult {
  status: number;
  statusText: string;
  /** From sending the first request to the end of the last response read, redirects included. */
  durationMs: number;
  /** The URL that answered (after redirects). */
  url: string;
  redirects: number;
  contentType: string | null;
  /** The first `maxResponseBytes` bytes of the body as UTF-8 text, secrets redacted. */
  body: string;
  /** The body was longer than `maxResponseBytes`. */
  truncated: boolean;
  /** The body parsed, when it is JSON (by content type) and was read whole. */
  json?: unknown;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_CLIENT_ERRORS = new Set([408, 429]);
/** How much of an unexpected response's body its error message quotes. */
const ERROR_EXCERPT_CHARS = 300;

/** The `http.request` task for `options` (checked here: bad settings throw `config_error`). */
export function httpRequestTask(
  options: HttpJobsOptions,
): TaskDefinition<HttpRequestPayload, HttpRequestResult> {
  const resolved = resolveHttpJobsOptions(options);
  const destinations = new Destinations(resolved);
  return {
    name: HTTP_REQUEST_TASK,
    schema: httpRequestSchema(destinations),
    handler: (payload, ctx) => new HttpCall(payload, resolved, destinations, ctx.signal).run(),
  };
}

/** The request a job describes, as it stands at the current hop. */
interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

/** One attempt of one job. */
class HttpCall {
  private readonly secrets: SecretResolver;
  private readonly timeoutMs: number;
  private readonly timeout: AbortSignal;
  private readonly signal: AbortSignal;
  /** Lower-cased names of headers whose value came from a secret. */
  private readonly secretHeaders = new Set<string>();

  constructor(
    private readonly payload: HttpRequestPayload,
    private readonly options: ResolvedHttpJobsOptions,
    private readonly destinations: Destinations,
    private readonly jobSignal: AbortSignal,
  ) {
    this.secrets = new SecretResolver(options.secrets);
    this.timeoutMs = payload.timeoutMs ?? options.defaultTimeoutMs;
    this.timeout = AbortSignal.timeout(this.timeoutMs);
    this.signal = AbortSignal.any([jobSignal, this.timeout]);
  }

  private get redactor(): Redactor {
    return this.secrets.redactor;
  }

  async run(): Promise<HttpRequestResult> {
    const startedAt = performance.now();
    let hop = this.firstHop();
    const maxRedirects = this.payload.maxRedirects ?? 0;
    for (let redirects = 0; ; redirects += 1) {
      const response = await this.send(hop);
      const location = response.headers.location;
      if (maxRedirects > 0 && REDIRECTS.has(response.status) && location !== undefined) {
        if (redirects === maxRedirects) {
          throw new NonRetryableError(`${this.describe(hop)}: stopped after ${maxRedirects} redirects`);
        }
        hop = this.nextHop(hop, response.status, location);
        continue;
      }
      return this.judge(hop, response, redirects, Math.round(performance.now() - startedAt));
    }
  }

  private firstHop(): Hop {
    const { payload } = this;
    const headers: Record<string, string> = { 'user-agent': 'nightshift' };
    for (const [name, value] of Object.entries(payload.headers ?? {})) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value;
      else {
        headers[name.toLowerCase()] = this.secrets.headerValue(value);
        this.secretHeaders.add(name.toLowerCase());
      }
    }
    let body: Buffer | null = null;
    if (payload.json !== undefined) {
      body = Buffer.from(JSON.stringify(payload.json));
      headers['content-type'] ??= 'application/json';
    } else if (payload.body !== undefined) {
      body = Buffer.from(payload.body, 'utf8');
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    }
    return { url: new URL(payload.url), method: payload.method ?? 'GET', headers, body };
  }

  /** The request a redirect asks for, following the rules browsers use for method and body. */
  private nextHop(hop: Hop, status: number, location: string): Hop {
    let url: URL;
    try {
      url = new URL(location, hop.url);
    } catch {
      throw new NonRetryableError(`${this.describe(hop)} redirected to an invalid URL`);
    }
    const headers = { ...hop.headers };
    if (url.origin !== hop.url.origin) for (const name of this.secretHeaders) delete headers[name];
    const toGet =
      (status === 303 && hop.method !== 'HEAD') ||
      ((status === 301 || status === 302) && hop.method === 'POST');
    if (!toGet) return { url, method: hop.method, headers, body: hop.body };
    delete headers['content-type'];
    return { url, method: 'GET', headers, body: null };
  }

  private async send(hop: Hop): Promise<ExchangeResponse> {
    try {
      await abortable(this.destinations.check(hop.url), this.signal);
      return await exchange({
        ...hop,
        lookup: this.destinations.lookup,
        signal: this.signal,
        maxBytes: this.options.maxResponseBytes,
      });
    } catch (error) {
      throw this.failure(hop, error);
    }
  }

  /** What a failed send throws: the job's own abort as is, everything else with secrets redacted. */
  private failure(hop: Hop, error: unknown): unknown {
    if (this.jobSignal.aborted) return this.jobSignal.reason;
    if (this.timeout.aborted)
      return new HttpRequestError(`${this.describe(hop)} timed out after ${this.timeoutMs} ms`);
    if (error instanceof NonRetryableError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new HttpRequestError(`${this.describe(hop)} failed: ${this.redactor.redact(message)}`);
  }

  private judge(
    hop: Hop,
    response: ExchangeResponse,
    redirects: number,
    durationMs: number,
  ): HttpRequestResult {
    const text = this.redactor.redact(response.body.toString('utf8'));
    const { status } = response;
    if (!this.expected(status)) {
      const quoted = text.length > ERROR_EXCERPT_CHARS ? `${text.slice(0, ERROR_EXCERPT_CHARS)}…` : text;
      const message = `${this.describe(hop)} answered ${status} ${response.statusText} (expected ${this.expectation()})${quoted ? `: ${quoted}` : ''}`;
      throw status >= 500 || RETRYABLE_CLIENT_ERRORS.has(status)
        ? new HttpRequestError(message)
        : new HttpStatusError(message);
    }
    const contentType = response.headers['content-type'] ?? null;
    const result: HttpRequestResult = {
      status,
      statusText: response.statusText,
      durationMs,
      url: this.redactor.redact(hop.url.href),
      redirects,
      contentType,
      body: text,
      truncated: response.truncated,
    };
    if (!response.truncated && contentType !== null && /[/+]json\b/i.test(contentType)) {
      try {
        result.json = JSON.parse(text) as unknown;
      } catch {
        // Not JSON after all: the text excerpt is still there.
      }
    }
    return result;
  }

  private expected(status: number): boolean {
    return (this.payload.expectStatus ?? ['2xx']).some((expected) =>
      typeof expected === 'number' ? expected === status : expected[0] === String(status)[0],
    );
  }

  private expectation(): string {
    return (this.payload.expectStatus ?? ['2xx']).join(', ');
  }

  /** `METHOD url` for messages, secrets redacted. */
  private describe(hop: Hop): string {
    return `${hop.method} ${this.redactor.redact(hop.url.href)}`;
  }
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
