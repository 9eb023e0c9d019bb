/**
 * A PgBouncer owned by one test process, in transaction pooling mode, in front of a PostgreSQL server
 * (by default the shared test server): started from a temporary config on a spare port, with no
 * authentication of its own (`auth_type = any`, every database reached as user postgres), and stopped
 * when the test is done or, at the latest, when the process exits.
 *
 * PgBouncer refuses to run as root, so under root it runs as the `postgres` OS user (`runuser`), in a
 * directory that user owns.
 *
 * A watchdog (./watchdog.ts) stops PgBouncer if the test process dies without its cleanup.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive, postgresIds, RUN_AS_POSTGRES, sparePort } from './own-postgres.js';
import { startWatchdog } from './watchdog.js';

const run = promisify(execFile);

/** Where the PgBouncer binary lives; NIGHTSHIFT_PGBOUNCER overrides it. */
export const PGBOUNCER_BIN = process.env['NIGHTSHIFT_PGBOUNCER'] ?? '/usr/sbin/pgbouncer';

/** A running PgBouncer. */
export interface Pgbouncer {
  readonly port: number;
  /** A URL through it for `database`, with `pooler=transaction` (and `listen_url` when given). */
  url(database: string, listenUrl?: string): string;
  /** Its log so far (for failure messages). */
  log(): string;
  /** Stops it and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Why PgBouncer cannot be started here, or null when it can. */
export function pgbouncerUnavailable(): string | null {
  return existsSync(PGBOUNCER_BIN) ? null : `no PgBouncer at ${PGBOUNCER_BIN}`;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts PgBouncer in transaction mode in front of `target` (default the shared test server). */
export async function startPgbouncer(
  target: { host: string; port: number } = { host: '127.0.0.1', port: 5432 },
  options: { poolSize?: number } = {},
): Promise<Pgbouncer> {
  const unavailable = pgbouncerUnavailable();
  if (unavailable !== null) throw new Error(unavailable);
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-pgbouncer-'));
  const ids = RUN_AS_POSTGRES ? postgresIds() : null;
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const port = await sparePort();
  const config = join(dir, 'pgbouncer.ini');
  const logFile = join(dir, 'pgbouncer.log');
  const pidFile = join(dir, 'pgbouncer.pid');
  writeFileSync(
    config,
    [
      '[databases]',
      `* = host=${target.host} port=${target.port} user=postgres`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      // TCP only: no socket file left behind in a shared directory.
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      `logfile = ${logFile}`,
      `pidfile = ${pidFile}`,
      'max_client_conn = 1000',
      `default_pool_size = ${options.poolSize ?? 20}`,
      // Fast failure detection in the failover test: a server connection that cannot be made is
      // retried after 1 s rather than 15 s.
      'server_login_retry = 1',
      'server_connect_timeout = 3',
      '',
    ].join('\n'),
  );
  if (ids) chownSync(config, ids.uid, ids.gid);
  const command = RUN_AS_POSTGRES
    ? (['runuser', ['-u', 'postgres', '--', PGBOUNCER_BIN, '-d', config]] as const)
    : ([PGBOUNCER_BIN, ['-d', config]] as const);
  await run(command[0], [...command[1]], { timeout: 30_000 });

  let pid = 0;
  for (let i = 0; i < 200 && (pid === 0 || !(await accepts(port))); i++) {
    if (pid === 0 && existsSync(pidFile)) pid = Number(readFileSync(pidFile, 'utf8').trim()) || 0;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  if (pid === 0 || !(await accepts(port))) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PgBouncer did not start:\n${log()}`);
  }

  // A test process that dies without its cleanup must not leave a PgBouncer running.
  const watchdog = startWatchdog(pid, 'pgbouncer', dir);
  const onExit = (): void => {
    if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  };
  process.on('exit', onExit);
  let stopped = false;

  return {
    port,
    url(database, listenUrl) {
      const listen = listenUrl === undefined ? '' : `&listen_url=${encodeURIComponent(listenUrl)}`;
      return `postgres://postgres@127.0.0.1:${port}/${database}?pooler=transaction${listen}`;
    },
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      if (watchdog.pid !== undefined && isAlive(watchdog.pid)) process.kill(watchdog.pid, 'SIGTERM');
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
