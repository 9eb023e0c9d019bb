/**
 * The nightshift parameters of a PostgreSQL URL, read (and removed) before node-postgres sees the URL:
 *
 * - `pooler=transaction`: the URL reaches the server through a pooler in transaction mode (PgBouncer
 *   `pool_mode = transaction`), which hands each transaction to any server connection. The store then
 *   keeps no state on a connection beyond one transaction: no startup parameters, no named prepared
 *   statements, timeouts set with SET LOCAL inside its transactions, and LISTEN only on `listen_url`.
 * - `listen_url=<percent-encoded postgres URL>`: where the LISTEN connection goes (a direct URL past
 *   the pooler). Behind a transaction pooler without it, the store polls instead of listening.
 * - `pool_size=N`: the most connections the store's pool opens (1 to 1,000), for stores opened from a
 *   URL (`Nightshift.connect({ db })`, the CLI), which have no other way to say it.
 *
 * The first two travel inside the one URL, so a worker's lease-keeper thread or a child process that
 * reopens the store from its URL gets the same settings. A pool's size is what one process needs, so
 * `formatConnectionUrl` leaves it out.
 *
 * Every other parameter goes to node-postgres, which takes any name and reads only those it knows:
 * a misspelt `poolr=transaction` would connect without the pooler mode and fail later, far from the
 * typo. So a parameter neither nightshift nor the driver knows is refused (DRIVER_PARAMS).
 */
import { NightshiftError } from '../../errors.js';

/** How connections reach the server; `transaction` is a pooler in transaction mode. */
export type PoolerMode = 'transaction';

/** A store URL split into what node-postgres connects to and nightshift's own settings. */
export interface ConnectionUrl {
  /** The URL without nightshift's parameters. */
  connectionString: string;
  pooler: PoolerMode | null;
  listenUrl: string | null;
  /** `pool_size`, when the URL gives one. */
  poolSize: number | null;
}

const POOLER_PARAM = 'pooler';
const LISTEN_PARAM = 'listen_url';
const POOL_SIZE_PARAM = 'pool_size';
const MAX_POOL_SIZE = 1_000;
const OWN_PARAMS = [POOLER_PARAM, LISTEN_PARAM, POOL_SIZE_PARAM];

/**
 * The URL parameters passed on to node-postgres. Those it reads (pg-connection-string 2.x and pg 8.x's
 * ConnectionParameters): the host, port and user parts, `ssl` and the `ssl*` files and modes,
 * `uselibpqcompat`, `application_name`, `options`, the session timeouts, `client_encoding`,
 * `replication`. And libpq's connection keywords (PostgreSQL 17's list), which a URL written for psql
 * or a provider's dashboard carries: node-postgres ignores those it does not implement
 * (`connect_timeout`, `target_session_attrs`, ...), as it always did here.
 */
const DRIVER_PARAMS: ReadonlySet<string> = new Set([
  // node-postgres
  'host',
  'port',
  'user',
  'password',
  'ssl',
  'sslmode',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'application_name',
  'fallback_application_name',
  'options',
  'client_encoding',
  'replication',
  'binary',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  // libpq's other keywords
  'service',
  'dbname',
  'hostaddr',
  'passfile',
  'require_auth',
  'channel_binding',
  'connect_timeout',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'gssencmode',
  'sslcompression',
  'sslpassword',
  'sslcertmode',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'requirepeer',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'krbsrvname',
  'gsslib',
  'gssdelegation',
  'target_session_attrs',
  'load_balance_hosts',
]);

function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

function invalid(message: string): NightshiftError {
  return new NightshiftError('invalid_argument', message);
}

/**
 * Reads `pooler` and `listen_url` from `url`, merged with the same settings given as options; a
 * setting given both ways must agree. Throws `invalid_argument` for an unknown parameter, an unknown
 * pooler mode, a repeated parameter or a listen URL that is not a direct postgres:// URL.
 */
export function parseConnectionUrl(
  url: string,
  options: { pooler?: PoolerMode | undefined; listenUrl?: string | undefined } = {},
): ConnectionUrl {
  const queryAt = url.indexOf('?');
  const params = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1));
  const single = (name: string): string | null => {
    const values = params.getAll(name);
    if (values.length > 1) throw invalid(`PostgreSQL URL parameter ${name} is given more than once`);
    params.delete(name);
    return values[0] ?? null;
  };
  const unknown = [...params.keys()].find((name) => !OWN_PARAMS.includes(name) && !DRIVER_PARAMS.has(name));
  if (unknown !== undefined) {
    throw invalid(
      `unknown PostgreSQL URL parameter ${JSON.stringify(unknown)}: nightshift's are ${OWN_PARAMS.join(', ')}; ` +
        `node-postgres's and libpq's own (sslmode, application_name, options, ...) are passed on`,
    );
  }
  const poolerParam = single(POOLER_PARAM);
  const listenParam = single(LISTEN_PARAM);
  const poolSizeParam = single(POOL_SIZE_PARAM);
  const poolSize = poolSizeParam === null ? null : Number(poolSizeParam);
  if (
    poolSize !== null &&
    !(/^[0-9]+$/.test(poolSizeParam ?? '') && poolSize >= 1 && poolSize <= MAX_POOL_SIZE)
  ) {
    throw invalid(
      `pool_size must be an integer from 1 to ${MAX_POOL_SIZE}, got ${JSON.stringify(poolSizeParam)}`,
    );
  }

  const pooler = poolerParam ?? options.pooler ?? null;
  if (pooler !== null && pooler !== 'transaction') {
    throw invalid(`unsupported pooler mode ${JSON.stringify(pooler)}: the one mode is pooler=transaction`);
  }
  if (poolerParam !== null && options.pooler !== undefined && options.pooler !== poolerParam) {
    throw invalid(`pooler=${poolerParam} in the URL contradicts the pooler option ${options.pooler}`);
  }
  if (listenParam !== null && options.listenUrl !== undefined && options.listenUrl !== listenParam) {
    throw invalid('listen_url in the URL contradicts the listenUrl option');
  }
  const listenUrl = listenParam ?? options.listenUrl ?? null;
  if (listenUrl !== null) {
    if (!isPostgresUrl(listenUrl)) {
      throw invalid(`listen_url must be a postgres:// URL (percent-encoded inside the store URL)`);
    }
    const inner = parseConnectionUrl(listenUrl);
    if (inner.pooler !== null || inner.listenUrl !== null || inner.poolSize !== null) {
      throw invalid('listen_url must be a direct URL, without pooler, listen_url or pool_size of its own');
    }
  }
  // The URL is rebuilt only when it carried nightshift's parameters, so any other is passed on verbatim.
  const rest = params.toString();
  const base = queryAt === -1 ? url : url.slice(0, queryAt);
  const untouched = poolerParam === null && listenParam === null && poolSizeParam === null;
  return {
    connectionString: untouched ? url : rest === '' ? base : `${base}?${rest}`,
    pooler: pooler,
    listenUrl,
    poolSize,
  };
}

/** The URL another process opens to get the same connection settings (the inverse of parsing). */
export function formatConnectionUrl(parsed: ConnectionUrl): string {
  const extra = new URLSearchParams();
  if (parsed.pooler !== null) extra.set(POOLER_PARAM, parsed.pooler);
  if (parsed.listenUrl !== null) extra.set(LISTEN_PARAM, parsed.listenUrl);
  const added = extra.toString();
  if (added === '') return parsed.connectionString;
  return `${parsed.connectionString}${parsed.connectionString.includes('?') ? '&' : '?'}${added}`;
}
