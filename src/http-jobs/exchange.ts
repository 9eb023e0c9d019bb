/**
 * One HTTP request and its response, with node:http(s): the socket resolves its host through the
 * destination's checked `lookup`, the whole exchange (connect, headers, body) is bounded by a signal,
 * and at most `maxBytes` of the body are read before the connection is dropped. No agent is shared:
 * every request opens its own connection, so no pooled socket outlives the check that allowed it.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

/** What to send. */
export interface ExchangeRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | null;
  lookup: LookupFunction;
  signal: AbortSignal;
  maxBytes: number;
}

/** What came back. */
export interface ExchangeResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The first `maxBytes` bytes of the body. */
  body: Buffer;
  /** The body was longer than `maxBytes`. */
  truncated: boolean;
}

/** Sends the request; rejects on network errors, refusals from `lookup`, and when `signal` aborts. */
export function exchange(request: ExchangeRequest): Promise<ExchangeResponse> {
  const send = request.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(request.url, {
      method: request.method,
      headers: request.headers,
      lookup: request.lookup,
      signal: request.signal,
      agent: false,
    });
    // `on`, not `once`: a second error after the first (a socket torn down late) must find a listener.
    outgoing.on('error', reject);
    outgoing.once('response', (response) => {
      readBounded(response, request.maxBytes).then((read) => {
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          headers: response.headers,
          ...read,
        });
      }, reject);
    });
    outgoing.end(request.body ?? undefined);
  });
}

function readBounded(
  response: IncomingMessage,
  maxBytes: number,
): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (truncated: boolean): void => {
      response.removeAllListeners('data');
      resolve({ body: Buffer.concat(chunks, Math.min(size, maxBytes)), truncated });
    };
    response.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) {
        // Enough for the excerpt: the rest is never read (or buffered), the connection is dropped.
        done(true);
        response.destroy();
      }
    });
    response.once('end', () => done(false));
    response.on('error', reject);
    response.once('aborted', () => reject(new Error('the response was cut off before its end')));
  });
}
