/**
 * Live updates from GET /api/v1/events (Server-Sent Events). EventSource cannot send an Authorization
 * header, so this reads the stream with fetch() and parses it; after a dropped connection it
 * reconnects with Last-Event-ID so no event in between is lost.
 */
import type { ClusterEvent } from './types.js';

/**
 * Where the live connection stands; `unavailable` when the server has no events route, `unauthorized`
 * when it refused the token (revoked or expired since the page signed in): both end the loop.
 */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'unauthorized';

const MAX_BACKOFF_MS = 15_000;

/**
 * Follows the event stream until `signal` aborts, the server turns out to have no events route, or it
 * refuses the token.
 * `headers` gives the current credentials for each (re)connection.
 */
export async function followEvents(
  headers: () => Record<string, string>,
  onEvent: (event: ClusterEvent) => void,
  onState: (state: LiveState) => void,
  signal: AbortSignal,
): Promise<void> {
  let lastId: string | null = null;
  let backoffMs = 1_000;
  while (!signal.aborted) {
    try {
      const response: Response = await fetch('/api/v1/events', {
        headers: {
          ...headers(),
          accept: 'text/event-stream',
          ...(lastId !== null && { 'last-event-id': lastId }),
        },
        signal,
      });
      if (response.status === 404) {
        onState('unavailable');
        return;
      }
      // Asking again with the same token cannot succeed: the page asks for another.
      if (response.status === 401) {
        onState('unauthorized');
        return;
      }
      if (!response.ok || response.body === null) throw new Error(`events answered ${response.status}`);
      onState('live');
      backoffMs = 1_000;
      for await (const message of readMessages(response.body.getReader())) {
        if (message.id !== undefined) lastId = message.id;
        if (message.data === undefined) continue;
        onEvent(JSON.parse(message.data) as ClusterEvent);
      }
    } catch {
      // A dropped connection or a server restart: reconnect below, resuming after the last event.
      if (signal.aborted) return;
    }
    onState('reconnecting');
    await sleep(backoffMs, signal);
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  }
}

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}

/** The messages of an SSE byte stream: blank-line separated blocks of `field: value` lines. */
async function* readMessages(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = {};
      for (const line of block.split('\n')) {
        // Lines starting with ':' are comments (the server's keep-alive pings).
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`;
        else if (field === 'id' || field === 'event') message[field] = value;
      }
      if (message.data !== undefined || message.id !== undefined) yield message;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
