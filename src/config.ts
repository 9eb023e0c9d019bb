/**
 * The config module: `nightshift.config.{ts,mts,js,mjs}` in the working directory (or `--config FILE`),
 * whose default export is `defineConfig({...})`. TypeScript config files load through jiti, so a user
 * never needs a build step to run `nightshift worker` against their own tasks.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BODY_LIMIT_RANGE } from './api/listen-defaults.js';
import { checkEnqueueBatching, type EnqueueBatchingOptions } from './enqueue-batcher.js';
import { firstLine, NightshiftError } from './errors.js';
import type { HttpJobsOptions } from './http-jobs/index.js';
import { validateAlertsConfig, type AlertsConfig } from './observe/alert.js';
import type { ScheduleInput } from './schedule-types.js';
import { validateScheduleInputs } from './scheduler/schedule-service.js';
import { checkQueuesConfig, type QueuesConfig } from './queue-limits.js';
import type { TaskMap } from './task.js';
import type { ContractList, ImplementationList } from './task-types.js';
import { resolveWorkerOptions, WORKER_OPTION_NAMES, type WorkerOptions } from './worker/options.js';
import { booleanIn, intIn, textIn } from './validation/bounds.js';
import { GRACE_MS_RANGE } from './runtime/stop-options.js';
import { keyNames, refuseUnknownKeys, unknownKey } from './validation/known-keys.js';

/** Worker settings for `nightshift worker` and `nightshift start`; command-line flags override them. */
export interface WorkerConfig extends WorkerOptions {
  /** Grace period for running jobs on SIGTERM/SIGINT before they are aborted and released. Default 30,000. */
  graceMs?: number;
}

/** Settings for the HTTP API and dashboard served by `nightshift start` and `nightshift serve`. */
export interface HttpConfig {
  /** Default 127.0.0.1. An address beyond loopback is refused while no API token exists. */
  host?: string;
  /** Default 7400; 0 picks a free port. `--host` and `--port` override both. */
  port?: number;
  /**
   * Refuse every change through the API and the dashboard (403 `read_only`), for any token: a screen
   * anyone may watch. Default false; `--read-only` sets it.
   */
  readOnly?: boolean;
  /** Largest request body in bytes, 1 KiB to 1 GiB (413 above it). Default 2 MiB. */
  bodyLimit?: number;
}

const HTTP_CONFIG_NAMES = keyNames<HttpConfig>({ host: true, port: true, readOnly: true, bodyLimit: true });
/** The longest DNS name. */
const MAX_HOST_BYTES = 253;
/** The worker's options and the grace period the commands take from the same object. */
const WORKER_CONFIG_NAMES: ReadonlySet<string> = new Set([...WORKER_OPTION_NAMES, 'graceMs']);

/**
 * Everything a config module may declare. At least one of `tasks`, `contracts` and `implementations`
 * is required: a producer's config (for `nightshift enqueue`) may hold contracts alone.
 */
export interface NightshiftConfig {
  /** Database URL; `--db` and `NIGHTSHIFT_DB` take precedence. */
  db?: string;
  /** Tasks keyed by name: bare handlers or `defineTask` results. */
  tasks?: TaskMap;
  /** Contracts (`defineContract`) of tasks this config can enqueue and schedule. */
  contracts?: ContractList;
  /** Implementations (`implement`) of tasks this config's workers run. */
  implementations?: ImplementationList;
  /** Recurring schedules, synced into the database when a scheduler starts. */
  schedules?: ScheduleInput[];
  worker?: WorkerConfig;
  http?: HttpConfig;
  /** The built-in `http.request` task and the hosts it may call (docs/HTTP-JOBS.md). */
  httpJobs?: HttpJobsOptions;
  /** Alert thresholds and detector settings (docs/METRICS.md); checked when the config loads. */
  alerts?: AlertsConfig;
  /** Bounds of the wait of concurrent enqueues (`maxWaitMs`, `maxPending`); checked when the config loads. */
  enqueue?: EnqueueBatchingOptions;
  /**
   * Settings per queue (docs/TENANCY.md): cluster-wide limits (`{ emails: { concurrency: 5 } }`),
   * written to the database when `start`, `worker`, `scheduler`, `serve` or `migrate` connects, and
   * job defaults (`concurrencyKey`, `concurrencyLimit`, `group`), applied by every command that
   * enqueues with this config (`start`, `serve`, `scheduler`, `worker`'s child jobs, `enqueue`).
   */
  queues?: QueuesConfig;
}

/** Declares a config module's default export; returns its input, typed. */
export function defineConfig(config: NightshiftConfig): NightshiftConfig {
  return config;
}

/**
 * The top-level keys a config may have: each one is read by some command. A key nothing reads (a
 * typo) is refused, so nobody believes a setting is in force when it is not.
 */
const CONFIG_KEYS: ReadonlySet<string> = new Set<keyof NightshiftConfig>([
  'db',
  'tasks',
  'contracts',
  'implementations',
  'schedules',
  'worker',
  'http',
  'httpJobs',
  'alerts',
  'enqueue',
  'queues',
]);

/** A config module as loaded: the config and the absolute file it came from. */
export interface LoadedConfig {
  config: NightshiftConfig;
  file: string;
}

/** Looked up in this order in the working directory when no `--config` is given. */
export const CONFIG_FILE_NAMES = [
  'nightshift.config.ts',
  'nightshift.config.mts',
  'nightshift.config.js',
  'nightshift.config.mjs',
] as const;

/**
 * Loads `path` (relative to `cwd`) or the first `nightshift.config.*` found in `cwd`. Resolves to null
 * when no path was given and no config file exists: producer-only commands (enqueue, jobs) need none.
 * Any failure is one `config_error` line naming the file and the cause.
 */
export async function loadConfig(options: { path?: string; cwd: string }): Promise<LoadedConfig | null> {
  const file = findConfigFile(options);
  if (file === null) return null;

  let namespace: unknown;
  try {
    namespace = await importConfigModule(file);
  } catch (cause) {
    throw new NightshiftError('config_error', `config ${file} failed to load: ${loadFailure(cause)}`, {
      cause,
    });
  }

  const config = (namespace as { default?: unknown } | null)?.default;
  if (config === undefined) {
    throw new NightshiftError(
      'config_error',
      `config ${file} has no default export (export default defineConfig({...}))`,
    );
  }
  if (typeof config !== 'object' || config === null) {
    throw new NightshiftError('config_error', `config ${file}: the default export must be an object`);
  }
  const { tasks, contracts, implementations } = config as Record<string, unknown>;
  if (tasks === undefined && contracts === undefined && implementations === undefined) {
    throw new NightshiftError(
      'config_error',
      `config ${file}: "tasks" must be an object of task name to handler, or give "contracts" or "implementations"`,
    );
  }
  if (tasks !== undefined && (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks))) {
    throw new NightshiftError(
      'config_error',
      `config ${file}: "tasks" must be an object of task name to handler`,
    );
  }
  // Read as a URL by every command: a number here failed as "url.startsWith is not a function".
  const { db } = config as Record<string, unknown>;
  if (db !== undefined && (typeof db !== 'string' || db.trim() === '')) {
    throw new NightshiftError(
      'config_error',
      `config ${file}: "db" must be a database URL string such as sqlite:./nightshift.db or postgres://user@host:port/db, got ${JSON.stringify(db) ?? typeof db}`,
    );
  }
  const unknown = unknownKey(config, CONFIG_KEYS);
  if (unknown !== undefined) {
    throw new NightshiftError(
      'config_error',
      `config ${file}: unknown key "${unknown}" (known: ${[...CONFIG_KEYS].join(', ')})`,
    );
  }
  const { alerts, enqueue, queues, worker, http, schedules } = config as Record<string, unknown>;
  try {
    // Checked here, not when a command starts its worker or API: a misspelt `concurency` or `prot`
    // would otherwise be dropped (http) or refused only after the API was already listening (worker).
    if (worker !== undefined) {
      refuseUnknownKeys(worker, WORKER_CONFIG_NAMES, 'worker setting');
      const { graceMs, ...workerOptions } = worker as WorkerConfig;
      // It becomes a timer: past Node's limit the grace would end at once.
      if (graceMs !== undefined) intIn('worker setting graceMs', graceMs, GRACE_MS_RANGE);
      resolveWorkerOptions(workerOptions);
    }
    if (http !== undefined) checkHttpConfig(http);
    if (alerts !== undefined) validateAlertsConfig(alerts);
    if (enqueue !== undefined) checkEnqueueBatching(enqueue as EnqueueBatchingOptions);
    if (queues !== undefined) checkQueuesConfig(queues, 'config_error');
    // The registry `connect` will build (task defaults, HTTP jobs' settings and task, queue defaults):
    // checked only at connect, a task out of range or a bad `httpJobs` was reported without the file,
    // after `serve` had created the database, and never by `migrate`.
    const { taskRegistryOf } = await import('./nightshift.js');
    const registry = await taskRegistryOf(config);
    // Schedules too, against the config's own tasks: checked when the scheduler synced them, a bad one
    // stopped `nightshift scheduler` only after the database was opened and queue settings written.
    if (schedules !== undefined) {
      if (!Array.isArray(schedules))
        throw new NightshiftError('config_error', '"schedules" must be an array');
      await validateScheduleInputs(schedules as ScheduleInput[], 'config', registry);
    }
  } catch (error) {
    throw new NightshiftError('config_error', `config ${file}: ${oneLine(error)}`, { cause: error });
  }
  return { config, file };
}

/**
 * Checks `http` as `startApiServer` will, so that `serve` and `start` refuse a bad setting before
 * they connect (and perhaps create the database), not once the API is about to listen.
 */
function checkHttpConfig(http: unknown): void {
  refuseUnknownKeys(http, HTTP_CONFIG_NAMES, 'http setting');
  const { host, port, readOnly, bodyLimit } = http as Record<string, unknown>;
  if (host !== undefined) textIn('http.host', host, MAX_HOST_BYTES);
  if (port !== undefined) intIn('http.port', port, [0, 65_535]);
  if (readOnly !== undefined) booleanIn('http.readOnly', readOnly, { code: 'config_error' });
  if (bodyLimit !== undefined) intIn('http.bodyLimit', bodyLimit, BODY_LIMIT_RANGE, { code: 'config_error' });
}

/**
 * JavaScript configs load with Node's own `import()`; only TypeScript (and ESM syntax in a `.js` file
 * of a CommonJS package) goes through jiti, whose transformer costs ~150 ms to load: most of a short
 * CLI command's start-up.
 */
async function importConfigModule(file: string): Promise<unknown> {
  if (file.endsWith('.ts') || file.endsWith('.mts')) return importWithJiti(file);
  try {
    return (await import(pathToFileURL(file).href)) as unknown;
  } catch (error) {
    if (file.endsWith('.js') && error instanceof SyntaxError) return importWithJiti(file);
    throw error;
  }
}

async function importWithJiti(file: string): Promise<unknown> {
  const { createJiti } = await import('jiti');
  // A fresh jiti per load: module and file caches would hand a long-lived process a stale config.
  const jiti = createJiti(pathToFileURL(file).href, {
    interopDefault: false,
    moduleCache: false,
    fsCache: false,
  });
  return jiti.import(file);
}

function findConfigFile(options: { path?: string; cwd: string }): string | null {
  if (options.path !== undefined) {
    const file = isAbsolute(options.path) ? options.path : resolve(options.cwd, options.path);
    if (!existsSync(file)) throw new NightshiftError('config_error', `config ${file} does not exist`);
    // Node's own refusal named nightshift's module and "directory import", not the mistake.
    if (statSync(file).isDirectory()) {
      throw new NightshiftError(
        'config_error',
        `config ${file} is a directory: give the config module's file, such as ${join(options.path, CONFIG_FILE_NAMES[0])}`,
      );
    }
    // Node's own refusal asked for an import attribute, as though the JSON could be made to load.
    if (extname(file).toLowerCase() === '.json') {
      throw new NightshiftError(
        'config_error',
        `config ${file} is JSON: a config is a module (.ts, .mts, .js or .mjs) whose default export holds the tasks' handlers, which JSON cannot`,
      );
    }
    return file;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const file = resolve(options.cwd, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/**
 * Why a config module failed to load, on one line. A TypeScript config's syntax error (from jiti) says
 * where on a later line (` /app/nightshift.config.ts:3:0`): kept, or the line said only "Unexpected
 * token" with no place to look.
 */
function loadFailure(cause: unknown): string {
  const [first = '', ...rest] = (cause instanceof Error ? cause.message : String(cause)).split('\n');
  const place = rest.map((line) => line.trim()).find((line) => /:\d+:\d+$/.test(line));
  return place === undefined ? first.trim() : `${first.trim()} at ${place}`;
}

function oneLine(error: unknown): string {
  return firstLine(error instanceof Error ? error.message : String(error));
}
