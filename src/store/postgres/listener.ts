/**
 * The LISTEN connection: one dedicated client per store (a pooled client would be handed to queries and
 * its LISTEN lost on release). It reconnects with capped exponential backoff and checks itself with a
 * heartbeat query, because a half-open TCP connection never reports an error on its own and keepalive
 * probes alone take minutes to give up. Losing it is never fatal: the engine polls anyway, events only
 * cut latency.
 *
 * Messages on the schema's channel are JSON: `{ o, q }` (jobs became ready in queue q),
 * `{ o, f: [[id, state], ...] }` (jobs finished), `{ o, c: [id, ...] }` (jobs completed) or
 * `{ o, x: [id, ...] }` (running jobs asked to cancel) or `{ o, e: 1 }` (cluster events committed,
 * event-log.ts). `o` is the sending store's origin id; a store drops
 * its own messages because it already emitted them locally when its statement returned.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { isJobState } from '../../job.js';
import { endClient, quoteIdent } from './pool.js';
import type { StoreEvents } from '../store.js';

/** Receives decoded events from other processes. */
export type EventSink = <K extends keyof StoreEvents>(event: K, payload: StoreEvents[K]) => void;

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 30_000;
// A heartbeat every 15 s that must answer within 5 s: a black-holed connection is replaced within
// ~20 s, well inside the default 30 s lease, so polling plus events recover before leases lapse.
const HEARTBEAT_EVERY_MS = 15_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

/** The notification channel of a schema; hashed when the readable name would pass PostgreSQL's 63 bytes. */
export function channelName(schema: string): string {
  const readable = `nightshift:${schema}`;
  if (Buffer.byteLength(readable) <= 63) return readable;
  return `nightshift:${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

const OWN_PREFIX = '{"o" : "';

/** Decodes one notification payload into events; ignores anything malformed or sent by `origin`. */
export function decodeNotification(payload: string, origin: string, sink: EventSink): void {
  // Every message starts with its origin (json_build_object's own spacing): a store's own messages,
  // most of what it receives while it works, are dropped without parsing their lists of ids.
  if (
    payload.startsWith(OWN_PREFIX) &&
    payload.startsWith(origin, OWN_PREFIX.length) &&
    payload.startsWith('"', OWN_PREFIX.length + origin.length)
  ) {
    return;
  }
  let message: unknown;
  try {
    message = JSON.parse(payload);
  } catch {
    return;
  }
  if (typeof message !== 'object' || message === null) return;
  const { o, q, f, c, x, e, k } = message as {
    o?: unknown;
    q?: unknown;
    f?: unknown;
    c?: unknown;
    x?: unknown;
    e?: unknown;
    k?: unknown;
  };
  if (o === origin) return;
  if (typeof q === 'string') sink('job:ready', { queue: q });
  if (k !== undefined) sink('job:capacity', {});
  if (e !== undefined) sink('event:written', {});
  // Plain completions list bare ids (sql/job-finish.ts, jobFinishManyComplete).
  if (Array.isArray(c)) {
    for (const id of c) if (typeof id === 'string') sink('job:finished', { id, state: 'completed' });
  }
  if (Array.isArray(x)) {
    for (const id of x) if (typeof id === 'string') sink('job:cancel_requested', { id });
  }
  if (Array.isArray(f)) {
    for (const entry of f) {
      if (!Array.isArray(entry)) continue;
      const [id, state] = entry as unknown[];
      if (typeof id === 'string' && typeof state === 'string' && isJobState(state)) {
        sink('job:finished', { id, state });
      }
    }
  }
}

/** A self-healing LISTEN connection for one channel. */
export class NotificationListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly origin: string,
    private readonly sink: EventSink,
  ) {}

  /** Connects in the background; failures only schedule another try. */
  start(): void {
    void this.connect();
  }

  /** Closes the connection (cut past `waitMs`) and cancels pending reconnects. */
  async stop(waitMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await endClient(client, waitMs);
  }

  /** True while a LISTEN is established. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.config);
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload !== undefined) {
        decodeNotification(message.payload, this.origin, this.sink);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch {
      this.drop(client);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(client), HEARTBEAT_EVERY_MS);
    this.heartbeatTimer.unref();
    this.sink('events:live', { live: true });
  }

  private async heartbeat(client: pg.Client): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), HEARTBEAT_TIMEOUT_MS);
    });
    const answer = await Promise.race([client.query('SELECT 1').then(() => 'ok' as const), timeout]).catch(
      () => 'failed' as const,
    );
    clearTimeout(timer);
    if (answer !== 'ok') this.drop(client);
  }

  /** Forgets a broken client (destroying its socket: end() could wait forever on a dead peer) and retries. */
  private drop(client: pg.Client): void {
    client.connection.stream.destroy();
    if (this.client === client) {
      this.client = undefined;
      clearInterval(this.heartbeatTimer);
      if (!this.stopped) this.sink('events:live', { live: false });
    } else if (this.client !== undefined) {
      return;
    }
    if (this.stopped || this.retryTimer !== undefined) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
