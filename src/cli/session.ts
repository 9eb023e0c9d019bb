/**
 * What every command shares: the common options (`--db`, `--config`, `--json`), the config module,
 * the database URL they resolve to, the logger, and the connections a command opened (closed when the
 * command ends, whatever happened).
 *
 * The config loader and the library are imported on first use: a usage error or `--help` then costs
 * a process start and nothing more, which is most of what a shell script calling the CLI pays.
 */
import { Option, type Command } from 'commander';
import type { LoadedConfig } from '../config.js';
import { NightshiftError } from '../errors.js';
import type { Nightshift } from '../nightshift.js';
import { DEFAULT_DATABASE_URL } from '../store/open.js';
import type { Store } from '../store/store.js';
import { cliLogger } from './logger.js';
import type { Output } from './output.js';
import type { Logger } from 'pino';

/** Options every command accepts. */
export interface CommonOptions {
  db?: string;
  config?: string;
  json?: boolean;
}

/** Adds `--db`, `--config` and `--json` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--db <url>', 'database URL (sqlite:./file.db, sqlite::memory:, postgres://...)').env(
        'NIGHTSHIFT_DB',
      ),
    )
    .option(
      '--config <file>',
      'config module (default: nightshift.config.{ts,mts,js,mjs} in the working directory)',
    )
    .option('--json', 'print one JSON document for scripts instead of tables');
}

/** One command's resources; `close()` releases whatever was opened. */
export class Session {
  readonly json: boolean;
  private loaded: LoadedConfig | null | undefined;
  private nightshift: Nightshift | undefined;
  private store: Store | undefined;

  constructor(
    private readonly options: CommonOptions,
    readonly stdout: Output,
    private readonly cwd: string = process.cwd(),
  ) {
    this.json = options.json === true;
  }

  /** The config module, or null when there is none (and `--config` was not given). */
  async config(): Promise<LoadedConfig | null> {
    if (this.loaded === undefined) {
      const { loadConfig } = await import('../config.js');
      this.loaded = await loadConfig(
        this.options.config === undefined ? { cwd: this.cwd } : { path: this.options.config, cwd: this.cwd },
      );
    }
    return this.loaded;
  }

  /** The config module, required: commands that run handlers cannot work without one. */
  async requireConfig(): Promise<LoadedConfig> {
    const loaded = await this.config();
    if (loaded === null) {
      throw new NightshiftError(
        'config_error',
        `no nightshift.config.{ts,mts,js,mjs} in ${this.cwd}; pass --config FILE to say where the tasks are`,
      );
    }
    return loaded;
  }

  /** `--db`, else `NIGHTSHIFT_DB` (folded into `--db` by the option), else the config's `db`, else the default. */
  async dbUrl(): Promise<string> {
    if (this.options.db !== undefined && this.options.db !== '') return this.options.db;
    return (await this.config())?.config.db ?? DEFAULT_DATABASE_URL;
  }

  /** The process logger (stderr). */
  logger(): Logger {
    return cliLogger();
  }

  /** Connects the library (migrating the database) with the config's tasks, if any. */
  async connect(): Promise<Nightshift> {
    if (this.nightshift === undefined) {
      const config = (await this.config())?.config;
      const { Nightshift } = await import('../nightshift.js');
      const ns = await Nightshift.connect({
        db: await this.dbUrl(),
        tasks: config?.tasks ?? {},
        contracts: config?.contracts ?? [],
        implementations: config?.implementations ?? [],
        logger: this.logger(),
      });
      // Task names come from the command line: checked at run time, not by the compiler.
      this.nightshift = ns.untyped;
    }
    return this.nightshift;
  }

  /** Opens the store alone, without migrating: for `migrate` itself. */
  async openStore(): Promise<Store> {
    const { openStore } = await import('../store/open.js');
    this.store ??= await openStore(await this.dbUrl());
    return this.store;
  }

  /** Closes what this command opened. */
  async close(): Promise<void> {
    const nightshift = this.nightshift;
    const store = this.store;
    this.nightshift = undefined;
    this.store = undefined;
    await nightshift?.close();
    await store?.close();
  }
}

/** Runs a command body with a session that is closed afterwards. */
export async function withSession<T>(
  options: CommonOptions,
  body: (session: Session) => Promise<T>,
): Promise<T> {
  const session = new Session(options, process.stdout);
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}
