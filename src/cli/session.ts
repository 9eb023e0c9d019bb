/**
 * What every command shares: the common options (`--db`, `--config`, `--json`), the config module,
 * the database URL they resolve to, the logger, and the connections a command opened (closed when the
 * command ends, whatever happened).
 *
 * The config loader and the library are imported on first use: a usage error or `--help` then costs
 * a process start and nothing more, which is most of what a shell script calling the CLI pays.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import type { LoadedConfig } from '../config.js';
import { NightshiftError } from '../errors.js';
import type { Nightshift, TaskRegistrations } from '../nightshift.js';
import { DEFAULT_DATABASE_URL, withoutPassword } from '../store/open.js';
import { CLOSE_WAIT_MS, type Store } from '../store/store.js';
import type { TaskRegistry } from '../task-registry.js';
import { cliLogger } from './logger.js';
import type { Output } from './output.js';
import type { Logger } from 'pino';

/** Options every command accepts. */
export interface CommonOptions {
  db?: string;
  config?: string;
  json?: boolean;
}

/** The keys of the common options, as commander stores them. */
export const COMMON_OPTION_KEYS = ['db', 'config', 'json'] as const satisfies ReadonlyArray<
  keyof CommonOptions
>;

/**
 * What a command may do with its database, declared where it opens its session (`withSession`). The
 * default, an empty declaration, suits every read and control command: the database must exist.
 */
export interface DatabaseUse {
  /**
   * May create the database (a new SQLite file, nightshift's tables in an empty PostgreSQL database).
   * Only `migrate` and the long-running services do; any other command refuses a database that does
   * not exist, so a typo in `--db` is an error and not a new, empty database.
   */
  create?: boolean;
  /**
   * A PostgreSQL server that is down at start is waited for, with backoff, up to the worker's
   * `maxStoreDownMs` (database-wait.ts): a supervisor may start the service before its database.
   */
  waitWhenDown?: boolean;
}

/** The long-running services (`worker`, `scheduler`, `start`, `serve`): create the database, wait for it. */
export const SERVICE: DatabaseUse = { create: true, waitWhenDown: true };

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

/**
 * `--db` and `--config` as flags a printed command repeats (the `more:` line of a list), when they were
 * typed: the next page must read the same database. One from the environment is left to it. A password
 * in the URL is shown as `***`, as in every line the CLI prints: output ends up in logs and terminals'
 * history; whoever typed it types it again.
 */
export function typedCommonFlags(command: Command): Record<'--db' | '--config', string | undefined> {
  const typed = (key: 'db' | 'config'): string | undefined =>
    command.getOptionValueSource(key) === 'cli' ? (command.getOptionValue(key) as string) : undefined;
  const db = typed('db');
  return { '--db': db === undefined ? undefined : withoutPassword(db), '--config': typed('config') };
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
    private readonly use: DatabaseUse = {},
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
    if (this.options.db !== undefined) return this.options.db;
    return (await this.config())?.config.db ?? DEFAULT_DATABASE_URL;
  }

  /** The process logger (stderr). */
  logger(): Logger {
    return cliLogger();
  }

  /**
   * Connects the library with the config's tasks and HTTP jobs, migrating the database to this
   * version. A database that does not exist yet is created only when the command declared `create`.
   */
  async connect(): Promise<Nightshift> {
    if (this.nightshift === undefined) {
      const config = (await this.config())?.config;
      const registrations = await this.registrations();
      const { Nightshift } = await import('../nightshift.js');
      const logger = this.logger();
      const connect = async (): Promise<Nightshift> => {
        const ns = await Nightshift.connect({
          db: await this.openStore(),
          ...registrations,
          ...(config?.alerts !== undefined && { alerts: config.alerts }),
          ...(config?.enqueue !== undefined && { enqueue: config.enqueue }),
          logger,
        });
        // Task names come from the command line: checked at run time, not by the compiler.
        return ns.untyped;
      };
      this.nightshift = this.use.waitWhenDown === true ? await this.whenReachable(connect) : await connect();
    }
    return this.nightshift;
  }

  /**
   * The tasks `connect` will register, without opening the database: a command checks its job or
   * schedule against them first, so that bad input neither creates nor changes a database.
   */
  async registry(): Promise<TaskRegistry> {
    const { taskRegistryOf } = await import('../nightshift.js');
    return taskRegistryOf(await this.registrations());
  }

  /**
   * Refuses a task the config does not declare (`unknown_task`, saying where it looked): a job this
   * process builds for it would get the defaults of no task (the `default` queue, where a worker
   * serving the task's own queue never looks) instead of the task's.
   */
  async requireDeclaredTask(task: string): Promise<void> {
    if ((await this.registry()).get(task) !== undefined) return;
    const loaded = await this.config();
    const where =
      loaded === null
        ? 'there is no config module here (pass --config FILE)'
        : `${loaded.file} does not declare it`;
    throw new NightshiftError('unknown_task', `unknown task "${task}": ${where}`);
  }

  /** The config's tasks, contracts, implementations, HTTP jobs and queue settings, as the library takes them. */
  private async registrations(): Promise<TaskRegistrations> {
    const config = (await this.config())?.config;
    return {
      tasks: config?.tasks ?? {},
      contracts: config?.contracts ?? [],
      implementations: config?.implementations ?? [],
      ...(config?.httpJobs !== undefined && { httpJobs: config.httpJobs }),
      // Only the commands that run the system write the config's queue limits to the database;
      // every command that enqueues applies its queues' job defaults.
      ...(config?.queues !== undefined && {
        queues:
          this.use.create === true
            ? config.queues
            : (await import('../queue-limits.js')).queueJobDefaultsOnly(config.queues),
      }),
    };
  }

  /** Opens the store alone, without migrating (`migrate` itself); see `DatabaseUse.create`. */
  async openStore(): Promise<Store> {
    const { openStore } = await import('../store/open.js');
    // The store's own warnings (closing cut a stuck call, a store event listener threw) go to stderr
    // with the command's other lines; its default logger writes to stdout, the command's result.
    this.store ??= await openStore(await this.dbUrl(), {
      create: this.use.create === true,
      logger: this.logger(),
    });
    return this.store;
  }

  /** Whether the database exists (holds nightshift's tables), found out without creating it. */
  async databaseExists(): Promise<boolean> {
    const { openStore } = await import('../store/open.js');
    const url = await this.dbUrl();
    const peek = async (): Promise<boolean> => {
      try {
        await (await openStore(url, { create: false, logger: this.logger() })).close();
        return true;
      } catch (error) {
        if (error instanceof NightshiftError && error.code === 'not_found') return false;
        throw error;
      }
    };
    return this.use.waitWhenDown === true ? this.whenReachable(peek) : peek();
  }

  /** Runs `attempt` until the database answers, within the worker's `maxStoreDownMs`. */
  private async whenReachable<T>(attempt: () => Promise<T>): Promise<T> {
    const { waitForDatabase } = await import('./database-wait.js');
    const maxStoreDownMs = (await this.config())?.config.worker?.maxStoreDownMs;
    return waitForDatabase(attempt, {
      url: await this.dbUrl(),
      logger: this.logger(),
      ...(maxStoreDownMs !== undefined && { maxStoreDownMs }),
    });
  }

  /**
   * Closes what this command opened. Once the instance's services have stopped, what follows shares
   * one bound (`CLOSE_WAIT_MS`), as when an instance closes a store it opened itself: the store, which
   * this session opened and handed to the instance, waits only for what the instance's close left of
   * it. On a database that does not answer, the instance's close and the store's each waited 5 s of
   * their own: 10 s in all.
   */
  async close(): Promise<void> {
    const nightshift = this.nightshift;
    const store = this.store;
    this.nightshift = undefined;
    this.store = undefined;
    await nightshift?.stop();
    const deadline = performance.now() + CLOSE_WAIT_MS;
    await nightshift?.close();
    await store?.close({ waitMs: Math.max(0, deadline - performance.now()) });
  }
}

/** How long a command whose database is unreachable waits for its connections to close before exiting. */
const OUTAGE_CLOSE_MS = 5_000;

/**
 * Runs a command body with a session that is closed afterwards. `use` declares what the command may
 * do with its database; read and control commands leave it out.
 */
export async function withSession<T>(
  options: CommonOptions,
  body: (session: Session) => Promise<T>,
  use: DatabaseUse = {},
): Promise<T> {
  const session = new Session(options, process.stdout, use);
  let closing: Promise<void> | undefined;
  try {
    return await body(session);
  } catch (error) {
    if (error instanceof NightshiftError && error.code === 'database_unavailable') {
      // A service that gave up on an unreachable database (past `maxStoreDownMs`) still has calls
      // out to it: on a black-holed connection each ends only at its statement timeout, a minute
      // later, and closing waits for them. Nothing can be written meanwhile, so the command exits
      // with its error once the bound passes; the leases it held lapse and are rescued.
      closing = session.close();
      await Promise.race([closing.catch(() => undefined), sleep(OUTAGE_CLOSE_MS, undefined, { ref: false })]);
    }
    throw error;
  } finally {
    if (closing === undefined) await session.close();
  }
}
