/**
 * A PostgreSQL 15 server owned by one test file: `initdb` into a fresh temporary directory, started
 * with `pg_ctl` on a spare port of 127.0.0.1, so the test can stop, restart and crash it without
 * touching the shared server other engineers' tests use.
 *
 * initdb and postgres refuse to run as root, so under root every binary runs as the `postgres` OS
 * user (`runuser`), in a directory that user owns. Trust auth, and no durability (fsync off): the
 * faults these tests cause are server stops and crashes, never host power loss, so WAL replay after an
 * immediate stop is still exercised for real. A process exit hook stops the server even when a test
 * file dies before its `afterAll`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where the PostgreSQL 15 server binaries live; NIGHTSHIFT_PG_BIN overrides it. */
export const PG_BIN = process.env['NIGHTSHIFT_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** True under root: servers then run as the `postgres` OS user. */
export const RUN_AS_POSTGRES = process.getuid?.() === 0;

/** Why an own server cannot be started here (missing binaries), or null when it can. */
export function ownPostgresUnavailable(): string | null {
  for (const binary of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(PG_BIN, binary))) return `no PostgreSQL 15 binary ${join(PG_BIN, binary)}`;
  }
  if (RUN_AS_POSTGRES && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) {
    return 'running as root without runuser to drop to the postgres user';
  }
  return null;
}

/** How `pg_ctl` stops the server: `fast` rolls back sessions and shuts down cleanly, `immediate` crashes it. */
export type StopMode = 'fast' | 'immediate';

/** A running server of a test's own. */
export interface OwnPostgres {
  /** Its TCP port on 127.0.0.1. */
  readonly port: number;
  /** A URL for its `postgres` database, user postgres. */
  readonly url: string;
  /** Its data directory (for tools that open the cluster directly, with the server stopped). */
  readonly dataDir: string;
  /** Starts it again after `stop`; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it; resolves once the server process is gone. */
  stop(mode?: StopMode): Promise<void>;
  /** `pg_ctl restart` in `mode`, resolving once it accepts connections again. */
  restart(mode?: StopMode): Promise<void>;
  /** SIGKILL to the postmaster, as a crashed host would end it; resolves once it is gone. */
  kill(): Promise<void>;
  /** `pg_ctl promote` (a standby only): resolves once it accepts writes. */
  promote(): Promise<void>;
  /** Runs one statement on a short-lived connection of its own. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  /** The server's log so far (for failure messages). */
  log(): string;
  /** Stops it at once if running and deletes its directory. Safe to call twice. */
  remove(): Promise<void>;
}

/**
 * The command line that runs `binary` of PG_BIN with `args` as the user owning the clusters made here;
 * `wrapper` (e.g. valgrind and its options) goes in front of the binary.
 */
export function spawnArgs(binary: string, args: string[], wrapper: string[] = []): [string, string[]] {
  const command = [...wrapper, join(PG_BIN, binary), ...args];
  if (RUN_AS_POSTGRES) return ['runuser', ['-u', 'postgres', '--', ...command]];
  const [file = '', ...rest] = command;
  return [file, rest];
}

async function pgTool(binary: string, args: string[]): Promise<void> {
  const [file, argv] = spawnArgs(binary, args);
  // Asynchronous on purpose: a worker under test shares this event loop and must keep running while
  // the server goes down and comes back.
  await run(file, argv, { timeout: 120_000 });
}

/** True while process `pid` exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it at once). */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The uid and gid of the `postgres` OS user, who owns what runs under root via runuser. */
export function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Extra settings, as postgresql.conf lines that come after (and so override) the defaults here. */
export interface OwnPostgresOptions {
  settings?: string[];
}

/** Creates a fresh cluster in a temporary directory and starts it; the caller must `remove()` it. */
export function startOwnPostgres(options: OwnPostgresOptions = {}): Promise<OwnPostgres> {
  return startCluster(options, (data) =>
    pgTool('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']),
  );
}

/**
 * Creates a streaming standby of `primary` (`pg_basebackup -R`: it connects as user postgres, which
 * the primary's trust rules allow for replication from 127.0.0.1) and starts it.
 */
export function startStandby(primary: OwnPostgres, options: OwnPostgresOptions = {}): Promise<OwnPostgres> {
  return startCluster(options, (data) =>
    pgTool('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      data,
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]),
  );
}

async function startCluster(
  options: OwnPostgresOptions,
  create: (data: string) => Promise<void>,
): Promise<OwnPostgres> {
  const unavailable = ownPostgresUnavailable();
  if (unavailable !== null) throw new Error(unavailable);
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-pg-'));
  if (RUN_AS_POSTGRES) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  let running = false;
  let removed = false;

  // The last line of defence: a test process that exits without its afterAll (a crash, a timeout)
  // must not leave a server running on the shared machine.
  const onExit = (): void => {
    if (!running) return;
    const [file, argv] = spawnArgs('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    try {
      execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // Already gone; nothing else can be done from an exit hook.
    }
  };
  process.on('exit', onExit);

  const remove = async (): Promise<void> => {
    if (removed) return;
    removed = true;
    try {
      if (running) await pgTool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      running = false;
    } finally {
      process.off('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    const port = await sparePort();
    await create(data);
    // Settings live in the cluster's own file, so every later start and restart uses them too.
    appendFileSync(
      join(data, 'postgresql.conf'),
      [
        '',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'shared_buffers = 32MB',
        'max_connections = 100',
        ...(options.settings ?? []),
        '',
      ].join('\n'),
    );
    const start = async (): Promise<void> => {
      await pgTool('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
      running = true;
    };
    const stop = async (mode: StopMode = 'fast'): Promise<void> => {
      await pgTool('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    };
    await start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
      port,
      url,
      dataDir: data,
      start,
      stop,
      async restart(mode = 'fast') {
        await pgTool('pg_ctl', ['-D', data, '-l', logFile, '-m', mode, '-w', '-t', '60', 'restart']);
      },
      async kill() {
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(pid, 'SIGKILL');
        while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
        running = false;
        // Its backends notice the postmaster's death and exit on their own; the directory stays
        // until remove() (which has nothing to stop any more).
      },
      async promote() {
        await pgTool('pg_ctl', ['-D', data, '-w', '-t', '60', 'promote']);
      },
      async query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (await client.query<R>(sql, values)).rows;
        } finally {
          await client.end();
        }
      },
      log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
