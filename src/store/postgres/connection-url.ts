/**
 * The nightshift parameters of a PostgreSQL URL, read (and removed) before node-postgres sees the URL:
 *
 * - `pooler=transaction`: the URL reaches the server through a pooler in transaction mode (PgBouncer
 *   `pool_mode = transaction`), which hands each transaction to any server connection. The store then
 *   keeps no state on a connection beyond one transaction: no startup parameters, no named prepared
 *   statements, timeouts set with SET LOCAL inside its transactions, and LISTEN only on `listen_url`.
 * - `listen_url=<percent-encoded postgres URL>`: where the LISTEN connection goes (a direct URL past
 *   the pooler). Behind a transaction pooler without it, the store polls instead of listening.
 *
 * Both travel inside the one URL, so a worker's lease-keeper thread or a child process that reopens the
 * store from its URL gets the same settings.
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
}

const POOLER_PARAM = 'pooler';
const LISTEN_PARAM = 'listen_url';

function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

function invalid(message: string): NightshiftError {
  return new NightshiftError('invalid_argument', message);
}

/**
 * Reads `pooler` and `listen_url` from `url`, merged with the same settings given as options; a
 * setting given both ways must agree. Throws `invalid_argument` for an unknown pooler mode, a repeated
 * parameter or a listen URL that is not a direct postgres:// URL.
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
  const poolerParam = single(POOLER_PARAM);
  const listenParam = single(LISTEN_PARAM);

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
    if (inner.pooler !== null || inner.listenUrl !== null) {
      throw invalid('listen_url must be a direct URL, without pooler or listen_url of its own');
    }
  }
  // The URL is rebuilt only when it carried nightshift's parameters, so any other is passed on verbatim.
  const rest = params.toString();
  const base = queryAt === -1 ? url : url.slice(0, queryAt);
  const untouched = poolerParam === null && listenParam === null;
  return {
    connectionString: untouched ? url : rest === '' ? base : `${base}?${rest}`,
    pooler: pooler,
    listenUrl,
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
