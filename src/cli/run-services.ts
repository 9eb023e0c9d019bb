/**
 * Runs nightshift's long-lived services in this process (a worker, for `start` the scheduler and the
 * REST API, for `serve` the API alone) until a signal, the end of the caller's work (`until`), or a
 * fatal store outage stops them.
 */
import type { HeldAddress } from '../api/held-address.js';
import type { ServedApi } from '../api/server.js';
import type { NightshiftConfig } from '../config.js';
import { NightshiftError } from '../errors.js';
import type { Session } from './session.js';
import { DEFAULT_GRACE_MS } from '../runtime/stop-options.js';
import { runUntilSignal } from './shutdown.js';

/** What to run: worker flags over config defaults, and whether a scheduler and the API run beside it. */
export interface ServiceFlags {
  queues?: string[];
  concurrency?: number;
  /** The labels the worker offers (`[]`: none, whatever the config says). */
  labels?: string[];
  scheduler?: boolean;
  /** Run a worker. Default true. */
  worker?: boolean;
  /** Serve the REST API and dashboard; flags over the config's `http`, over 127.0.0.1:7400. */
  http?: { host?: string; port?: number; readOnly?: boolean };
}

/** Starts the services and resolves once all of them have stopped. */
export async function runServices(
  session: Session,
  config: NightshiftConfig,
  flags: ServiceFlags,
  options: { until?: Promise<unknown>; onListening?: (url: string) => void } = {},
): Promise<void> {
  const { graceMs = DEFAULT_GRACE_MS, ...workerOptions } = config.worker ?? {};
  const queues = flags.queues ?? workerOptions.queues;
  const concurrency = flags.concurrency ?? workerOptions.concurrency;
  const labels = flags.labels ?? workerOptions.labels;
  // Everything that can be refused without the database is refused before connecting: a service
  // may create its database, and bad input must not leave one behind.
  if (flags.worker !== false) {
    const registry = await session.registry();
    if (registry.implemented().length === 0) {
      // Such a worker would claim every job only to hand it back: a producer's config has no handlers.
      // Contracts declare tasks without handlers; with none, the config declares no task at all.
      const file = (await session.requireConfig()).file;
      throw new NightshiftError(
        'config_error',
        registry.names().length === 0
          ? `config ${file} declares no task: a worker needs at least one task with a handler in "tasks" (or "implementations")`
          : `config ${file} implements no task: a worker needs "tasks" or "implementations", not contracts alone`,
      );
    }
    const { resolveWorkerOptions } = await import('../worker/options.js');
    resolveWorkerOptions({
      ...workerOptions,
      ...(queues !== undefined && { queues }),
      ...(concurrency !== undefined && { concurrency }),
      ...(labels !== undefined && { labels }),
    });
  }
  if (flags.http !== undefined)
    await refuseOpenApiOnNewDatabase(session, flags.http.host ?? config.http?.host);
  // Held while the database opens (and, on a new one, is created and migrated): a port already in use
  // is refused before that, so a second `serve` on a busy port leaves no database behind. The API then
  // takes this very socket over (api/held-address.ts): no other process can take the port meanwhile.
  const address = flags.http === undefined ? undefined : await holdAddress(config, flags.http);
  const ns = await session.connect().catch(async (error: unknown) => {
    await address?.release();
    throw error;
  });
  const logger = session.logger();

  // Signal handlers go in before any service starts: a supervisor's SIGTERM that lands during start-up
  // must still mean "stop gracefully", not Node's default of dying with jobs half-claimed.
  let stopRequested = false;
  let api: ServedApi | undefined;
  let reportFailure: (error: unknown) => void = () => undefined;
  const failed = new Promise<void>((_, reject) => (reportFailure = reject));
  const stopped = runUntilSignal(
    {
      // Stopping the instance stops every service it started, scheduler included. The API stops taking
      // requests at once and gives those in flight the same grace as running jobs (none when forced),
      // beside the services' stop rather than before it: a request waiting on a database that does not
      // answer held the whole stop for its statement timeout, over a minute. The store the requests use
      // closes only after both (the session's close).
      stop: async (stopOptions) => {
        stopRequested = true;
        const waitMs = stopOptions?.force === true ? 0 : (stopOptions?.graceMs ?? graceMs);
        await Promise.all([api?.close({ waitMs }), ns.stop(stopOptions)]);
      },
      failed,
    },
    { graceMs, logger, ...(options.until !== undefined && { until: options.until }) },
  );

  try {
    if (flags.scheduler === true) {
      // The config module is the source of config schedules: one that lists none removes the ones it
      // once declared, exactly as `nightshift scheduler` does.
      // The command's one outage bound, as for `nightshift scheduler` and the wait at start: with the
      // scheduler's own 60 s default, a database gone silent during the config schedule sync held
      // `start` that long whatever the config said (the worker, which has the bound, starts after).
      const { maxStoreDownMs } = workerOptions;
      const scheduler = ns.startScheduler({
        schedules: config.schedules ?? [],
        ...(maxStoreDownMs !== undefined && { maxStoreDownMs }),
      });
      scheduler.failed.catch(reportFailure);
      // A config schedule that does not validate stops the command before any job runs.
      await scheduler.ready;
    }
    if (address !== undefined && !stopRequested) {
      const { serveApiOn } = await import('../api/server.js');
      const readOnly = flags.http?.readOnly === true || config.http?.readOnly === true;
      const bodyLimit = config.http?.bodyLimit;
      api = await serveApiOn(address, {
        ns,
        logger,
        ...(readOnly && { readOnly }),
        ...(bodyLimit !== undefined && { bodyLimit }),
      });
      // A stop that came while the API started found no API to close: nothing is in flight yet.
      if (stopRequested) await api.close({ waitMs: 0 });
      else options.onListening?.(api.url);
    }
    // Stopped before the API took it over: the port is let go (once taken over, this does nothing).
    await address?.release();
    if (flags.worker !== false && !stopRequested) {
      const worker = ns.startWorker({
        ...workerOptions,
        ...(queues !== undefined && { queues }),
        ...(concurrency !== undefined && { concurrency }),
        ...(labels !== undefined && { labels }),
      });
      worker.failed.catch(reportFailure);
      logger.info({ db: await session.dbUrl(), tasks: ns.tasks.implemented() }, 'serving tasks');
    }
  } catch (error) {
    await address?.release();
    reportFailure(error);
  }
  await stopped;
}

/** Listens on the API's address: the flags' `host` and `port` over the config's, over the API's defaults. */
async function holdAddress(
  config: NightshiftConfig,
  flags: NonNullable<ServiceFlags['http']>,
): Promise<HeldAddress> {
  const { holdApiAddress } = await import('../api/server.js');
  return holdApiAddress({ host: flags.host ?? config.http?.host, port: flags.port ?? config.http?.port });
}

/**
 * The API refuses to listen beyond loopback while no token exists (api/server.ts), which it can tell
 * only once connected. A database that does not exist yet has no token: refused here, before the
 * service creates the database only to stop.
 */
async function refuseOpenApiOnNewDatabase(session: Session, host: string | undefined): Promise<void> {
  const { isLoopback } = await import('../api/server.js');
  if (host === undefined || isLoopback(host) || (await session.databaseExists())) return;
  // The commands to copy name the database this one was given, or they would make another one.
  const { withoutPassword } = await import('../store/open.js');
  const db = withoutPassword(await session.dbUrl());
  throw new NightshiftError(
    'config_error',
    `refusing to listen on ${host}, beyond this machine: the database does not exist yet, so no API token exists; create it and a token first (nightshift migrate --db ${db}, then nightshift tokens create --db ${db} --role admin --name NAME) or listen on 127.0.0.1`,
  );
}
