/**
 * Connections to PostgreSQL: pool settings that detect dead peers, and the mapping of "the server is
 * gone" failures to `database_unavailable`, so the engine backs off and retries instead of crashing.
 */
import pg from 'pg';
import { NightshiftError, unexpectedStoreError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { settledWithin } from '../../runtime/sleep.js';
import { parseConnectionUrl, type ConnectionUrl, type PoolerMode } from './connection-url.js';

/** Options for `PostgresStore.open`. */
export interface PostgresStoreOptions {
  /**
   * The server's URL. It may carry `pooler=transaction` and `listen_url=...` (see connection-url.ts),
   * the same settings as the two options below.
   */
  connectionString: string;
  /** Schema holding every nightshift table. Default `nightshift`. */
  schema?: string;
  /**
   * Connections in this process's pool at most (the URL's `pool_size` when not given). Default 10;
   * see docs/SCALING.md for budgeting.
   */
  poolSize?: number;
  /**
   * Server-side statement timeout in ms, and how long the server keeps a transaction open while its
   * client says nothing (`idle_in_transaction_session_timeout`). Default 60,000; 0 leaves the server's
   * settings alone. Sent as startup parameters on direct connections; behind a transaction pooler set
   * with SET LOCAL in the store's transactions, while single statements keep the client-side bound
   * (docs/SCALING.md).
   */
  statementTimeoutMs?: number;
  /** `transaction`: connections go through a pooler in transaction mode (PgBouncer). */
  pooler?: PoolerMode;
  /** A direct URL for the LISTEN connection; behind a transaction pooler without one, the store polls. */
  listenUrl?: string;
  /** Where a store event listener that throws is reported. Default: nightshift's default logger. */
  logger?: Logger;
}

/** The connection settings of a store, resolved once from its options. */
export interface ConnectionSettings extends ConnectionUrl {
  statementTimeoutMs: number;
  poolSize: number;
}

/** Reads and validates a store's connection options (URL parameters included). */
export function connectionSettings(options: PostgresStoreOptions): ConnectionSettings {
  const statementTimeoutMs = options.statementTimeoutMs ?? 60_000;
  if (!Number.isSafeInteger(statementTimeoutMs) || statementTimeoutMs < 0) {
    throw new NightshiftError('invalid_argument', 'statementTimeoutMs must be an integer >= 0');
  }
  const parsed = parseConnectionUrl(options.connectionString, {
    pooler: options.pooler,
    listenUrl: options.listenUrl,
  });
  return { ...parsed, statementTimeoutMs, poolSize: options.poolSize ?? parsed.poolSize ?? 10 };
}

/**
 * The statement that opens the store's transactions. Behind a transaction pooler the timeouts cannot
 * be startup parameters (PgBouncer refuses them, and a session setting would leak to whichever client
 * gets the server connection next), so they are set for the transaction, in the same round trip.
 */
export function beginStatement(settings: ConnectionSettings): string {
  const ms = settings.statementTimeoutMs;
  if (settings.pooler === null || ms === 0) return 'BEGIN';
  return `BEGIN; SET LOCAL statement_timeout = ${ms}; SET LOCAL idle_in_transaction_session_timeout = ${ms}`;
}

// Keepalive probes start after 10 s idle so a half-open connection (peer vanished without a FIN) is
// noticed by the kernel instead of hanging a query forever.
const KEEPALIVE_DELAY_MS = 10_000;
// Idle connections are closed after 10 s. The pool hands out the connection released last, so a worker
// polling every second keeps warm the one it polls on, while the few a start or a burst opened
// (registration, rescue, prune and two claims at once) are given back to the server within 10 s.
const IDLE_TIMEOUT_MS = 10_000;
/** How long opening a pooled connection may take: the handshake and the connection's settings together. */
export const CONNECT_TIMEOUT_MS = 10_000;
const QUERY_TIMEOUT_MARGIN_MS = 5_000;

const TIMESTAMPTZ_OID = 1184;
// pg-types declares its parsers as returning `any`; this one returns Date (or Infinity for 'infinity').
const parseTimestamptzSlow = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date;

/**
 * Parses the server's ISO timestamptz text ('2026-01-02 03:04:05.123456+00', offsets '+05:30' or '-08')
 * by handing an ISO 8601 string to Date.parse: 1.7x faster than the generic parser, whose regex was
 * ~10% of the Node CPU of a claim/finish loop (five timestamps per claimed job). Anything else (BC,
 * infinity, years past 9999, second-level offsets, another DateStyle) falls back to node-postgres.
 */
export function parseTimestamptz(text: string): Date {
  const n = text.length;
  if (n >= 22 && text.charCodeAt(4) === 45 && text.charCodeAt(10) === 32) {
    const sign = text.charCodeAt(n - 3);
    const iso = `${text.slice(0, 10)}T${text.slice(11)}${sign === 43 || sign === 45 ? ':00' : ''}`;
    const ms = Date.parse(iso);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  return parseTimestamptzSlow(text);
}

const defaultParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => unknown;
/** node-postgres's parsers, except the faster timestamptz one. */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary'): unknown =>
    oid === TIMESTAMPTZ_OID && format !== 'binary' ? parseTimestamptz : defaultParser(oid, format),
};

/**
 * The planner settings of the store's pooled direct connections, set once per connection. Only those
 * carry named prepared statements (statements.ts), whose generic plan is made once per connection,
 * often while `jobs` is still nearly empty, and then kept: no ANALYZE runs with autovacuum off, so
 * nothing replaces it. Costed on a table of a few pages a sequential scan beats any index, and that plan
 * then read the whole table on every claim and completion as it grew (issue 18: 13,463 scans reading
 * 235 M rows in 20 s). With sequential scans disabled the planner takes the index path wherever one
 * exists; every hot statement has one (test/postgres/hot-plans.test.ts). SETs rather than startup
 * options: `options` in the URL or PGOPTIONS would replace a startup option, or be replaced by it.
 *
 * JIT off: the hot statements are short, and once statistics (or a disabled sequential scan) put the
 * claim's estimated cost above jit_above_cost, every execution compiled its expressions first
 * (EXPLAIN ANALYZE of a claim of 100 over 20,000 analyzed jobs: 195 ms of JIT, 324 ms in all; 3 ms
 * without); a statement with no index path (the observe reads that count every waiting job) is costed
 * above 10^10 and was compiled with inlining and optimisation on every call (0.9-1.2 s of JIT against
 * ~0.2 s of execution for the queue counts over 100,000 waiting jobs).
 */
export const PLANNER_SETTINGS = 'SET enable_seqscan = off; SET jit = off';

/**
 * Client settings for `connectionString`: the pool's URL, or the listen URL (always direct). Startup
 * parameters only go to a direct server; PgBouncer refuses those it does not know.
 */
export function clientConfig(
  settings: ConnectionSettings,
  connectionString: string,
  direct: boolean,
): pg.ClientConfig {
  const config: pg.ClientConfig = {
    connectionString,
    types,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'nightshift',
  };
  const statementTimeout = settings.statementTimeoutMs;
  if (statementTimeout > 0) {
    if (direct) {
      config.statement_timeout = statementTimeout;
      // A transaction whose connection went silent (a half-open connection: the client's COMMIT or
      // ROLLBACK never arrives) would otherwise keep its row locks until the server's TCP keepalive
      // gives up, hours by default: a fenced child insert held its parent's row, and the rescue of
      // every job claimed with that parent waited behind it. The server now ends such a session.
      config.idle_in_transaction_session_timeout = statementTimeout;
    }
    // The client-side bound behind it: a half-open connection answers nothing, not even the server's
    // timeout error, and Node cannot shorten the kernel's keepalive probe interval (75 s x 9 on Linux).
    // A query silent for 5 s past the server's own limit is treated as a dead connection.
    config.query_timeout = statementTimeout + QUERY_TIMEOUT_MARGIN_MS;
  }
  return config;
}

/**
 * Ends `client` politely (the server logs no broken connection), but cuts its socket if that has not
 * finished within `waitMs`: on a black-holed connection the end is never acknowledged.
 */
export async function endClient(client: pg.Client, waitMs: number): Promise<void> {
  if (!(await settledWithin(client.end(), waitMs))) client.connection.stream.destroy();
}

/** The store's pool: it knows its connections, so closing can cut those a stuck call holds. */
export class StorePool extends pg.Pool {
  /**
   * Every client the pool made that has not ended, known from its creation: the pool's own `connect`
   * event comes only once a client is connected and its settings are set, and a client still doing
   * either on a black-holed connection (a store call opening a connection just before closing) ended
   * only at its own timeout, 10 s or 65 s later, past the close's bound.
   */
  private readonly clients: Set<pg.Client>;

  /**
   * `setup`: statements run on each new connection before it is handed out (the planner settings),
   * within what is left of the connect timeout (`connectSetup`).
   */
  constructor(config: pg.PoolConfig, setup?: string) {
    const clients = new Set<pg.Client>();
    const openedAt = new WeakMap<pg.ClientBase, number>();
    class TrackedClient extends pg.Client {
      constructor(clientConfig?: pg.ClientConfig) {
        super(clientConfig);
        // pg-pool makes the client right before it starts its connect timer.
        openedAt.set(this, performance.now());
        clients.add(this);
        this.once('end', () => clients.delete(this));
      }
    }
    const connectMs = config.connectionTimeoutMillis ?? 0;
    super({
      ...config,
      Client: TrackedClient,
      // Awaited by the pool before it hands a new client out, so the setup never runs beside the
      // query the client was opened for (node-postgres deprecates, and warns about, concurrent queries
      // on a client). Should it fail, the pool drops the client and that checkout reports the error.
      ...(setup !== undefined && {
        // eslint-disable-next-line @typescript-eslint/no-misused-promises -- pg-pool (3.x) awaits the hook's promise, though @types/pg types it as returning void
        onConnect: (client: pg.ClientBase) =>
          connectSetup(client, setup, connectMs, openedAt.get(client) ?? performance.now()),
      }),
    });
    this.clients = clients;
  }

  /**
   * Ends the pool: idle connections at once, those a call holds when the call ends, but no later than
   * `waitMs`; then their sockets are cut and those calls fail as `database_unavailable`. Resolves with
   * the number of connections cut.
   */
  async close(waitMs: number): Promise<number> {
    const ended = this.end();
    if (await settledWithin(ended, waitMs)) return 0;
    const cut = this.clients.size;
    for (const client of this.clients) client.connection.stream.destroy();
    // Not waiting for the pool's end after the cut: a connection checked out by a caller's transaction
    // goes back only when the caller's own code returns, which closing cannot bound.
    return cut;
  }
}

/**
 * Runs `setup` on a client that just connected, within what is left of `connectMs` since the client
 * was made (no bound when `connectMs` is 0, as for the handshake). pg-pool (3.14) clears its connect
 * timer once the handshake is done, before its connect hook: on a connection black-holed right after
 * the handshake, the setup query had only the statement timeout's client-side bound (65 s), and none
 * with `statementTimeoutMs: 0`, so opening a connection took 10 s + 65 s, or forever. Past the bound
 * the socket is cut (ending the client politely would wait on the silent peer too) and the checkout
 * fails with a connect timeout, `database_unavailable` to the caller (`isUnavailable`).
 */
async function connectSetup(
  client: pg.ClientBase,
  setup: string,
  connectMs: number,
  openedAt: number,
): Promise<void> {
  const query = client.query(setup);
  if (connectMs === 0) {
    await query;
    return;
  }
  const leftMs = Math.max(0, connectMs - (performance.now() - openedAt));
  if (!(await settledWithin(query, leftMs))) {
    query.catch(() => undefined);
    (client as pg.Client).connection.stream.destroy();
    throw new Error(
      `Connection terminated due to connection timeout: the connection's settings were not answered within ${connectMs} ms of opening it`,
    );
  }
  await query;
}

/** A pool whose background errors never reach the process's uncaught-exception handler. */
export function createPool(settings: ConnectionSettings): StorePool {
  const pool = new StorePool(
    {
      ...clientConfig(settings, settings.connectionString, settings.pooler === null),
      max: settings.poolSize,
      idleTimeoutMillis: IDLE_TIMEOUT_MS,
    },
    settings.pooler === null ? PLANNER_SETTINGS : undefined,
  );
  // An idle client whose server went away emits 'error' on the pool; without a listener Node would
  // throw it. The pool already discards that client, and the next query reports the outage.
  pool.on('error', () => undefined);
  return pool;
}

/** Quotes an SQL identifier (schema or channel name) so any string is safe to splice into SQL. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) {
    throw new NightshiftError('invalid_argument', `invalid PostgreSQL identifier: ${JSON.stringify(name)}`);
  }
  return `"${name.replaceAll('"', '""')}"`;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or in recovery),
// 53300 too_many_connections: the server cannot serve us now, but may shortly. 25P03: the server ended
// a session left idle in a transaction (its connection is gone, the transaction rolled back).
const SERVER_GONE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '25P03']);

/** True when `error` means the server is unreachable or went away, as opposed to a bad statement. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SERVER_GONE_SQLSTATES.has(code)) return true;
    // Class 08: connection exceptions.
    if (code.startsWith('08')) return true;
  }
  // node-postgres reports a socket closed under a query or a connect timeout without a code.
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|Query read timeout/i.test(
    error.message,
  );
}

/**
 * A failure as the store's caller sees it: server-gone failures as `database_unavailable` (the engine
 * backs off and retries), any other driver error as `internal`, both with the original as `cause`.
 */
export function toStoreError(error: unknown): NightshiftError {
  if (error instanceof NightshiftError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isPoolerRefusal(error)) {
    return new NightshiftError(
      'config_error',
      `PostgreSQL refused the connection: ${message}; a transaction pooler such as PgBouncer refuses the store's startup parameters: add pooler=transaction to the URL (docs/SCALING.md, "Poolers")`,
      { cause: error },
    );
  }
  if (isPoolWaitTimeout(error)) {
    // Every connection of the pool stayed busy for the connect timeout: the server answers none of
    // them (a black-holed or overloaded database), or calls hold them that long. Either way the caller
    // backs off and tries again, as for a server gone; an `internal` error would read as a bug.
    return new NightshiftError(
      'database_unavailable',
      `PostgreSQL is unavailable: no connection of the store's pool became free within ${CONNECT_TIMEOUT_MS / 1000} s (${message}); the database answers slowly or not at all, or calls hold every connection`,
      { cause: error },
    );
  }
  if (isUnavailable(error)) {
    return new NightshiftError('database_unavailable', `PostgreSQL is unavailable: ${message}`, {
      cause: error,
    });
  }
  if (isRefusedConnection(error)) {
    return new NightshiftError('config_error', `PostgreSQL refused the connection: ${message}`, {
      cause: error,
    });
  }
  return unexpectedStoreError(error, 'PostgreSQL');
}

/** True for node-postgres' pool giving up waiting for a connection to come free (its own message, no code). */
function isPoolWaitTimeout(error: unknown): boolean {
  return error instanceof Error && /^timeout exceeded when trying to connect$/.test(error.message);
}

/**
 * True when a transaction pooler refused the connection's startup parameters (PgBouncer: FATAL 08P01
 * "unsupported startup parameter: statement_timeout"). Class 08 otherwise means the server went away,
 * but this refusal repeats on every connection until the URL says `pooler=transaction`.
 */
function isPoolerRefusal(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === '08P01' && typeof message === 'string' && message.startsWith('unsupported startup parameter')
  );
}

/**
 * True when the server refused whom or what the URL names (class 28 invalid authorization, 3D000 no
 * such database): the configuration is wrong, and waiting would not help.
 */
function isRefusedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000');
}

/**
 * Runs `fn` on a client checked out of `pool`. A client whose connection died is destroyed on release
 * instead of going back to the pool, and server-gone failures surface as `database_unavailable`.
 */
export async function withPooledClient<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toStoreError(error);
  }
  // While checked out, a dead socket emits 'error' on the client itself; the pending query rejects too.
  const onError = (): void => undefined;
  client.on('error', onError);
  let broken = false;
  try {
    return await fn(client);
  } catch (error) {
    broken = isUnavailable(error);
    throw toStoreError(error);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
